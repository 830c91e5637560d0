"""The APU's instruction set (paper Fig. 10): what the local controller reads, and an
assembler for programs written in Python.

An instruction is one of
  PASS  stream N elements (or 1 for a scalar step) through the operation chain
        Abs -> MAD a -> MAD b -> MAD c -> Comparison -> Accumulation x3 / output,
        each operand chosen by the organization network (a `Src` and a register index);
  DIV   Division of two registers into a quotient register and an exponent register;
  EMIT  one word onto the result stream;
  END.
A MAD stage computes sat(round(op x coef / 2^sh) + add), sh = imm + E[ea] - E[eb] (E[0] = 0),
saturated to a word, or to 32 bits when `narrow`. The golden semantics are the operations
of `sim.golden.acore`.
"""

from amaranth.hdl import signed
from amaranth.lib import data, enum

from ..config import EtaConfig

__all__ = ["Op", "Input", "Src", "Coef", "Program", "mad_layout", "instr_layout", "assemble",
           "PASS", "DIV", "EMIT", "END", "REGS", "EXPS", "ACCS", "MADS", "N_REG", "exp_reg",
           "checked", "frn_fp_regs", "frn_bp_regs", "tlu_regs", "sgd_regs", "add_regs",
           "sum_regs", "copy_regs", "EMITS", "MAX_SHIFT"]

REGS = 8        # R0..R7: word registers, loaded by the host or written back by a pass
EXPS = 4        # E0..E3: exponent registers (E0 reads 0), loaded by the host or by DIV
ACCS = 3        # A0..A2: exact accumulators
MADS = 3        # Multiplication-Addition stages in the chain
MAX_SHIFT = 63  # a MAD stage's right shift saturates here (a run whose shifts go beyond is
                # refused: hw.acore_unit, sim.golden.machine)


class Op(enum.Enum, shape=2):
    PASS = 0
    DIV = 1
    EMIT = 2
    END = 3


class Input(enum.Enum, shape=2):
    NONE = 0        # one scalar element of zeros: operands come from registers
    STREAM = 1      # N elements from the input stream
    BUFFER = 2      # N elements replayed from the channel buffer


class Src(enum.Enum, shape=4):
    ZERO = 0
    X0 = 1          # the element's three inputs
    X1 = 2
    X2 = 3
    ABS = 4         # |x0|
    DY = 5          # x0 where the element's flag is set, else 0 (TLU backward select)
    NDY = 6         # x0 where the flag is clear, else 0
    MA = 7          # results of the MAD stages
    MB = 8
    MC = 9
    CMP = 10        # max(cmp source, threshold register)
    REG = 11        # R[reg]
    ACC = 12        # A[reg], read out saturated to a word
    EXP = 13        # E[reg], sign-extended


class Coef(enum.Enum, shape=2):
    REG = 0         # R[reg] saturated to coef_bits
    X1 = 1          # x1 saturated to coef_bits
    NSIGN = 2       # -sign(x1)
    ONE = 3


def mad_layout():
    return data.StructLayout({
        "op": Src, "op_reg": 3, "coef": Coef, "coef_reg": 3, "add": Src, "add_reg": 3,
        "imm": signed(8), "ea": 2, "eb": 2, "narrow": 1,
    })


def instr_layout():
    return data.StructLayout({
        "op": Op, "input": Input, "store": 1, "intake": 1, "clear": ACCS,
        "mad": data.ArrayLayout(mad_layout(), MADS),
        "cmp": Src, "cmp_reg": 3, "thr_reg": 3,
        "acc": data.ArrayLayout(data.StructLayout({"src": Src, "reg": 3, "en": 1}), ACCS),
        "out0": Src, "out0_reg": 3, "out1": Src, "out1_reg": 3, "emit": 1,
        # Written back when the last element leaves (PASS), or the quotient (DIV).
        "wb": 1, "wb_dst": 3, "wb_src": Src, "wb_reg": 3,
        # DIV: R[div_a] / R[div_d] -> R[wb_dst] and E[div_e]; ACC sources allowed via *_acc.
        "div_a": Src, "div_a_reg": 3, "div_d": Src, "div_d_reg": 3, "div_e": 2,
    })


def _src(value):
    """'x0', 'ma', ('reg', 3), ('acc', 0) ... -> (Src, index)."""
    if isinstance(value, tuple):
        name, index = value
    else:
        name, index = value, 0
    return Src[name.upper()], index


def _mad(spec):
    """{'op': src, 'coef': 'one' | 'x1' | 'nsign' | ('reg', i), 'add': src, 'sh': (imm, ea, eb)
    or imm, 'narrow': bool} -> the layout's dict."""
    op, op_reg = _src(spec.get("op", "zero"))
    add, add_reg = _src(spec.get("add", "zero"))
    c = spec.get("coef", "one")
    coef, coef_reg = (Coef.REG, c[1]) if isinstance(c, tuple) else (Coef[c.upper()], 0)
    sh = spec.get("sh", 0)
    imm, ea, eb = sh if isinstance(sh, tuple) else (sh, 0, 0)
    if not -128 <= imm < 128 or not (0 <= ea < EXPS and 0 <= eb < EXPS):
        raise ValueError(f"shift {sh!r}: imm in [-128, 127], exponent registers 0..{EXPS - 1}")
    return {"op": op, "op_reg": op_reg, "coef": coef, "coef_reg": coef_reg, "add": add,
            "add_reg": add_reg, "imm": imm, "ea": ea, "eb": eb,
            "narrow": int(spec.get("narrow", False))}


def PASS(input="none", store=False, intake=False, clear=(), mads=(), cmp=None, acc=(),
         out0=None, out1=None, wb=None):
    """A pass. store: keep a STREAM pass's elements in the channel buffer; intake: while a
    BUFFER pass replays, take the next channel from the stream into the other bank, summing
    |x0| + R0 into A0 (the L1-FRN statistics, overlapped). mads: up to 3 MAD specs (a, b, c);
    cmp: (src, threshold register); acc: {index: src}; out0/out1: src (setting either emits
    every element); wb: (dst, src)."""
    if intake and input != "buffer":
        raise ValueError("intake runs beside a BUFFER pass only")
    ins = {"op": Op.PASS, "input": Input[input.upper()], "store": int(store),
           "intake": int(intake),
           "clear": sum(1 << a for a in clear)}
    ins["mad"] = [_mad(m) for m in mads] + [_mad({})] * (MADS - len(mads))
    if cmp is not None:
        ins["cmp"], ins["cmp_reg"] = _src(cmp[0])
        ins["thr_reg"] = cmp[1]
    accs = []
    for k in range(ACCS):
        if k in dict(acc):
            s, r = _src(dict(acc)[k])
            accs.append({"src": s, "reg": r, "en": 1})
        else:
            accs.append({"src": Src.ZERO, "reg": 0, "en": 0})
    ins["acc"] = accs
    if out0 is not None or out1 is not None:
        ins["emit"] = 1
        ins["out0"], ins["out0_reg"] = _src(out0 or "zero")
        ins["out1"], ins["out1_reg"] = _src(out1 or "zero")
    if wb is not None:
        ins["wb"], ins["wb_dst"] = 1, wb[0]
        ins["wb_src"], ins["wb_reg"] = _src(wb[1])
    return ins


def DIV(a, d, q_dst, e_dst):
    """R[q_dst], E[e_dst] = Division(a, d); a, d are sources ('reg' or 'acc' with an index)."""
    if not 1 <= e_dst < EXPS:
        raise ValueError(f"E0 is constant 0; the exponent goes to E1..E{EXPS - 1}")
    sa, ra = _src(a)
    sd, rd = _src(d)
    return {"op": Op.DIV, "div_a": sa, "div_a_reg": ra, "div_d": sd, "div_d_reg": rd,
            "wb": 1, "wb_dst": q_dst, "div_e": e_dst}


def EMIT(src):
    s, r = _src(src)
    return {"op": Op.EMIT, "wb_src": s, "wb_reg": r}


def END():
    return {"op": Op.END}


def assemble(programs):
    """{name: [instructions]} -> (ROM words, {name: entry address})."""
    layout = instr_layout()
    rom, entry = [], {}
    for name, prog in programs.items():
        if not prog or prog[-1]["op"] != Op.END:
            raise ValueError(f"program {name!r} must end with END()")
        entry[name] = len(rom)
        rom.extend(layout.const(ins).as_bits() for ins in prog)
    return rom, entry


# --- The programs and their register map -----------------------------------------------------

class Program(enum.Enum, shape=4):
    """The workloads in the APU's ROM (`hw.apu_programs`), as the program names them."""
    FRN_FP = 0          # L1-FRN + TLU forward, one channel (two passes)
    FRN_STATS = 1       # a layer, overlapped: statistics of its first channel
    FRN_FP_NEXT = 2     # ... normalize one channel while taking in the next
    FRN_FP_LAST = 3     # ... normalize the last channel
    FRN_BP = 4          # TLU + L1-FRN backward
    TLU_FP = 5
    TLU_BP = 6
    SGD = 7             # SGD with momentum, one element of w, v, g per cycle
    ADD = 8             # a 2^ea + b 2^eb (the residual add; with cb = 0 a plain conversion)
    SUM = 9             # the sum of a channel's words (FRN gradients over a batch)
    COPY = 10           # x0 through the converters (a tensor of sums converted to PINT)

    @property
    def key(self):
        return self.name.lower()


# Words a program EMITs per channel, in order.
EMITS = {Program.FRN_FP: ("q", "e"), Program.FRN_FP_NEXT: ("q", "e"),
         Program.FRN_FP_LAST: ("q", "e"), Program.FRN_BP: ("dgamma", "dbeta", "dtau"),
         Program.TLU_BP: ("dtau",), Program.SUM: ("sum",)}

# Host write addresses: 0..7 R registers, 8 + i for E[i] (i >= 1), N_REG for the length.
N_REG = 12


def exp_reg(i):
    return 8 + i


def checked(regs, cfg=None):
    """The register writes, after checking each value fits its register (the APU would
    otherwise keep only the low bits): R words, E 8-bit exponents, 1 <= N <= max_n."""
    f = (cfg or EtaConfig()).acore
    for addr, value in regs.items():
        value = int(value)
        if addr == N_REG:
            lo, hi, what = 1, f.max_n, "N"
        elif addr >= 8:
            lo, hi, what = -128, 127, f"E{addr - 8}"
        else:
            lo, hi, what = -(1 << (f.word_bits - 1)), (1 << (f.word_bits - 1)) - 1, f"R{addr}"
        if not lo <= value <= hi:
            raise ValueError(f"{what} = {value} does not fit its register ([{lo}, {hi}])")
    return {a: int(v) for a, v in regs.items()}


def frn_fp_regs(n, eps, gamma_c, beta_q, tau_q):
    if eps < 1:
        raise ValueError(f"eps is a positive count of x's LSBs, not {eps}")
    return checked({0: eps, 1: gamma_c, 2: beta_q, 3: tau_q, 4: n, N_REG: n})


def frn_bp_regs(n, gamma_c, q, e, e_max):
    if e > e_max:
        raise ValueError(f"e_max ({e_max}) is the largest exponent of the layer, not below "
                         f"this channel's ({e})")
    return checked({0: 1, 1: gamma_c, 4: n, 5: q, exp_reg(2): e, exp_reg(3): e_max,
                    N_REG: n})


def tlu_regs(n, tau_q=0):
    return checked({3: tau_q, N_REG: n})


def sgd_regs(n, coefs):
    m_c, g_c, g_sh, lr_c, lr_sh = coefs
    return checked({0: m_c, 1: g_c, 2: -lr_c, exp_reg(1): g_sh, exp_reg(2): lr_sh, N_REG: n})


def add_regs(n, ca, sa, cb, sb):
    return checked({0: ca, 1: cb, exp_reg(1): sa, exp_reg(2): sb, N_REG: n})


def sum_regs(n):
    return checked({N_REG: n})


def copy_regs(n):
    return checked({N_REG: n})
