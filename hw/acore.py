"""A-Core (paper IV-C): `apus` APUs in lockstep, one output channel each, and the PINT
conversion of their results.

Each APU runs the same program on its own channel (beats carry one element per APU, as the
C-Core delivers one output channel per cluster). Results leave as raw 32-bit words (master
weights, velocities, x_hat for the host) and as PINT codes through two converters per lane:
out0 with the tensor's in-hindsight shift (`shift0`, nearest or stochastic), out1 with a
fixed shift (`shift1`, nearest: x_hat kept for backward). `next_shift` is the shift the next
pass over out0's tensor should use: the largest of the lanes'.
"""

from amaranth.hdl import Module, Mux, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .apu import Apu, apu_in_layout, apu_out_layout
from .apu_programs import rom
from .config import Configured
from .convert import PintConverter
from .lockstep import any_of, fan_out, gather, stages
from .pint import pint_layout
from .reuse import Reused

__all__ = ["ACore", "acore_out_layout", "acore_wr_layout"]


def acore_wr_layout(cfg):
    return data.StructLayout({"addr": 4, "data": data.ArrayLayout(signed(cfg.acore.word_bits),
                                                                  cfg.apus)})


def acore_out_layout(cfg):
    lanes = lambda shape: data.ArrayLayout(shape, cfg.apus)
    return data.StructLayout({"raw": lanes(apu_out_layout(cfg)),
                              "code0": lanes(pint_layout(cfg.pint)),
                              "code1": lanes(pint_layout(cfg.pint))})


def _members(cfg, rom_words):
    return {
        "cmd": In(stream.Signature(range(rom_words))),
        "wr": In(stream.Signature(acore_wr_layout(cfg))),
        "i": In(stream.Signature(data.ArrayLayout(apu_in_layout(cfg), cfg.apus))),
        "o": Out(stream.Signature(acore_out_layout(cfg))),
        "r": Out(stream.Signature(data.ArrayLayout(signed(cfg.acore.word_bits),
                                                   cfg.apus))),
        "shift0": In(cfg.shift_bits), "stochastic0": In(1), "shift1": In(cfg.shift_bits),
        "seed": In(data.ArrayLayout(cfg.lfsr_bits, cfg.apus)), "seed_load": In(cfg.apus),
        "clear_max": In(1), "next_shift": Out(cfg.shift_bits),
        "busy": Out(1), "error": Out(1),
    }


class ACore(Configured, wiring.Component):
    def __init__(self, cfg):
        def members(cfg):
            words, self.entry = rom(cfg)
            return _members(cfg, len(words))
        super().__init__(cfg, members)

    def elaborate(self, platform):
        m = Module()
        cfg = self._cfg
        apus = []
        for k in range(cfg.apus):
            apu = Reused(lambda: Apu(cfg), "apu", cfg)
            m.submodules[f"apu{k}"] = apu
            apus.append(apu)

        fan_out(m, self.cmd, [a.cmd for a in apus])
        fan_out(m, self.wr, [a.wr for a in apus])
        fan_out(m, self.i, [a.i for a in apus])
        for k, a in enumerate(apus):
            m.d.comb += [a.cmd.payload.eq(self.cmd.payload), a.wr.payload.addr.eq(
                self.wr.payload.addr), a.wr.payload.data.eq(self.wr.payload.data[k]),
                a.i.payload.eq(self.i.payload[k])]
        gather(m, [a.r for a in apus], self.r)
        m.d.comb += [self.r.payload[k].eq(a.r.payload) for k, a in enumerate(apus)]
        m.d.comb += self.error.eq(any_of(a.error for a in apus))

        # APU results -> per lane: converter 0, converter 1 and a raw register, in step.
        joined = stream.Signature(data.ArrayLayout(apu_out_layout(cfg), cfg.apus)).create()
        gather(m, [a.o for a in apus], joined)
        m.d.comb += [joined.payload[k].eq(a.o.payload) for k, a in enumerate(apus)]
        convs = []
        for k in range(cfg.apus):
            for j in range(2):
                c = Reused(lambda: PintConverter(cfg), "pint_converter", cfg)
                m.submodules[f"conv{k}_{j}"] = c
                convs.append(c)
        raw = stream.Signature(data.ArrayLayout(apu_out_layout(cfg), cfg.apus)).create()
        raw_in = stream.Signature(data.ArrayLayout(apu_out_layout(cfg), cfg.apus)).create()
        fan_out(m, joined, [c.i for c in convs] + [raw_in])
        m.d.comb += raw_in.payload.eq(joined.payload)
        # The raw registers have the converters' handshake, so the lanes stay in step.
        ready, load, valid = stages(m, raw_in.valid, raw.ready, PintConverter.STAGES, "raw")
        m.d.comb += [raw_in.ready.eq(ready), raw.valid.eq(valid[-1])]
        held = raw_in.payload
        for j in range(PintConverter.STAGES):
            reg = Signal.like(raw.payload, name=f"raw{j}") if j < PintConverter.STAGES - 1 \
                else raw.payload
            with m.If(load[j]):
                m.d.sync += reg.eq(held)
            held = reg
        for k in range(cfg.apus):
            c0, c1 = convs[2 * k], convs[2 * k + 1]
            m.d.comb += [
                c0.i.payload.eq(joined.payload[k].out0), c1.i.payload.eq(joined.payload[k].out1),
                c0.shift.eq(self.shift0), c0.stochastic.eq(self.stochastic0),
                c1.shift.eq(self.shift1), c1.stochastic.eq(0),
                c0.seed.eq(self.seed[k]), c0.seed_load.eq(self.seed_load[k]),
                c0.clear_max.eq(self.clear_max),
                self.o.payload.code0[k].eq(c0.o.payload), self.o.payload.code1[k].eq(c1.o.payload),
            ]
        gather(m, [c.o for c in convs] + [raw], self.o)
        m.d.comb += self.o.payload.raw.eq(raw.payload)
        # Busy until the last result has left: an APU may be done while its last words
        # still wait in the converters (the raw register is in step with them) under
        # backpressure on `o`.
        m.d.comb += self.busy.eq(any_of([a.busy for a in apus] + [joined.valid] + valid))

        shift = convs[0].next_shift
        for c in convs[2::2]:
            nxt = Signal.like(shift)
            m.d.comb += nxt.eq(Mux(c.next_shift > shift, c.next_shift, shift))
            shift = nxt
        m.d.comb += self.next_shift.eq(shift)
        return m
