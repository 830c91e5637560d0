"""Partial-sum buffer: accumulates results over input-channel tiles, one bank per lane.

A beat on `acc` carries `lanes` results (value saturated to acc_bits, ovf = it was clamped)
for one address: with `first` each lane's sum restarts at the value, otherwise the value is
added to what the address holds; with `emit` the new sums also leave on `o` (the last
input-channel tile streams its results out as it computes them, with no read-out pass).
Sums saturate at psum_sum_bits (35: exact for any 8 tiles of 32-bit results, and a 36-bit
word with the flag fills a RAMB18), with a sticky flag for a clamped input or sum; `rd` reads
an address back through `o` as value saturated to acc_bits and ovf = (flagged, or the sum
does not fit): a result is exact or flagged. Bit-exact with
`sim.golden.psum_buffer`. The read-modify-write forwards the sum a beat just wrote, so
beats may hit the same address back to back.
"""

from amaranth.hdl import Cat, Module, Mux, Signal, signed
from amaranth.lib import data, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from .config import Configured
from .fields import field
from .mac import saturate

__all__ = ["PsumBuffer", "psum_lane_layout", "psum_acc_layout"]


def psum_lane_layout(cfg):
    return data.StructLayout({"value": signed(cfg.acc_bits), "ovf": 1})


def psum_acc_layout(cfg, lanes):
    return data.StructLayout({"first": 1, "emit": 1, "addr": cfg.psum_bits,
                              "lanes": data.ArrayLayout(psum_lane_layout(cfg), lanes)})


def default_lanes(cfg):
    """One lane per result a beat of the array can deliver to one output channel group."""
    return cfg.clusters * cfg.wpus * cfg.macs_per_pe


class PsumBuffer(Configured, wiring.Component):
    def __init__(self, cfg, lanes=None):
        def members(cfg):
            self._lanes = default_lanes(cfg) if lanes is None else lanes
            if not isinstance(self._lanes, int) or not 1 <= self._lanes <= 1024:
                raise ValueError(f"lanes must be an int in [1, 1024], not {self._lanes!r}")
            return {
                "acc": In(stream.Signature(psum_acc_layout(cfg, self._lanes))),
                "rd": In(stream.Signature(cfg.psum_bits)),
                "o": Out(stream.Signature(data.ArrayLayout(psum_lane_layout(cfg),
                                                           self._lanes))),
            }
        super().__init__(cfg, members)

    @property
    def lanes(self):
        return self._lanes

    def elaborate(self, platform):
        m = Module()
        cfg = self._cfg
        depth = 1 << cfg.psum_bits
        word = data.StructLayout({"sum": signed(cfg.psum_sum_bits), "ovf": 1})

        # Accumulate: stage 1 reads the old sums; stage 2 adds and writes back. Reads on
        # `rd` go to the same read port when no accumulation is being accepted.
        s1 = Signal(psum_acc_layout(cfg, self._lanes))
        s1_valid = Signal()
        rd_s1 = Signal()                # stage 1 holds a read for `o`
        adv = Signal()
        m.d.comb += adv.eq(~self.o.valid | self.o.ready)
        m.d.comb += [self.acc.ready.eq(adv), self.rd.ready.eq(adv & ~self.acc.valid)]
        take_acc = self.acc.valid & self.acc.ready
        take_rd = self.rd.valid & self.rd.ready
        addr = Mux(take_acc, self.acc.payload.addr, self.rd.payload)
        with m.If(adv):
            m.d.sync += [s1.eq(self.acc.payload), s1_valid.eq(take_acc), rd_s1.eq(take_rd)]
            with m.If(take_rd):
                # A read goes down the accumulation path as an add of zero that is not
                # written back: its sums come out as they are, with no second output
                # multiplexer per lane (the registers' synchronous reset clears the lanes).
                m.d.sync += [s1.addr.eq(self.rd.payload), s1.first.eq(0), s1.emit.eq(0),
                             s1.lanes.eq(0)]

        # Forwarding: the last sums written, per lane, and where.
        last_addr = Signal(cfg.psum_bits)
        last_valid = Signal()
        outs = []
        for lane in range(self._lanes):
            mem = memory.Memory(shape=word, depth=depth, init=[])
            m.submodules[f"bank{lane}"] = mem
            rp, wp = mem.read_port(), mem.write_port()
            m.d.comb += [rp.addr.eq(addr), rp.en.eq(adv)]
            last = Signal(word, name=f"last{lane}")
            old = Signal(word, name=f"old{lane}")
            m.d.comb += old.eq(Mux(last_valid & (last_addr == s1.addr), last, rp.data))
            x = field(s1, "lanes", lane)          # (one slice: see hw.fields)
            new = Signal(word, name=f"new{lane}")
            total, clamped = saturate(m, old.sum + x.value, cfg.psum_sum_bits)
            m.d.comb += [
                new.sum.eq(Mux(s1.first, x.value, total)),
                new.ovf.eq(x.ovf | (~s1.first & (old.ovf | clamped))),
                wp.addr.eq(s1.addr), wp.data.eq(new), wp.en.eq(adv & s1_valid),
            ]
            with m.If(adv & s1_valid):
                m.d.sync += last.eq(new)
            # Out: an emitting accumulation's new sum, or a read's (its old one plus zero).
            value, over = saturate(m, new.sum, cfg.acc_bits)
            out = Signal(psum_lane_layout(cfg), name=f"out{lane}")    # (o is all lanes')
            with m.If(adv):
                m.d.sync += [out.value.eq(value), out.ovf.eq(new.ovf | over)]
            outs.append(out)
        m.d.comb += self.o.payload.eq(Cat(*outs))
        with m.If(adv):
            m.d.sync += self.o.valid.eq(rd_s1 | (s1_valid & s1.emit))
            with m.If(s1_valid):
                m.d.sync += [last_addr.eq(s1.addr), last_valid.eq(1)]
        return m
