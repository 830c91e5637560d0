"""The A-Core's operand streams: an ACORE run's operand tensors (x0, x1, x2 and the flag
bitmap, as `hw.isa.program.READS` says for its program) read from DRAM and zipped into the
A-Core's input beats.

A run covers `images x groups` channel sets, image-major from (i0, g0). Set (i, g) of a
tensor of `eb`-byte elements starts at `line + (i grp_total + g) N apus eb` and holds its N
beats back to back, a beat being one element per APU (`sim.golden.dram`); a flag bitmap has
one byte per beat (bit k: APU k). Each operand has its own DMA read port and makes one
command per set (the bitmap's widened to whole lanes, the extra bytes dropped); its words
are cut into beats: CODE one lane, decoded (`pint_value`); I32 four lanes; I64 eight,
saturated to a word. A beat leaves when every operand the program reads has one; `done`
pulses with the run's last. A program no run starts is an ACORE error.
"""

from amaranth.hdl import Cat, Module, Mux, Signal, signed
from amaranth.lib import data, fifo, stream, wiring
from amaranth.lib.wiring import In, Out

from .apu import apu_in_layout
from .config import Configured
from .dma import dma_cmd_layout, dma_word_layout
from .isa.program import READS, Fmt, Op, layout, line_bytes
from .isa.regs import ErrorCode
from .pint import pint_value
from .sets import check_lanes, latch, set_commands, set_layout

__all__ = ["OperandStreams", "OPERANDS"]

OPERANDS = ("x0", "x1", "x2", "fl")


class _DataReader(Configured, wiring.Component):
    """Words of CODE, I32 or I64 elements -> beats of one word per APU."""

    def __init__(self, cfg):
        super().__init__(cfg, lambda cfg: {
            "start": In(1), "p": In(set_layout(cfg)),
            "cmd": Out(stream.Signature(dma_cmd_layout(cfg))),
            "words": In(stream.Signature(dma_word_layout(cfg))),
            "o": Out(stream.Signature(data.ArrayLayout(signed(cfg.acore.word_bits),
                                                       cfg.apus))),
            "busy": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        cfg = self._cfg
        P, LB = cfg.pe_cols, cfg.pe_cols * 8
        U = cfg.axi_bytes // P
        p, go = latch(m, self)
        issuing, _, _ = set_commands(m, cfg, self.cmd, go, p, (p.n * cfg.apus) << p.eb_sh, False)

        cur = Signal(dma_word_layout(cfg))
        have = Signal()
        pos = Signal(range(U + 1))
        lanes = Signal(range(9))
        m.d.comb += lanes.eq(1 << p.eb_sh)          # an element of eb bytes per APU
        take = Mux(lanes <= U, lanes, U)            # lanes per step: a slice, or a word
        beat = Signal(8 * LB)
        got = Signal(range(9))
        # (lanes above `take` are either zeros, past the word's end, or never read: a slice
        # is a whole beat whose elements sit in its first `lanes` lanes)
        chunk = Signal(8 * LB)
        m.d.comb += chunk.eq(cur.data >> (pos * LB))
        filled = Signal(8 * LB)
        m.d.comb += filled.eq(beat | (chunk << (got * LB)))
        complete = got + take == lanes
        step = have & (~complete | ~self.o.valid | self.o.ready)
        used = step & (pos + take >= cur.units)
        m.d.comb += self.words.ready.eq(~have | used)
        with m.If(self.words.valid & self.words.ready):
            m.d.sync += [cur.eq(self.words.payload), have.eq(1), pos.eq(0)]
        with m.Elif(used):
            m.d.sync += have.eq(0)
        with m.If(step & ~used):
            m.d.sync += pos.eq(pos + take)
        with m.If(self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        with m.If(step):
            with m.If(complete):
                m.d.sync += [beat.eq(0), got.eq(0), self.o.valid.eq(1)]
                m.d.sync += [self.o.payload[k].eq(self._element(m, filled, k, p.eb_sh))
                             for k in range(cfg.apus)]
            with m.Else():
                m.d.sync += [beat.eq(filled), got.eq(got + take)]
        m.d.comb += self.busy.eq(issuing | have | self.o.valid | go)
        return m


    def _element(self, m, beat, k, eb_sh):
        """APU k's element of a beat, as a word: decoded, sign-extended or saturated."""
        cfg = self._cfg
        wb = cfg.acore.word_bits
        code = beat.word_select(k, 8)
        i32 = beat.word_select(k, 32).as_signed()
        i64 = beat.word_select(k, 64).as_signed() if 64 * cfg.apus <= len(beat) else i32
        top, bottom = (1 << (wb - 1)) - 1, -(1 << (wb - 1))
        sat = Mux(i64 > top, top, Mux(i64 < bottom, bottom, i64))
        out = Signal(signed(wb), name=f"element{k}")
        m.d.comb += out.eq(Mux(eb_sh == 0, pint_value(code, cfg.pint),
                               Mux(eb_sh == 2, i32, sat)))
        return out


class _FlagReader(Configured, wiring.Component):
    """A flag bitmap's bytes (one per beat) -> beats of one bit per APU."""

    def __init__(self, cfg):
        super().__init__(cfg, lambda cfg: {
            "start": In(1), "p": In(set_layout(cfg)),
            "cmd": Out(stream.Signature(dma_cmd_layout(cfg))),
            "words": In(stream.Signature(dma_word_layout(cfg))),
            "o": Out(stream.Signature(cfg.apus)),
            "busy": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        cfg = self._cfg
        P = cfg.pe_cols
        p, go = latch(m, self)
        issuing, skip, taken = set_commands(m, cfg, self.cmd, go, p, p.n, True)
        # Each command's leading bytes to drop, in order.
        m.submodules.skips = skips = fifo.SyncFIFOBuffered(width=len(skip), depth=8)
        m.d.comb += [skips.w_data.eq(skip), skips.w_en.eq(taken)]
        with m.If(~skips.w_rdy):
            m.d.comb += self.cmd.valid.eq(0)

        cur = Signal(dma_word_layout(cfg))
        have = Signal()
        first = Signal(init=1)                  # the next word starts a command
        pos = Signal(range(cfg.axi_bytes + 1))
        left = Signal.like(p.n)                 # beats of the command still to give
        nbytes = cur.units * P
        step = have & (left != 0) & (~self.o.valid | self.o.ready)
        drop = have & (left == 0)               # bytes after the set's last beat
        used = (step & (pos + 1 >= nbytes)) | drop
        m.d.comb += self.words.ready.eq((~have | used) & (~first | skips.r_rdy))
        with m.If(self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        with m.If(step):
            m.d.sync += [self.o.valid.eq(1), self.o.payload.eq(cur.data.word_select(pos, 8)),
                         left.eq(left - 1)]
            with m.If(~used):
                m.d.sync += pos.eq(pos + 1)
        # (after the step: a command's first word may come in the cycle its predecessor's
        # last beat leaves, and its count must win)
        with m.If(self.words.valid & self.words.ready):
            m.d.sync += [cur.eq(self.words.payload), have.eq(1), first.eq(self.words.payload.last)]
            with m.If(first):
                m.d.comb += skips.r_en.eq(1)
                m.d.sync += [pos.eq(skips.r_data), left.eq(p.n)]
            with m.Else():
                m.d.sync += pos.eq(0)
        with m.Elif(used):
            m.d.sync += have.eq(0)
        m.d.comb += self.busy.eq(issuing | have | self.o.valid | ~first | go)
        return m


class OperandStreams(Configured, wiring.Component):
    def __init__(self, cfg):
        def members(cfg):
            check_lanes(cfg, "operands")
            out = {"run": In(stream.Signature(layout(cfg, Op.ACORE))),
                   "beats": Out(stream.Signature(data.ArrayLayout(apu_in_layout(cfg),
                                                                  cfg.apus))),
                   "done": Out(1), "error": Out(1), "code": Out(8)}
            for name in OPERANDS:
                out[f"{name}_cmd"] = Out(stream.Signature(dma_cmd_layout(cfg)))
                out[f"{name}_words"] = In(stream.Signature(dma_word_layout(cfg)))
            return out
        super().__init__(cfg, members)

    def elaborate(self, platform):
        m = Module()
        cfg = self._cfg
        readers = {}
        for name in OPERANDS:
            r = _FlagReader(cfg) if name == "fl" else _DataReader(cfg)
            m.submodules[name] = readers[name] = r
            wiring.connect(m, r.cmd, wiring.flipped(getattr(self, f"{name}_cmd")))
            wiring.connect(m, wiring.flipped(getattr(self, f"{name}_words")), r.words)

        d = self.run.payload
        active = Signal()
        reads = {name: Signal(name=f"reads_{name}") for name in OPERANDS}
        fmts = {name: Signal(Fmt, name=f"fmt_{name}") for name in OPERANDS}
        known = Signal()
        with m.Switch(d.prog):
            for prog, table in READS.items():
                with m.Case(prog):
                    m.d.comb += known.eq(1)
                    for name, fmt in table.items():
                        f = getattr(d, f"{name}_fmt") if fmt is None else fmt
                        m.d.comb += fmts[name].eq(f)
        runnable = known & (d.images != 0) & (d.groups != 0)
        start = self.run.valid & ~active & runnable
        m.d.comb += self.run.ready.eq(~active)
        lb = line_bytes(cfg)
        held = {name: Signal(name=f"present_{name}") for name in OPERANDS}
        for name, r in readers.items():
            line = d.fl_in if name == "fl" else getattr(d, name)
            sh = Mux(fmts[name] == Fmt.CODE, 0, Mux(fmts[name] == Fmt.I32, 2, 3))
            m.d.comb += [reads[name].eq(fmts[name] != Fmt.NONE),
                         r.p.base.eq(line * lb), r.p.eb_sh.eq(sh), r.p.n.eq(d.n),
                         r.p.images.eq(d.images), r.p.groups.eq(d.groups), r.p.i0.eq(d.i0),
                         r.p.g0.eq(d.g0), r.p.grp_total.eq(d.grp_total),
                         r.start.eq(start & reads[name])]
            with m.If(start):
                m.d.sync += held[name].eq(reads[name])

        # The zip: a beat when every operand read has one.
        left = Signal(len(d.images) + len(d.groups) + len(d.n))
        with m.If(start):
            m.d.sync += [active.eq(1), left.eq(d.images * d.groups * d.n)]
        ready_all = Cat(*[~held[n] | readers[n].o.valid for n in OPERANDS]).all()
        out = self.beats.payload
        m.d.comb += self.beats.valid.eq(active & ready_all)
        for name, r in readers.items():
            m.d.comb += r.o.ready.eq(self.beats.valid & self.beats.ready & held[name])
            for k in range(cfg.apus):
                if name == "fl":
                    m.d.comb += out[k].fl.eq(Mux(held[name], r.o.payload[k], 0))
                else:
                    m.d.comb += getattr(out[k], name).eq(Mux(held[name], r.o.payload[k], 0))
        with m.If(self.beats.valid & self.beats.ready):
            m.d.sync += left.eq(left - 1)
            with m.If(left == 1):
                m.d.sync += active.eq(0)
                m.d.comb += self.done.eq(1)
        # Not a program a run starts, or no channel set: refused, nothing read.
        m.d.comb += [self.error.eq(self.run.valid & ~active & ~runnable),
                     self.code.eq(ErrorCode.ACORE.value)]
        return m
