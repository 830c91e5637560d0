"""APU (paper IV-C, Fig. 10): local controller, register file, organization network and the
operation chain, running the programs of `hw.apu_programs` (instruction set: `hw.isa.apu`).

Protocol: with the APU idle, `wr` writes registers (R0..R7, E1..E3, N); `cmd` starts the
program at an entry address. A PASS takes N elements from `i` (or replays them from the
channel buffer), one per cycle, and presents one result per element on `o` when it emits;
EMIT puts a word on `r`; `busy` falls at END. A pass that needs the buffer with N larger than
it, N = 0, or a division by a non-positive value stops the program and sets `error`.

The chain is a pipeline stalled as a whole when `o` is not ready:
fetch | inputs, Abs, selects | MAD a x2 | MAD b x2 | MAD c x2 | Comparison | out, Accumulation.
Each MAD stage registers its product, then the rounded, shifted, added, saturated result.
"""

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import data, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from .apu_programs import rom
from .isa.apu import (ACCS, EXPS, MADS, MAX_SHIFT, N_REG, REGS, Coef, Input, Op, Src,
                      instr_layout)
from .config import Configured
from .divider import Divider
from .lockstep import any_of
from .mac import saturate

__all__ = ["Apu", "apu_in_layout", "apu_out_layout", "apu_wr_layout"]


def apu_in_layout(cfg):
    w = signed(cfg.acore.word_bits)
    return data.StructLayout({"x0": w, "x1": w, "x2": w, "fl": 1})


def apu_out_layout(cfg):
    w = signed(cfg.acc_bits)
    return data.StructLayout({"out0": w, "out1": w, "fl": 1})


def apu_wr_layout(cfg):
    return data.StructLayout({"addr": 4, "data": signed(cfg.acore.word_bits)})


def _ctx_layout(cfg):
    f = cfg.acore
    w = signed(f.word_bits)
    return data.StructLayout({
        "x0": w, "x1": w, "x2": w, "fl": 1, "abs": w, "dy": w, "ndy": w,
        "p": data.ArrayLayout(signed(f.word_bits + f.coef_bits), MADS),
        "m": data.ArrayLayout(w, MADS),
        "cmp": w, "cf": 1, "last": 1,
    })


class Apu(Configured, wiring.Component):
    def __init__(self, cfg):
        def members(cfg):
            self._rom, self.entry = rom(cfg)
            return {
                "cmd": In(stream.Signature(range(len(self._rom)))),
                "wr": In(stream.Signature(apu_wr_layout(cfg))),
                "i": In(stream.Signature(apu_in_layout(cfg))),
                "o": Out(stream.Signature(apu_out_layout(cfg))),
                "r": Out(stream.Signature(signed(cfg.acore.word_bits))),
                "busy": Out(1), "error": Out(1),
            }
        super().__init__(cfg, members)

    @property
    def buffer_depth(self):
        return 1 << self._cfg.apu_buffer_bits

    def elaborate(self, platform):
        m = Module()
        cfg, f = self._cfg, self._cfg.acore
        W, C = f.word_bits, f.coef_bits
        depth = self.buffer_depth

        # --- Register file -----------------------------------------------------------------
        R = Array(Signal(signed(W), name=f"r{i}") for i in range(REGS))
        E = Array([Const(0, signed(8))] + [Signal(signed(8), name=f"e{i}")
                                            for i in range(1, EXPS)])
        A = Array(Signal(signed(f.acc_bits), name=f"a{i}") for i in range(ACCS))
        # Index widths: 3 bits for R, 2 for A and E; the spare A entry reads 0.
        A_word = Array([saturate(m, a, W)[0] for a in A] + [Const(0, signed(W))] * (4 - ACCS))
        n = Signal(range(f.max_n + 1))

        # --- Program ROM and the current instruction ------------------------------------------
        m.submodules.rom = prog = memory.Memory(shape=instr_layout().size,
                                                depth=len(self._rom), init=self._rom)
        rd_ins = prog.read_port(domain="comb")
        pc = Signal(range(len(self._rom)))
        m.d.comb += rd_ins.addr.eq(pc)
        ins = Signal(instr_layout())

        def source(ctx, sel, reg):
            """The organization network: one operand picked from an element's context."""
            out = Signal(signed(W))
            with m.Switch(sel):
                for s, value in ((Src.X0, ctx.x0), (Src.X1, ctx.x1), (Src.X2, ctx.x2),
                                 (Src.ABS, ctx.abs), (Src.DY, ctx.dy), (Src.NDY, ctx.ndy),
                                 (Src.MA, ctx.m[0]), (Src.MB, ctx.m[1]), (Src.MC, ctx.m[2]),
                                 (Src.CMP, ctx.cmp), (Src.REG, R[reg]),
                                 (Src.ACC, A_word[reg[:2]]), (Src.EXP, E[reg[:2]])):
                    with m.Case(s):
                        m.d.comb += out.eq(value)
            return out                  # ZERO: the signal's default

        # --- Pipeline ---------------------------------------------------------------------
        stages = 3 + 2 * MADS
        ctx = [Signal(_ctx_layout(cfg), name=f"ctx{k}") for k in range(stages)]
        valid = [Signal(name=f"valid{k}") for k in range(stages)]
        tail, vtail = ctx[-1], valid[-1]
        out_valid = vtail & ins.emit
        adv = Signal()
        m.d.comb += adv.eq(~out_valid | self.o.ready)
        consume = adv & vtail

        # Channel buffer, two banks: a STREAM pass with `store` (or the intake of a BUFFER
        # pass) fills bank `fill`, then `fill` flips; BUFFER replays the bank filled last.
        buf_layout = data.StructLayout({"x0": signed(W), "x1": signed(C), "fl": 1})
        m.submodules.buf = buf = memory.Memory(shape=buf_layout, depth=2 * depth, init=[])
        buf_r, buf_w = buf.read_port(), buf.write_port()
        count = Signal(range(f.max_n + 1))
        count_in = Signal(range(f.max_n + 1))   # intake: elements taken so far
        fill = Signal()
        abits = self._cfg.apu_buffer_bits
        m.d.comb += [buf_r.addr.eq(Cat(count[:abits], ~fill)), buf_r.en.eq(adv),
                     buf_w.addr.eq(Cat(Mux(ins.intake, count_in, count)[:abits], fill))]

        # Stage 0 (fetch) is filled by the controller; stage 1 builds the element's inputs.
        c0, c1 = ctx[0], ctx[1]
        from_buf = ins.input == Input.BUFFER
        x0 = Mux(from_buf, buf_r.data.x0, c0.x0)
        x1 = Mux(from_buf, buf_r.data.x1, c0.x1)
        fl = Mux(from_buf, buf_r.data.fl, c0.fl)
        with m.If(adv):
            m.d.sync += [
                c1.x0.eq(x0), c1.x1.eq(x1), c1.x2.eq(c0.x2), c1.fl.eq(fl),
                c1.abs.eq(saturate(m, Mux(x0 < 0, -x0, x0), W)[0]),
                c1.dy.eq(Mux(fl, x0, 0)), c1.ndy.eq(Mux(fl, 0, x0)), c1.last.eq(c0.last),
            ]
            for k in range(1, stages):
                m.d.sync += valid[k].eq(valid[k - 1])

        # MAD stages: product, then sat(round(p / 2^sh) + add). The shift is fixed per pass.
        shift = [Signal(range(64), name=f"shift{j}") for j in range(MADS)]
        for j in range(MADS):
            mi = ins.mad[j]
            pre, mid, post = ctx[2 * j + 1], ctx[2 * j + 2], ctx[2 * j + 3]
            op = source(pre, mi.op, mi.op_reg)
            coef = Signal(signed(C), name=f"coef{j}")
            reg_c, x1_c = saturate(m, R[mi.coef_reg], C)[0], saturate(m, pre.x1, C)[0]
            with m.Switch(mi.coef):
                with m.Case(Coef.REG):
                    m.d.comb += coef.eq(reg_c)
                with m.Case(Coef.X1):
                    m.d.comb += coef.eq(x1_c)
                with m.Case(Coef.NSIGN):
                    m.d.comb += coef.eq(Mux(pre.x1 > 0, -1, Mux(pre.x1 < 0, 1, 0)))
                with m.Case(Coef.ONE):
                    m.d.comb += coef.eq(1)
            add = source(mid, mi.add, mi.add_reg)
            sh = shift[j]
            # round(p / 2^sh) + add = (p >> sh) + add + bit sh-1 of p (round half up: the
            # dropped bits reach one half exactly when that bit is set). One shifter gives
            # both, and the bit is the carry-in of one adder: 2 (p >> sh) + 1 plus 2 add + bit,
            # halved. (With the half added before the shift, two adders of W + C bits were
            # in series.)
            t = Signal(signed(W + C + 1), name=f"shifted{j}")     # (2p) >> sh
            total = Signal(signed(W + C + 2), name=f"rounded{j}")
            m.d.comb += [t.eq((mid.p[j] << 1) >> sh),
                         total.eq((Cat(Const(1, 1), t[1:]).as_signed()
                                   + Cat(t[0], add).as_signed()) >> 1)]
            wide, _ = saturate(m, total, W)
            narrow, _ = saturate(m, total, cfg.acc_bits)
            with m.If(adv):
                m.d.sync += [mid.eq(pre), mid.p[j].eq(op * coef)]
                m.d.sync += [post.eq(mid), post.m[j].eq(Mux(mi.narrow, narrow, wide))]

        # Comparison against a threshold register.
        pre_c, cmp_ctx = ctx[-2], ctx[-1]
        a_cmp = source(pre_c, ins.cmp, ins.cmp_reg)
        thr = R[ins.thr_reg]
        with m.If(adv):
            m.d.sync += [cmp_ctx.eq(pre_c), cmp_ctx.cmp.eq(Mux(a_cmp >= thr, a_cmp, thr)),
                         cmp_ctx.cf.eq(a_cmp >= thr)]

        # Output and accumulation as the element leaves.
        for port, (sel, reg) in ((self.o.payload.out0, (ins.out0, ins.out0_reg)),
                                 (self.o.payload.out1, (ins.out1, ins.out1_reg))):
            m.d.comb += port.eq(saturate(m, source(tail, sel, reg), cfg.acc_bits)[0])
        m.d.comb += [self.o.payload.fl.eq(tail.cf), self.o.valid.eq(out_valid)]
        acc_in = [source(tail, ins.acc[k].src, ins.acc[k].reg) for k in range(ACCS)]
        wb_value = source(tail, ins.wb_src, ins.wb_reg)

        # --- Division ----------------------------------------------------------------------
        m.submodules.div = div = Divider(cfg)
        zero_ctx = Signal(_ctx_layout(cfg))
        div_a = source(zero_ctx, ins.div_a, ins.div_a_reg)
        div_d = source(zero_ctx, ins.div_d, ins.div_d_reg)
        m.d.comb += [div.a.eq(div_a), div.d.eq(div_d)]
        emit_value = source(zero_ctx, ins.wb_src, ins.wb_reg)
        m.d.comb += self.r.payload.eq(emit_value)

        # --- Controller --------------------------------------------------------------------
        total = Signal.like(count)
        issued_all, intake_done = Signal(), Signal()
        in_x = self.i.payload.x0
        in_abs = saturate(m, Mux(in_x < 0, -in_x, in_x), W)[0]
        intake_term = saturate(m, in_abs + R[0], W)[0]     # as Abs -> MAD(1, + eps) would
        # Each term is registered before A0 takes it: the input's absolute value, the add
        # and the accumulation are three carry chains, too many for one cycle. The last term
        # reaches A0 as the pass ends (`intake_done` is a register too), before the next
        # instruction is fetched: the same cycles as before.
        term, term_valid = Signal(signed(W)), Signal()
        m.d.sync += term_valid.eq(0)
        with m.If(term_valid):
            m.d.sync += A[0].eq(A[0] + term)
        pipe_empty = ~any_of(valid)
        with m.FSM():
            with m.State("IDLE"):
                m.d.comb += [self.wr.ready.eq(1), self.cmd.ready.eq(1)]
                with m.If(self.wr.valid):
                    a, d = self.wr.payload.addr, self.wr.payload.data
                    with m.If(a < REGS):
                        m.d.sync += R[a[:3]].eq(d)
                    for i in range(1, EXPS):
                        with m.If(a == 8 + i):
                            m.d.sync += E[i].eq(d)
                    with m.If(a == N_REG):
                        m.d.sync += n.eq(d)
                with m.If(self.cmd.valid):
                    m.d.sync += [pc.eq(self.cmd.payload), self.error.eq(0)]
                    m.next = "FETCH"
            with m.State("FETCH"):
                m.d.comb += self.busy.eq(1)
                m.d.sync += ins.eq(rd_ins.data)
                m.next = "EXEC"
            with m.State("EXEC"):
                m.d.comb += self.busy.eq(1)
                with m.Switch(ins.op):
                    with m.Case(Op.PASS):
                        needs_buf = (ins.input == Input.BUFFER) | ins.store | ins.intake
                        length = Mux(ins.input == Input.NONE, 1, n)
                        with m.If((length == 0) | (needs_buf & (n > depth))):
                            m.d.sync += self.error.eq(1)
                            m.next = "IDLE"
                        with m.Else():
                            m.d.sync += [total.eq(length), count.eq(0), issued_all.eq(0),
                                         count_in.eq(0), intake_done.eq(~ins.intake)]
                            for k in range(ACCS):
                                with m.If(ins.clear[k]):
                                    m.d.sync += A[k].eq(0)
                            for j in range(MADS):
                                mi = ins.mad[j]
                                raw = mi.imm + E[mi.ea] - E[mi.eb]
                                m.d.sync += shift[j].eq(
                                    Mux(raw < 0, 0, Mux(raw > MAX_SHIFT, MAX_SHIFT, raw)))
                            m.next = "ISSUE"
                    with m.Case(Op.DIV):
                        with m.If((div_a <= 0) | (div_d <= 0)):
                            m.d.sync += self.error.eq(1)
                            m.next = "IDLE"
                        with m.Else():
                            m.d.comb += div.valid.eq(1)
                            m.next = "DIVIDE"
                    with m.Case(Op.EMIT):
                        m.d.comb += self.r.valid.eq(1)
                        with m.If(self.r.ready):
                            m.d.sync += pc.eq(pc + 1)
                            m.next = "FETCH"
                    with m.Case(Op.END):
                        m.next = "IDLE"
            with m.State("ISSUE"):
                m.d.comb += self.busy.eq(1)
                last = count == total - 1
                from_stream = ins.input == Input.STREAM
                can = ~issued_all & Mux(from_stream, self.i.valid, 1)
                m.d.comb += self.i.ready.eq(from_stream & adv & ~issued_all)
                m.d.comb += [buf_w.data.x0.eq(self.i.payload.x0),
                             buf_w.data.x1.eq(saturate(m, self.i.payload.x1, C)[0]),
                             buf_w.data.fl.eq(self.i.payload.fl)]
                with m.If(adv):
                    m.d.sync += valid[0].eq(can)
                    with m.If(can):
                        m.d.sync += [
                            c0.x0.eq(Mux(from_stream, self.i.payload.x0, 0)),
                            c0.x1.eq(Mux(from_stream, self.i.payload.x1, 0)),
                            c0.x2.eq(Mux(from_stream, self.i.payload.x2, 0)),
                            c0.fl.eq(from_stream & self.i.payload.fl),
                            c0.last.eq(last), count.eq(count + 1),
                        ]
                        m.d.comb += buf_w.en.eq(from_stream & ins.store)
                        with m.If(last):
                            m.d.sync += issued_all.eq(1)
                # Intake (BUFFER passes): the next channel streams into the other bank while
                # this one replays, its statistics sum(|x| + R0) accumulating in A0.
                with m.If(ins.intake):
                    m.d.comb += self.i.ready.eq(~intake_done)
                    with m.If(self.i.valid & ~intake_done):
                        m.d.comb += buf_w.en.eq(1)
                        m.d.sync += [count_in.eq(count_in + 1), term.eq(intake_term),
                                     term_valid.eq(1)]
                        with m.If(count_in == n - 1):
                            m.d.sync += intake_done.eq(1)
                with m.If(issued_all & pipe_empty & intake_done):
                    m.d.sync += pc.eq(pc + 1)
                    with m.If(ins.store | ins.intake):
                        m.d.sync += fill.eq(~fill)
                    m.next = "FETCH"
            with m.State("DIVIDE"):
                m.d.comb += self.busy.eq(1)
                with m.If(div.done):
                    m.d.sync += [R[ins.wb_dst].eq(div.q), pc.eq(pc + 1)]
                    for i in range(1, EXPS):
                        with m.If(ins.div_e == i):
                            m.d.sync += E[i].eq(div.e)
                    m.next = "FETCH"

        with m.If(consume):
            for k in range(ACCS):
                with m.If(ins.acc[k].en):
                    m.d.sync += A[k].eq(A[k] + acc_in[k])
            with m.If(tail.last & ins.wb & (ins.op == Op.PASS)):
                m.d.sync += R[ins.wb_dst].eq(wb_value)
        return m
