"""The C-Core's unit: a TILE descriptor (`hw.isa.program.TileOp`) -> its `nblk` tiles, one
after another, into the C-Core (`TileOp.tiles`: FP and BP advance the channel block and the
weight block and keep `first` for the first, `emit` for the last; WG advances the channel
block and the partial-sum base by pe_cols). The next descriptor is taken once this one's
tiles are all handed over, so the C-Core's pipeline runs across descriptors; `done` pulses
once per descriptor, in order, when the C-Core has retired all its tiles (up to `depth`
descriptors outstanding). A tile the C-Core refuses (it never retires) and `nblk` = 0 (the
layout can hold it) are TILE_REFUSED errors; the refused one is the descriptor taken last.
Each emitting tile, as handed over, also goes out on `emitted` (through a FIFO of `depth`)
for the STORE unit, which places the sums the C-Core emits by its fields."""

from amaranth.hdl import Module, Signal
from amaranth.lib import fifo, stream, wiring
from amaranth.lib.wiring import In, Out

from .config import Configured
from .isa.modes import Phase
from .isa.program import Op, layout
from .isa.regs import ErrorCode
from .isa.tile import ccore_tile_layout

__all__ = ["TileUnit"]


class TileUnit(Configured, wiring.Component):
    def __init__(self, cfg, depth=4):
        if not 1 <= depth <= 64:
            raise ValueError(f"depth must be in [1, 64], not {depth}")
        self._depth = depth
        super().__init__(cfg, lambda cfg: {
            "desc": In(stream.Signature(layout(cfg, Op.TILE))),
            "tile": Out(stream.Signature(ccore_tile_layout(cfg))),
            "emitted": Out(stream.Signature(ccore_tile_layout(cfg))),
            "retired": In(1), "refused": In(1),
            "done": Out(1), "error": Out(1), "code": Out(8),
        })

    def elaborate(self, platform):
        m = Module()
        cfg = self._cfg
        d = Signal(layout(cfg, Op.TILE))
        sending = Signal()                   # d's tiles are being handed over
        sent = Signal.like(d.nblk)           # tiles of d handed to the C-Core
        back = Signal.like(d.nblk)           # tiles of the oldest outstanding one retired
        # The tile counts of the descriptors not yet retired, oldest first.
        m.submodules.outstanding = owed = fifo.SyncFIFO(width=len(d.nblk), depth=self._depth)
        m.d.comb += self.desc.ready.eq(~sending & owed.w_rdy)
        empty = Signal()                     # nblk = 0: refused, never outstanding
        with m.If(self.desc.valid & self.desc.ready):
            with m.If(self.desc.payload.nblk == 0):
                m.d.comb += empty.eq(1)
            with m.Else():
                m.d.sync += [d.eq(self.desc.payload), sending.eq(1), sent.eq(0)]
                m.d.comb += [owed.w_data.eq(self.desc.payload.nblk), owed.w_en.eq(1)]
        t = self.tile.payload
        base = d.tile
        wg = base.mode.phase == Phase.WG
        last = sent == d.nblk - 1
        m.d.comb += [t.eq(base), t.cb.eq(base.cb + sent)]
        with m.If(wg):
            m.d.comb += t.pbase.eq(base.pbase + sent * cfg.pe_cols)
        with m.Else():
            m.d.comb += [t.wblk.eq(base.wblk + sent), t.first.eq(base.first & (sent == 0)),
                         t.emit.eq(base.emit & last)]
        # An emitting tile goes only when the STORE side has room for its fields.
        m.submodules.emits = emits = fifo.SyncFIFOBuffered(width=t.shape().size,
                                                           depth=self._depth)
        m.d.comb += [self.tile.valid.eq(sending & (~t.emit | emits.w_rdy)),
                     emits.w_data.eq(t), emits.w_en.eq(self.tile.valid & self.tile.ready
                                                      & t.emit),
                     self.emitted.payload.eq(emits.r_data),
                     self.emitted.valid.eq(emits.r_rdy), emits.r_en.eq(self.emitted.ready)]
        with m.If(self.tile.valid & self.tile.ready):
            m.d.sync += sent.eq(sent + 1)
            with m.If(last):
                m.d.sync += sending.eq(0)
        # (the C-Core retires tiles in the order it took them)
        with m.If(owed.r_rdy & self.retired):
            with m.If(back == owed.r_data - 1):
                m.d.sync += back.eq(0)
                m.d.comb += [owed.r_en.eq(1), self.done.eq(1)]
            with m.Else():
                m.d.sync += back.eq(back + 1)
        # The C-Core's `error` is sticky: its rising edge is a refused tile.
        was = Signal()
        m.d.sync += was.eq(self.refused)
        m.d.comb += [self.error.eq((self.refused & ~was) | empty),
                     self.code.eq(ErrorCode.TILE_REFUSED.value)]
        return m
