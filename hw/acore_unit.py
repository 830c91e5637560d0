"""The A-Core's unit: an ACORE descriptor (`hw.isa.program.ACoreRun`) run as the golden
machine runs it (`sim.golden.machine.Machine._acore`): the APUs' registers loaded, their
programs started channel set by channel set, the operands streamed in and the results
written out (`hw.operands`, `hw.results`), the scalar table read and updated.

- **Check** the run: a program a run starts, 1 <= N (<= the channel buffer for the FRN
  programs), some channel sets, none beyond the tensors' images and groups. Then read
  S[shift], S[emax], S[sa], S[sb] and check what they give: converter 0's shift in range
  (all but SUM), FRN_BP's e_max an exponent register's value, SGD's gradient alignment
  k = S[sa] - S[sb] <= coef_bits - 2 with -k <= MAX_SHIFT, ADD's alignment shifts
  <= MAX_SHIFT. Any failure is an ACORE error before anything moves.
- **Calls**: one APU program per channel set (FRN_FP: FRN_STATS takes set 0, then each set
  is normalized by FRN_FP_NEXT while the next streams in, the last by FRN_FP_LAST). Before
  each call the unit fetches what the set needs through its `param` read port (FRN_FP:
  gamma, beta, tau rows; FRN_BP: gamma and the state words q, e; SGD: m_c, lr_c, lr_sh once)
  while the previous call runs, then writes the registers (`hw.isa.apu`'s `*_regs` map)
  when the APUs are idle, and starts the program.
- **Registers** per lane: FRN_FP R0 = 1 (eps), R1 = gamma_coef(gamma), R2 = y_param(beta),
  R3 = y_param(tau), R4 = N; FRN_BP R0 = 1, R1 = gamma_coef, R4 = N, R5 = q, E2 = e
  (min(e, e_max) on padding lanes), E3 = e_max; SGD R0 = m_c, R1 = g_c, R2 = -lr_c,
  E1 = g_sh, E2 = lr_sh (`sgd_grad_coef(k)`); ADD R0 = ca, R1 = cb, E1 = sa, E2 = sb
  (`add_coefs`); N everywhere. A state word or SGD coefficient that does not fit its
  register (q, m_c, -lr_c a coefficient, e an exponent below e_max on real lanes,
  0 <= lr_sh <= MAX_SHIFT) is an ACORE error.
- **Finish**: once every result is written: S[cap] = converter 0's next shift, and for
  FRN_FP S[emax] = max(S[emax], e over the run's real lanes).

The scalar port (`s_*`) reads with one cycle of latency. `seed_*` loads one lane's LFSR.
"""

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .acore import ACore
from .config import Configured
from .dma import dma_cmd_layout, dma_word_layout
from .isa.apu import MAX_SHIFT, N_REG, Program, exp_reg
from .isa.program import READS, SLOTS, Op, layout, line_bytes
from .isa.regs import ErrorCode
from .lockstep import all_of, any_of
from .mac import saturate
from .operands import OperandStreams
from .results import ResultStreams
from .sets import check_lanes

__all__ = ["ACoreUnit", "READ_PORTS", "WRITE_PORTS", "BUFFERED"]

# DMA clients: the operand streams' (the flag bitmap's as fl_in), the parameter fetch; the
# result streams' (flags as fl_out).
READ_PORTS = ("x0", "x1", "x2", "fl_in", "param")
WRITE_PORTS = ("raw0", "code0", "out1", "fl_out", "emit")
BUFFERED = (Program.FRN_FP, Program.FRN_BP)     # programs whose passes use the buffer
SGD_BYTES = 12          # m_c, lr_c, lr_sh


def _port(name):
    return {"fl_in": "fl", "fl_out": "fl"}.get(name, name)


class ACoreUnit(Configured, wiring.Component):
    def __init__(self, cfg):
        def members(cfg):
            check_lanes(cfg, "the A-Core unit")
            out = {"desc": In(stream.Signature(layout(cfg, Op.ACORE))),
                   "done": Out(1), "error": Out(1), "code": Out(8), "busy": Out(1),
                   "s_addr": Out(range(SLOTS)), "s_rdata": In(signed(32)),
                   "s_wdata": Out(signed(32)), "s_we": Out(1),
                   "seed_lane": In(8), "seed_data": In(cfg.lfsr_bits), "seed_we": In(1)}
            for name in READ_PORTS:
                out[f"{name}_cmd"] = Out(stream.Signature(dma_cmd_layout(cfg)))
                out[f"{name}_words"] = In(stream.Signature(dma_word_layout(cfg)))
            for name in WRITE_PORTS:
                lane = 1 if name == "fl_out" else None
                out[f"{name}_cmd"] = Out(stream.Signature(dma_cmd_layout(cfg)))
                out[f"{name}_words"] = Out(stream.Signature(dma_word_layout(cfg, lane)))
                out[f"{name}_written"] = In(1)
            return out
        super().__init__(cfg, members)

    @staticmethod
    def write_lanes(name):
        """The lane size of write port `name` (None: pe_cols), for a DmaHub."""
        return 1 if name == "fl_out" else None

    def elaborate(self, platform):
        m = Module()
        cfg = self._cfg
        m.submodules.acore = ac = ACore(cfg)
        m.submodules.operands = ops = OperandStreams(cfg)
        m.submodules.results = res = ResultStreams(cfg)
        self._ac, self._ops, self._res = ac, ops, res
        self._wire(m)
        d = Signal(layout(cfg, Op.ACORE))
        self._d = d
        self._sequence(m, d)
        return m

    # --- the blocks and their ports ------------------------------------------------------------

    def _wire(self, m):
        ac, ops, res = self._ac, self._ops, self._res
        for name in READ_PORTS[:-1]:
            wiring.connect(m, getattr(ops, f"{_port(name)}_cmd"),
                           wiring.flipped(getattr(self, f"{name}_cmd")))
            wiring.connect(m, wiring.flipped(getattr(self, f"{name}_words")),
                           getattr(ops, f"{_port(name)}_words"))
        for name in WRITE_PORTS:
            wiring.connect(m, getattr(res, f"{_port(name)}_cmd"),
                           wiring.flipped(getattr(self, f"{name}_cmd")))
            wiring.connect(m, getattr(res, f"{_port(name)}_words"),
                           wiring.flipped(getattr(self, f"{name}_words")))
            m.d.comb += getattr(res, f"{_port(name)}_written").eq(
                getattr(self, f"{name}_written"))
        wiring.connect(m, ops.beats, ac.i)
        wiring.connect(m, ac.o, res.o)
        wiring.connect(m, ac.r, res.r)
        m.d.comb += [ac.seed[k].eq(self.seed_data) for k in range(self._cfg.apus)]
        m.d.comb += ac.seed_load.eq(Mux(self.seed_we, 1 << self.seed_lane, 0))

    # --- the run ---------------------------------------------------------------------------------

    def _sequence(self, m, d):
        ac, ops, res = self._ac, self._ops, self._res
        prog = d.prog
        frn = prog == Program.FRN_FP
        S = Signal(len(d.images) + len(d.groups))     # channel sets
        m.d.comb += S.eq(d.images * d.groups)
        calls = Signal(len(S) + 1)
        m.d.comb += calls.eq(S + frn)
        call = Signal.like(calls)
        a = Signal.like(d.images)                    # the set the current call works on
        b = Signal.like(d.groups)
        scal = Array(Signal(signed(32), name=f"s_{n}") for n in ("shift", "emax", "sa", "sb"))
        self._scal = scal
        k_read = Signal(range(5))
        fail = Signal()
        ops_go, res_go = Signal(), Signal()
        ops_done, res_done = Signal(), Signal()
        m.d.comb += [ops.run.payload.eq(d), res.run.payload.eq(d),
                     ops.run.valid.eq(ops_go), res.run.valid.eq(res_go)]
        with m.If(ops.run.ready):
            m.d.sync += ops_go.eq(0)
        with m.If(res.run.ready):
            m.d.sync += res_go.eq(0)
        with m.If(ops.done):
            m.d.sync += ops_done.eq(1)
        with m.If(res.done):
            m.d.sync += res_done.eq(1)

        in_fetch = Signal()
        slots, fetched, fetch_start = self._fetch(m, d, call, a, b, in_fetch)
        scalars_ok = self._scalars_ok(m, d, scal)
        writes, bad_set = self._registers(m, d, slots, scal, b)
        emax_any, emax_max = self._emax_tap(m, d)
        w_idx = Signal(range(len(writes) + 1))
        last_call = call == calls - 1
        entry = self._entry(m, d, call, last_call)
        capture = Signal()

        m.d.comb += [self.code.eq(ErrorCode.ACORE.value),
                     ac.shift0.eq(scal[0]), ac.stochastic0.eq(d.stochastic),
                     ac.shift1.eq(d.shift1)]
        with m.FSM():
            with m.State("IDLE"):
                m.d.comb += self.desc.ready.eq(1)
                with m.If(self.desc.valid):
                    m.d.sync += [d.eq(self.desc.payload), k_read.eq(0)]
                    m.next = "CHECK"
            with m.State("CHECK"):
                m.d.comb += self.busy.eq(1)
                with m.If(~self._runnable(d)):
                    m.d.comb += fail.eq(1)
                    m.next = "IDLE"
                with m.Else():
                    m.next = "SCALARS"
            with m.State("SCALARS"):
                # One slot a cycle; its value comes the next.
                m.d.comb += self.busy.eq(1)
                m.d.comb += self.s_addr.eq(Array([d.shift, d.emax, d.sa, d.sb, 0])[k_read])
                with m.If(k_read != 0):
                    m.d.sync += scal[k_read - 1].eq(self.s_rdata)
                m.d.sync += k_read.eq(k_read + 1)
                with m.If(k_read == 4):
                    m.next = "LIMITS"
            with m.State("LIMITS"):
                m.d.comb += self.busy.eq(1)
                with m.If(~scalars_ok):
                    m.d.comb += fail.eq(1)
                    m.next = "IDLE"
                with m.Else():
                    m.d.comb += [ac.clear_max.eq(d.clear_max), fetch_start.eq(1)]
                    m.d.sync += [ops_go.eq(1), res_go.eq(1), ops_done.eq(0), res_done.eq(0),
                                 call.eq(0), a.eq(0), b.eq(0)]
                    m.next = "FETCH"
            with m.State("FETCH"):
                m.d.comb += [self.busy.eq(1), in_fetch.eq(1)]
                with m.If(fetched):
                    m.d.sync += w_idx.eq(0)
                    m.next = "LOAD"
            with m.State("LOAD"):
                m.d.comb += self.busy.eq(1)
                with m.If(bad_set):
                    m.d.comb += fail.eq(1)
                    m.next = "IDLE"
                with m.Else():
                    with m.Switch(w_idx):
                        for i, (addr, en, value) in enumerate(writes):
                            with m.Case(i):
                                m.d.comb += [ac.wr.payload.addr.eq(addr),
                                             ac.wr.payload.data.eq(value),
                                             ac.wr.valid.eq(en)]
                                with m.If(~en | ac.wr.ready):
                                    m.d.sync += w_idx.eq(w_idx + 1)
                        with m.Default():
                            m.next = "CALL"
            with m.State("CALL"):
                m.d.comb += [self.busy.eq(1), ac.cmd.valid.eq(1), ac.cmd.payload.eq(entry)]
                with m.If(ac.cmd.ready):
                    m.d.sync += call.eq(call + 1)
                    # FRN_FP's first call (the statistics) works on no set of its own.
                    with m.If(~(frn & (call == 0))):
                        with m.If(b == d.groups - 1):
                            m.d.sync += [b.eq(0), a.eq(a + 1)]
                        with m.Else():
                            m.d.sync += b.eq(b + 1)
                    with m.If(last_call):
                        m.next = "FINISH"
                    with m.Else():
                        m.d.comb += fetch_start.eq(1)
                        m.next = "FETCH"
            with m.State("FINISH"):
                m.d.comb += self.busy.eq(1)
                with m.If(ops_done & res_done & ~ac.busy & ~ops_go & ~res_go):
                    m.next = "CAP"
            with m.State("CAP"):
                m.d.comb += [self.busy.eq(1), capture.eq(1)]
                m.d.comb += [self.s_addr.eq(d.cap), self.s_wdata.eq(ac.next_shift),
                             self.s_we.eq(d.cap != 0)]
                m.next = "EMAX"
            with m.State("EMAX"):
                m.d.comb += self.busy.eq(1)
                old = scal[1]
                m.d.comb += [self.s_addr.eq(d.emax),
                             self.s_wdata.eq(Mux(emax_max > old, emax_max, old)),
                             self.s_we.eq(frn & (d.emax != 0) & emax_any)]
                m.d.comb += self.done.eq(1)
                m.next = "IDLE"
        # An APU's error (a division by a non-positive value: not from a run that passed
        # the checks) or a stream block's refusal stops the run too.
        m.d.comb += self.error.eq(fail | ac.error | ops.error | res.error)

    def _runnable(self, d):
        cfg, f = self._cfg, self._cfg.acore
        known = Const(0, 1)
        for p in READS:
            known = known | (d.prog == p)
        buffered = any_of([d.prog == p for p in BUFFERED])
        depth = 1 << cfg.apu_buffer_bits
        return all_of([known, d.n != 0, d.n <= f.max_n, ~buffered | (d.n <= depth),
                       d.images != 0, d.groups != 0,
                       d.i0 + d.images <= d.img_total, d.g0 + d.groups <= d.grp_total])

    def _scalars_ok(self, m, d, scal):
        """The checks of what the scalar table gives, and the coefficients it makes."""
        cfg, f = self._cfg, self._cfg.acore
        shift, emax, sa, sb = scal
        conv_ok = (d.prog == Program.SUM) | ((shift >= 0) & (shift < 1 << cfg.shift_bits))
        emax_ok = (d.prog != Program.FRN_BP) | ((emax >= -128) & (emax <= 127))
        k = Signal(signed(34))
        m.d.comb += k.eq(sa - sb)
        sgd_ok = (d.prog != Program.SGD) | ((k <= f.coef_bits - 2) & (k >= -MAX_SHIFT))
        add_ok = (d.prog != Program.ADD) | all_of(
            [s <= MAX_SHIFT for s in self._add_shifts(m, sa, sb)])
        return all_of([conv_ok, emax_ok, sgd_ok, add_ok])

    def _add_shifts(self, m, ea, eb):
        """add_coefs: e = max(ea, eb) - (coef_bits - 2); operand x: k = ex - e, coefficient
        2^k (k >= 0) or 1 shifted right by -k. Returns the two right shifts (sa, sb) as
        34-bit values, and leaves the coefficients in self._add."""
        f = self._cfg.acore
        e = Signal(signed(34))
        m.d.comb += e.eq(Mux(ea > eb, ea, eb) - (f.coef_bits - 2))
        out, coefs = [], []
        for name, ex in (("a", ea), ("b", eb)):
            kx = Signal(signed(34), name=f"add_k{name}")
            m.d.comb += kx.eq(ex - e)
            sh = Signal(signed(34), name=f"add_sh{name}")
            c = Signal(signed(f.word_bits), name=f"add_c{name}")
            m.d.comb += [sh.eq(Mux(kx >= 0, 0, -kx)),
                         c.eq(Mux(kx >= 0, Const(1, signed(f.word_bits)) << kx[:5], 1))]
            out.append(sh)
            coefs.append((c, sh))
        self._add = coefs
        return out

    # --- what a call needs -------------------------------------------------------------------

    def _fetch(self, m, d, call, a, b, active):
        """The `param` port: each call's commands (issued and collected while the previous
        call runs; `active`, the FETCH state) into three slots of apus x 8 bytes. Returns
        (slots, 'fetched', start)."""
        cfg = self._cfg
        apus, P, lb = cfg.apus, cfg.pe_cols, line_bytes(cfg)
        lb_sh = lb.bit_length() - 1
        slot_bits = apus * 64
        slots = [Signal(slot_bits, name=f"slot{i}") for i in range(3)]
        start = Signal()
        g = d.g0 + b
        i = d.i0 + a
        pbase = d.param * lb
        pstride = ((d.grp_total * (apus * 4) + lb - 1) >> lb_sh) << lb_sh
        state = d.state * lb + (g * d.img_total + i) * (apus * 8)
        estride = ((d.grp_total * d.img_total * (apus * 8) + lb - 1) >> lb_sh) << lb_sh
        row = pbase + g * (apus * 4)
        frn_fp, frn_bp, sgd = (d.prog == p for p in (Program.FRN_FP, Program.FRN_BP,
                                                      Program.SGD))
        addrs = Array([Mux(frn_bp, row, Mux(sgd, pbase, row)),
                       Mux(frn_bp, state, row + pstride), Mux(frn_bp, state + estride,
                                                             row + 2 * pstride)])
        sizes = Array([Mux(sgd, -(-SGD_BYTES // P) * P, apus * 4),
                       Mux(frn_bp, apus * 8, apus * 4), Mux(frn_bp, apus * 8, apus * 4)])
        n_cmds = Signal(range(4))
        m.d.comb += n_cmds.eq(Mux(frn_bp | (frn_fp & (call != 0)), 3,
                                  Mux(sgd & (call == 0), 1, 0)))
        issued = Signal(range(4))
        got = Signal(range(4))
        lanes = Signal(range(slot_bits // (8 * P) + 1))
        with m.If(start):
            m.d.sync += [issued.eq(0), got.eq(0), lanes.eq(0)]
        cmd = self.param_cmd
        m.d.comb += [cmd.valid.eq(active & (issued < n_cmds)),
                     cmd.payload.addr.eq(addrs[issued]), cmd.payload.bytes.eq(sizes[issued])]
        with m.If(cmd.valid & cmd.ready):
            m.d.sync += issued.eq(issued + 1)
        w = self.param_words
        m.d.comb += w.ready.eq(active & (got < n_cmds))
        shifted = Signal(slot_bits + cfg.axi_data_bits)
        m.d.comb += shifted.eq(w.payload.data << (lanes * (8 * P)))
        with m.If(w.valid & w.ready):
            for s, slot in enumerate(slots):
                with m.If(got == s):
                    m.d.sync += slot.eq(Mux(lanes == 0, 0, slot) | shifted[:slot_bits])
            m.d.sync += lanes.eq(lanes + w.payload.units)
            with m.If(w.payload.last):
                m.d.sync += [got.eq(got + 1), lanes.eq(0)]
        fetched = active & (got == n_cmds) & (issued == n_cmds)
        return slots, fetched, start

    def _registers(self, m, d, slots, scal, b):
        """The register writes of a call: [(address, enabled, per-lane values)], and 'this
        set's values do not fit their registers'."""
        cfg, f = self._cfg, self._cfg.acore
        apus, W, C = cfg.apus, f.word_bits, f.coef_bits
        lane32 = lambda slot, k: slot.word_select(k, 32).as_signed()
        lane64 = lambda slot, k: slot.word_select(k, 64).as_signed()
        prog = d.prog
        is_ = lambda p: prog == p
        sgd_slot = slots[0]
        m_c, lr_c, lr_sh = (sgd_slot.word_select(j, 32).as_signed() for j in range(3))
        _, emax, sa, sb = scal
        k = Signal(signed(34))
        m.d.comb += k.eq(sa - sb)
        g_c = Mux(k >= 0, Const(1, signed(W)) << k[:5], 1)
        g_sh = Mux(k >= 0, 0, -k)
        (ca, sha), (cb, shb) = self._add

        def rshift_round(v, s):
            return (v + (1 << (s - 1))) >> s if s > 0 else v

        real = lambda k_: ((d.g0 + b) * apus + k_) < d.chans
        lanes = {name: [Signal(signed(W), name=f"{name}_{k_}") for k_ in range(apus)]
                 for name in ("r0", "r1", "r2", "r3", "r5", "e1", "e2")}
        bad = []
        for k_ in range(apus):
            gamma = lane32(slots[0], k_)
            gamma_c = saturate(m, rshift_round(gamma, f.param_frac - f.gamma_frac), C)[0]
            beta_q = rshift_round(lane32(slots[1], k_), f.param_frac - f.xhat_frac)
            tau_q = rshift_round(lane32(slots[2], k_), f.param_frac - f.xhat_frac)
            q, e = lane64(slots[1], k_), lane64(slots[2], k_)
            e_lane = Mux(real(k_), e, Mux(e < emax, e, emax))
            m.d.comb += [
                lanes["r0"][k_].eq(Mux(is_(Program.SGD), m_c, Mux(is_(Program.ADD), ca, 1))),
                lanes["r1"][k_].eq(Mux(is_(Program.SGD), g_c,
                                       Mux(is_(Program.ADD), cb, gamma_c))),
                lanes["r2"][k_].eq(Mux(is_(Program.SGD), -lr_c, beta_q)),
                lanes["r3"][k_].eq(tau_q),
                lanes["r5"][k_].eq(q),
                lanes["e1"][k_].eq(Mux(is_(Program.SGD), g_sh, sha)),
                lanes["e2"][k_].eq(Mux(is_(Program.SGD), lr_sh,
                                       Mux(is_(Program.ADD), shb, e_lane))),
            ]
            bad.append(is_(Program.FRN_BP) & (
                (q < -(1 << (C - 1))) | (q >= 1 << (C - 1)) | (e_lane < -128) |
                (e_lane > emax)))
        coef_bad = lambda v: (v < -(1 << (C - 1))) | (v >= 1 << (C - 1))
        bad.append(is_(Program.SGD) & (coef_bad(m_c) | coef_bad(-lr_c) | (lr_sh < 0) |
                                       (lr_sh > MAX_SHIFT)))
        vec = lambda vals: Cat(*vals)
        const = lambda v: Cat(*[v] * apus)
        n = Signal(signed(W))
        m.d.comb += n.eq(d.n)
        emax_w = Signal(signed(W))
        m.d.comb += emax_w.eq(emax)
        frn_fp, frn_bp = is_(Program.FRN_FP), is_(Program.FRN_BP)
        sgd, add = is_(Program.SGD), is_(Program.ADD)
        writes = [
            (0, frn_fp | frn_bp | sgd | add, vec(lanes["r0"])),
            (1, frn_fp | frn_bp | sgd | add, vec(lanes["r1"])),
            (2, frn_fp | sgd, vec(lanes["r2"])),
            (3, frn_fp, vec(lanes["r3"])),
            (4, frn_fp | frn_bp, const(n)),
            (5, frn_bp, vec(lanes["r5"])),
            (exp_reg(1), sgd | add, vec(lanes["e1"])),
            (exp_reg(2), frn_bp | sgd | add, vec(lanes["e2"])),
            (exp_reg(3), frn_bp, const(emax_w)),
            (N_REG, Const(1, 1), const(n)),
        ]
        bad_set = Signal()
        m.d.comb += bad_set.eq(any_of(bad))
        return writes, bad_set

    def _entry(self, m, d, call, last_call):
        """The ROM address of a call's program."""
        entry = self._ac.entry
        out = Signal(range(max(entry.values()) + 1))
        with m.Switch(d.prog):
            for p in READS:
                with m.Case(p):
                    m.d.comb += out.eq(entry[p.key])
        with m.If(d.prog == Program.FRN_FP):
            m.d.comb += out.eq(Mux(call == 0, entry["frn_stats"],
                                   Mux(last_call, entry["frn_fp_last"],
                                       entry["frn_fp_next"])))
        return out

    def _emax_tap(self, m, d):
        """FRN_FP's emitted exponents (the second word of each set) as they go to the
        results: their maximum over real lanes. Returns (any, max) registers."""
        cfg, W = self._cfg, self._cfg.acore.word_bits
        r = self._ac.r
        j = Signal()
        b = Signal.like(d.groups)
        any_ = Signal()
        top = Signal(signed(W))
        with m.If(self.desc.valid & self.desc.ready):
            m.d.sync += [j.eq(0), b.eq(0), any_.eq(0)]
        with m.If(r.valid & r.ready & (d.prog == Program.FRN_FP)):
            m.d.sync += j.eq(~j)
            with m.If(j):
                m.d.sync += b.eq(Mux(b == d.groups - 1, 0, b + 1))
                # (value, seen) pairs joined as a tree: log2(apus + 1) comparisons deep,
                # not a chain of apus (the maximum does not depend on the order)
                level = [(top, any_)] + [
                    (r.payload[k], ((d.g0 + b) * cfg.apus + k) < d.chans)
                    for k in range(cfg.apus)]
                depth = 0
                while len(level) > 1:
                    joined = []
                    for i in range(0, len(level) - 1, 2):
                        (x, sx), (y, sy) = level[i], level[i + 1]
                        v = Signal(signed(W), name=f"emax_best{depth}_{i // 2}")
                        sv = Signal(name=f"emax_seen{depth}_{i // 2}")
                        m.d.comb += [v.eq(Mux(sy & (~sx | (y > x)), y, x)), sv.eq(sx | sy)]
                        joined.append((v, sv))
                    level = joined + level[len(level) & ~1:]
                    depth += 1
                (best, seen), = level
                m.d.sync += [top.eq(best), any_.eq(seen)]
        return any_, top
