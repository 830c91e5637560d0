"""The A-Core workloads as APU programs, one per workload, with the registers the host loads.

Each program follows its function in `sim/golden/acore.py` operation by operation (same
operands, shifts and saturations), which is what makes the RTL bit-exact with it.
Element inputs (x0, x1, x2, flag) and outputs (out0, out1, flag) per workload:

| program | x0 | x1 | x2 | flag in | out0 | out1 | flag out | result stream |
|---|---|---|---|---|---|---|---|---|
| frn_fp | x | | | | z (Q.12) | x_hat (Q.12) | b | q, e |
| frn_stats | x (channel 0) | | | | | | | |
| frn_fp_next, frn_fp_last | x of the next channel (next only) | | | | z | x_hat | b | q, e |
| frn_bp | dz | x_hat (PINT t) | | b | dx | | | d gamma, d beta, d tau |
| tlu_fp | y | | | | z | | b | |
| tlu_bp | dz | | | b | dy | | | d tau |
| sgd | g | v | w | | w' | v' | | |
| add | a | b | | | a 2^ea + b 2^eb | | | |
"""

from .apu_isa import DIV, EMIT, END, PASS, assemble

__all__ = ["programs", "rom", "N_REG", "exp_reg", "checked", "frn_fp_regs", "frn_bp_regs",
           "tlu_regs", "sgd_regs", "add_regs"]

# Host write addresses: 0..7 R registers, 8 + i for E[i] (i >= 1), N_REG for the length.
N_REG = 12


def exp_reg(i):
    return 8 + i


def programs(fmt):
    """The programs for the formats `fmt` (an AcoreFormat): {name: [instructions]}."""
    # L1-FRN + TLU forward. D = sum(|x| + eps); q, e = N / D; x_hat = x q >> (-e - 12);
    # y = x_hat gamma >> 14 + beta; z, b = max(y, tau), y >= tau.
    # R0 eps, R1 gamma_c, R2 beta, R3 tau, R4 N.
    stats = PASS("stream", store=True, clear=(0,), mads=[{"op": "abs", "add": ("reg", 0)}],
                 acc={0: "ma"})

    def normalize(intake):
        return [
            DIV(("reg", 4), ("acc", 0), q_dst=5, e_dst=1),
            PASS("buffer", intake=intake, clear=(0,) if intake else (),
                 mads=[{"op": "x0", "coef": ("reg", 5), "sh": (-fmt.xhat_frac, 0, 1)},
                       {"op": "ma", "coef": ("reg", 1), "sh": fmt.gamma_frac,
                        "add": ("reg", 2)}],
                 cmp=("mb", 3), out0="cmp", out1="ma"),
            EMIT(("reg", 5)), EMIT(("exp", 1)), END(),
        ]

    return {
        # One channel: statistics pass, then the normalizing pass.
        "frn_fp": [stats] + normalize(False),
        # A layer, overlapped: frn_stats takes channel 0; each frn_fp_next normalizes the
        # channel taken last while taking the next; frn_fp_last normalizes the last one.
        "frn_stats": [stats, END()],
        "frn_fp_next": normalize(True),
        "frn_fp_last": normalize(False),
        # dy = b dz; A0 = sum dy t, A1 = sum dy, A2 = sum (1-b) dz; qn, en = 1 / N;
        # mean = A0 qn >> (7 - en); gl = gamma_c q >> 17; dx = (dy - sign(t) mean) gl >> sh.
        # R0 1, R1 gamma_c, R4 N, R5 q; E2 e, E3 e_max.
        "frn_bp": [
            PASS("stream", store=True, clear=(0, 1, 2), mads=[{"op": "dy", "coef": "x1"}],
                 acc={0: "ma", 1: "dy", 2: "ndy"}),
            DIV(("reg", 0), ("reg", 4), q_dst=6, e_dst=1),
            PASS(mads=[{"op": ("acc", 0), "coef": ("reg", 6), "sh": (-fmt.xhat_exp, 0, 1)}],
                 wb=(7, "ma")),
            PASS(mads=[{"op": ("reg", 1), "coef": ("reg", 5), "sh": fmt.recip_bits + 1}],
                 wb=(3, "ma")),
            PASS("buffer", mads=[{"op": ("reg", 7), "coef": "nsign", "add": "dy"},
                                 {"op": "ma", "coef": ("reg", 3), "sh": (fmt.coef_bits - 1, 3, 2)}],
                 out0="mb"),
            EMIT(("acc", 0)), EMIT(("acc", 1)), EMIT(("acc", 2)), END(),
        ],
        # R3 tau.
        "tlu_fp": [PASS("stream", cmp=("x0", 3), out0="cmp"), END()],
        "tlu_bp": [PASS("stream", clear=(2,), acc={2: "ndy"}, out0="dy"), EMIT(("acc", 2)), END()],
        # v' = sat32(g g_c >> E1 + (v m_c >> 16)); w' = sat32(v' (-lr_c) >> E2 + w).
        # R0 m_c, R1 g_c, R2 -lr_c; E1 g_sh, E2 lr_sh.
        "sgd": [
            PASS("stream", mads=[{"op": "x1", "coef": ("reg", 0), "sh": fmt.momentum_frac},
                                 {"op": "x0", "coef": ("reg", 1), "sh": (0, 1, 0), "add": "ma",
                                  "narrow": True},
                                 {"op": "mb", "coef": ("reg", 2), "sh": (0, 2, 0), "add": "x2",
                                  "narrow": True}],
                 out0="mc", out1="mb"),
            END(),
        ],
        # s = a ca >> E1 + (b cb >> E2). R0 ca, R1 cb.
        "add": [
            PASS("stream", mads=[{"op": "x1", "coef": ("reg", 1), "sh": (0, 2, 0)},
                                 {"op": "x0", "coef": ("reg", 0), "sh": (0, 1, 0), "add": "ma"}],
                 out0="mb"),
            END(),
        ],
    }


def rom(cfg):
    """(ROM words, {program: entry address}) for an EtaConfig."""
    return assemble(programs(cfg.acore))


def checked(regs, cfg=None):
    """The register writes, after checking each value fits its register (the APU would
    otherwise keep only the low bits): R words, E 8-bit exponents, 1 <= N <= max_n."""
    from .config import EtaConfig
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
