"""The A-Core's result streams: what an ACORE run produces, written to its tensors in DRAM
(`sim.golden.machine.Machine._outputs` places them).

Per element beat (`o`, every program but SUM, N per channel set): out0 as 32-bit words
(`raw0`) and as converter 0's codes (`code0`), out1 as converter 1's codes or 32-bit words
(`out1`, `out1_fmt`), the flags (`fl_out`, one byte per beat); per channel set, the words
the program EMITs (`r`, `hw.isa.apu.EMITS`) as 64-bit words (`emit`, word j of set (i, g)
at `j stride + (g img_total + i) apus 8`). An output whose line is 0 is not written. Each
output has its own DMA writer: one command per channel set (per emitted word for `emit`),
its beats as words packed from lane 0. `done` pulses once every beat and word is taken and
every write answered. A program no run starts, or a run of no channel set, is an ACORE
error.
"""

from amaranth.hdl import Cat, Module, Mux, Signal, signed
from amaranth.lib import data, fifo, stream, wiring
from amaranth.lib.wiring import In, Out

from .acore import acore_out_layout
from .config import Configured
from .dma import dma_cmd_layout, dma_word_layout
from .isa.apu import EMITS, Program
from .isa.program import READS, Fmt, Op, layout, line_bytes
from .isa.regs import ErrorCode
from .lockstep import all_of
from .sets import check_lanes, latch, set_commands, set_layout

__all__ = ["ResultStreams", "OUTPUTS"]

OUTPUTS = ("raw0", "code0", "out1", "fl", "emit")


def _beat_layout(lanes, lane_bytes):
    return data.StructLayout({"data": lanes * lane_bytes * 8, "lanes": range(lanes + 1)})


class _Splitter(Configured, wiring.Component):
    """Beats of at most `lanes` lanes -> words packed from lane 0 (a beat wider than the bus
    as several), through a FIFO: the beats come fanned out in step with other writers, whose
    readiness must not hang on this one's input."""

    def __init__(self, cfg, lanes, lane_bytes):
        self._lanes, self._lane = lanes, lane_bytes
        super().__init__(cfg, lambda cfg: {
            "i": In(stream.Signature(_beat_layout(lanes, lane_bytes))),
            "words": Out(stream.Signature(dma_word_layout(cfg, lane_bytes))),
            "busy": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        cfg = self._cfg
        lay = _beat_layout(self._lanes, self._lane)
        m.submodules.beats = beats = fifo.SyncFIFOBuffered(width=lay.size, depth=4)
        m.d.comb += [beats.w_data.eq(self.i.payload), beats.w_en.eq(self.i.valid),
                     self.i.ready.eq(beats.w_rdy)]
        head = Signal(lay)
        m.d.comb += head.eq(beats.r_data)
        U = cfg.axi_bytes // self._lane
        part = Signal(range(-(-self._lanes // U) + 1))
        left = Signal(range(self._lanes + 1))
        m.d.comb += left.eq(head.lanes - part * U)
        w = self.words.payload
        m.d.comb += [w.data.eq(head.data >> (part * U * self._lane * 8)),
                     w.units.eq(Mux(left < U, left, U)), w.last.eq(left <= U),
                     self.words.valid.eq(beats.r_rdy)]
        with m.If(self.words.valid & self.words.ready):
            with m.If(left <= U):
                m.d.comb += beats.r_en.eq(1)
                m.d.sync += part.eq(0)
            with m.Else():
                m.d.sync += part.eq(part + 1)
        # (level, not r_rdy: a beat just written shows on r_rdy only a cycle later)
        m.d.comb += self.busy.eq(beats.level != 0)
        return m


class _SetWriter(Configured, wiring.Component):
    """One DMA command per channel set of a run (`start`, `p`, `stride` bytes a set) and the
    beats as words; busy until every command is answered (`written`)."""

    def __init__(self, cfg, lanes, lane_bytes=None):
        self._lanes, self._lane = lanes, lane_bytes or cfg.pe_cols
        super().__init__(cfg, lambda cfg: {
            "start": In(1), "p": In(set_layout(cfg)), "stride": In(cfg.dram_addr_bits),
            "i": In(stream.Signature(_beat_layout(lanes, self._lane))),
            "cmd": Out(stream.Signature(dma_cmd_layout(cfg))),
            "words": Out(stream.Signature(dma_word_layout(cfg, self._lane))),
            "written": In(1), "busy": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        cfg = self._cfg
        p, go = latch(m, self)
        stride = Signal.like(self.stride)
        with m.If(self.start):
            m.d.sync += stride.eq(self.stride)
        issuing, _, taken = set_commands(m, cfg, self.cmd, go, p, stride, False)
        m.submodules.split = split = _Splitter(cfg, self._lanes, self._lane)
        wiring.connect(m, wiring.flipped(self.i), split.i)
        wiring.connect(m, split.words, wiring.flipped(self.words))
        pending = Signal(16)
        m.d.sync += pending.eq(pending + taken - self.written)
        m.d.comb += self.busy.eq(issuing | go | split.busy | (pending != 0))
        return m


class ResultStreams(Configured, wiring.Component):
    def __init__(self, cfg):
        def members(cfg):
            check_lanes(cfg, "results")
            if cfg.acc_bits > 32:
                raise ValueError(f"results leave as 32-bit words; acc_bits is {cfg.acc_bits}")
            out = {"run": In(stream.Signature(layout(cfg, Op.ACORE))),
                   "o": In(stream.Signature(acore_out_layout(cfg))),
                   "r": In(stream.Signature(data.ArrayLayout(signed(cfg.acore.word_bits),
                                                             cfg.apus))),
                   "done": Out(1), "error": Out(1), "code": Out(8)}
            for name in OUTPUTS:
                lane = 1 if name == "fl" else None
                out[f"{name}_cmd"] = Out(stream.Signature(dma_cmd_layout(cfg)))
                out[f"{name}_words"] = Out(stream.Signature(dma_word_layout(cfg, lane)))
                out[f"{name}_written"] = In(1)
            return out
        super().__init__(cfg, members)

    def elaborate(self, platform):
        m = Module()
        cfg = self._cfg
        apus, lb = cfg.apus, line_bytes(cfg)
        run = self.run.payload
        writers = {"raw0": _SetWriter(cfg, 4), "code0": _SetWriter(cfg, 1),
                   "out1": _SetWriter(cfg, 4), "fl": _SetWriter(cfg, 1, lane_bytes=1)}
        for name, w in writers.items():
            m.submodules[name] = w
            wiring.connect(m, w.cmd, wiring.flipped(getattr(self, f"{name}_cmd")))
            wiring.connect(m, w.words, wiring.flipped(getattr(self, f"{name}_words")))
            m.d.comb += w.written.eq(getattr(self, f"{name}_written"))

        # ---- a run: which outputs it writes, how many beats and words it will give
        d = Signal(layout(cfg, Op.ACORE))
        active = Signal()
        elements = Signal()                     # the program gives element beats
        emits = Signal(range(4))                # and EMITs this many words per set
        known = Signal()
        with m.Switch(run.prog):
            for prog in READS:
                with m.Case(prog):
                    m.d.comb += [known.eq(1), elements.eq(prog != Program.SUM),
                                 emits.eq(len(EMITS.get(prog, ())))]
        runnable = known & (run.images != 0) & (run.groups != 0)
        start = self.run.valid & ~active & runnable
        m.d.comb += self.run.ready.eq(~active)
        # Not a program a run starts, or no channel set: refused (as OperandStreams does).
        m.d.comb += [self.error.eq(self.run.valid & ~active & ~runnable),
                     self.code.eq(ErrorCode.ACORE.value)]
        sets = run.images * run.groups
        beats_left = Signal(len(run.images) + len(run.groups) + len(run.n))
        words_left = Signal(len(run.images) + len(run.groups) + 2)
        per_set = Signal(range(4))
        with m.If(start):
            m.d.sync += [d.eq(run), active.eq(1),
                         beats_left.eq(Mux(elements, sets * run.n, 0)),
                         words_left.eq(sets * emits), per_set.eq(emits)]
        sh = {"raw0": 2, "code0": 0, "out1": Mux(run.out1_fmt == Fmt.CODE, 0, 2)}
        for name, w in writers.items():
            line = run.fl_out if name == "fl" else getattr(run, name)
            stride = run.n if name == "fl" else (run.n << sh[name]) * apus
            m.d.comb += [w.start.eq(start & elements & (line != 0)), w.stride.eq(stride),
                         w.p.base.eq(line * lb), w.p.n.eq(run.n), w.p.images.eq(run.images),
                         w.p.groups.eq(run.groups), w.p.i0.eq(run.i0), w.p.g0.eq(run.g0),
                         w.p.grp_total.eq(run.grp_total)]
        self._elements(m, d, writers, beats_left)
        emitting = self._emits(m, d, start, words_left, per_set)

        # Done once every beat and word is in and every write answered; the writers
        # show busy from the cycle after start.
        settled = Signal()
        m.d.sync += settled.eq(start)
        quiet = all_of([~w.busy for w in writers.values()] + [~emitting])
        with m.If(active & ~settled & ~start & (beats_left == 0) & (words_left == 0) & quiet):
            m.d.sync += active.eq(0)
            m.d.comb += self.done.eq(1)
        return m

    def _elements(self, m, d, writers, left):
        """Each element beat to every writer the run uses, all in step."""
        apus = self._cfg.apus
        o = self.o.payload
        def words(field):
            """Each lane's value as a 32-bit word (the A-Core's results are <= 32 bits)."""
            out = [Signal(signed(32), name=f"{field}_{k}") for k in range(apus)]
            m.d.comb += [w.eq(getattr(o.raw[k], field)) for k, w in enumerate(out)]
            return Cat(*out)
        raw0, raw1 = words("out0"), words("out1")
        code0 = Cat(*[o.code0[k].as_value() for k in range(apus)])
        code1 = Cat(*[o.code1[k].as_value() for k in range(apus)])
        flags = Cat(*[o.raw[k].fl for k in range(apus)])
        code_out1 = d.out1_fmt == Fmt.CODE
        payload = {"raw0": (raw0, 4), "code0": (code0, 1),
                   "out1": (Mux(code_out1, code1, raw1), Mux(code_out1, 1, 4)),
                   "fl": (flags, 1)}
        lines = {"raw0": d.raw0, "code0": d.code0, "out1": d.out1, "fl": d.fl_out}
        uses = {name: lines[name] != 0 for name in lines}
        ready = all_of([~uses[n] | writers[n].i.ready for n in lines])
        m.d.comb += self.o.ready.eq((left != 0) & ready)
        take = self.o.valid & self.o.ready
        for name, w in writers.items():
            value, lanes = payload[name]
            m.d.comb += [w.i.valid.eq(take & uses[name]), w.i.payload.data.eq(value),
                         w.i.payload.lanes.eq(lanes)]
        with m.If(take):
            m.d.sync += left.eq(left - 1)

    def _emits(self, m, d, start, left, per_set):
        """Emitted words -> 64-bit words: word j of set (i, g) at `emit + j stride +
        (g img_total + i) apus 8` (`sim.golden.dram.emit_offset`). Returns 'writing'."""
        cfg = self._cfg
        apus, lb = cfg.apus, line_bytes(cfg)
        m.submodules.emit = split = _Splitter(cfg, 8, cfg.pe_cols)
        m.submodules.emit_cmds = cmds = fifo.SyncFIFOBuffered(
            width=len(self.emit_cmd.payload.as_value()), depth=4)
        wiring.connect(m, split.words, wiring.flipped(self.emit_words))
        a = Signal.like(d.images)
        b = Signal.like(d.groups)
        j = Signal(range(4))
        with m.If(start):
            m.d.sync += [a.eq(0), b.eq(0), j.eq(0)]
        total = d.grp_total * d.img_total * (apus * 8)
        stride = ((total + lb - 1) // lb) * lb
        addr = d.emit * lb + j * stride + ((d.g0 + b) * d.img_total + d.i0 + a) * (apus * 8)
        writes = d.emit != 0
        cmd = Signal(dma_cmd_layout(cfg))
        m.d.comb += [cmd.addr.eq(addr), cmd.bytes.eq(apus * 8), cmds.w_data.eq(cmd),
                     self.emit_cmd.payload.eq(cmds.r_data),
                     self.emit_cmd.valid.eq(cmds.r_rdy), cmds.r_en.eq(self.emit_cmd.ready)]
        wide = [Signal(signed(64), name=f"emit{k}") for k in range(apus)]
        m.d.comb += [w.eq(self.r.payload[k]) for k, w in enumerate(wide)]    # sign-extended
        m.d.comb += split.i.payload.data.eq(Cat(*wide))
        m.d.comb += split.i.payload.lanes.eq(8)
        ready = (left != 0) & (~writes | (cmds.w_rdy & split.i.ready))
        m.d.comb += self.r.ready.eq(ready)
        take = self.r.valid & ready
        m.d.comb += [cmds.w_en.eq(take & writes), split.i.valid.eq(take & writes)]
        with m.If(take):
            m.d.sync += left.eq(left - 1)
            with m.If(j == per_set - 1):
                m.d.sync += j.eq(0)
                with m.If(b == d.groups - 1):
                    m.d.sync += [b.eq(0), a.eq(a + 1)]
                with m.Else():
                    m.d.sync += b.eq(b + 1)
            with m.Else():
                m.d.sync += j.eq(j + 1)
        pending = Signal(16)
        m.d.sync += pending.eq(pending + (self.emit_cmd.valid & self.emit_cmd.ready)
                               - self.emit_written)
        busy = Signal()
        m.d.comb += busy.eq((cmds.level != 0) | split.busy | (pending != 0))
        return busy
