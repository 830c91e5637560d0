"""INT32 -> PINT conversion unit (paper Fig. 4b) with its LFSR and a max-abs tracker.

x (acc_bits, signed) arrives on `i`; I = x >> shift picks the segment shift sh in {0, d, k-2};
q = round(x / 2^(shift+sh)) to nearest-even or stochastically; t = sat(q << sh); two detectors
on t pick the code's field. `max_abs` and `next_shift` give the next pass its scale.
"""

from amaranth.hdl import Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .config import Configured
from .lfsr import Lfsr
from .lockstep import stages
from .pint import pint_layout, uniform

__all__ = ["PintConverter", "NEAREST_EVEN", "STOCHASTIC"]

NEAREST_EVEN, STOCHASTIC = 0, 1


class PintConverter(Configured, wiring.Component):
    """Stream converter, one value per cycle, `STAGES` register stages.

    `shift` and `stochastic` are held stable during a pass. In stochastic mode each accepted
    value takes one LFSR draw; `seed_load` reseeds. `clear_max` restarts the tracker (the
    value accepted in the same cycle counts towards the new maximum).
    """

    def __init__(self, cfg):
        super().__init__(cfg, lambda cfg: {
            "i": In(stream.Signature(signed(cfg.acc_bits))),
            "o": Out(stream.Signature(pint_layout(cfg.pint))),
            "shift": In(cfg.shift_bits),
            "stochastic": In(1),
            "seed": In(cfg.lfsr_bits), "seed_load": In(1),
            "clear_max": In(1),
            "max_abs": Out(cfg.acc_bits),
            "next_shift": Out(cfg.shift_bits),
        })

    STAGES = 2

    def elaborate(self, platform):
        m = Module()
        cfg, fmt = self._cfg, self._cfg.pint
        x = self.i.payload
        accept = self.i.valid & self.i.ready

        m.submodules.lfsr = lfsr = Lfsr(cfg)
        m.d.comb += [
            lfsr.seed.eq(self.seed), lfsr.load.eq(self.seed_load),
            lfsr.next.eq(accept & self.stochastic),
        ]

        # Two register stages (`STAGES`): the segment, shift and rounding bias of x, then the
        # rounding add, the saturation and the code (31 cells at most between registers,
        # 52 in one stage: docs/area.md).
        ready, load, valid = stages(m, self.i.valid, self.o.ready, self.STAGES, "conv")
        m.d.comb += [self.i.ready.eq(ready), self.o.valid.eq(valid[-1])]

        # Stage 1. Segment from the integer part: the grid's spacing around x / 2^shift.
        floor = Signal(signed(cfg.acc_bits))
        m.d.comb += floor.eq(x >> self.shift)
        lo_a, hi_a = fmt.low_range
        lim_b = -fmt.mid_range[0]
        in_low = (floor >= lo_a) & (floor <= hi_a)
        in_mid = (floor >= -lim_b) & (floor < lim_b)
        seg = Signal(range(fmt.k - 1))
        m.d.comb += seg.eq(Mux(in_low, 0, Mux(in_mid, fmt.d, fmt.k - 2)))

        # One adder rounds both ways: q = (x + bias) >> p, with p = shift + seg.
        max_p = (1 << cfg.shift_bits) - 1 + fmt.k - 2
        p = Signal(range(max_p + 1))
        m.d.comb += p.eq(self.shift + seg)
        wide = cfg.acc_bits + 2
        xw = Signal(signed(max(wide, max_p + 2)))
        m.d.comb += xw.eq(x)
        # Nearest-even: add 2^(p-1) - 1 plus the lsb of floor(x / 2^p); nothing when p = 0.
        rne_bias = Signal(unsigned(max_p + 1))
        with m.If(p != 0):
            m.d.comb += rne_bias.eq((Const(1, max_p + 1) << p)[1:] - 1 + xw.bit_select(p, 1))
        # Stochastic: r = (rnd << p) >> round_bits, uniform over [0, 2^p) when p <= round_bits.
        sto_bias = Signal(unsigned(max_p + 1))
        m.d.comb += sto_bias.eq((lfsr.rnd << p) >> cfg.round_bits)

        s_x, s_bias = Signal.like(xw, name="s_x"), Signal.like(rne_bias, name="s_bias")
        s_p, s_seg = Signal.like(p, name="s_p"), Signal.like(seg, name="s_seg")
        with m.If(load[0]):
            m.d.sync += [s_x.eq(xw), s_bias.eq(Mux(self.stochastic, sto_bias, rne_bias)),
                         s_p.eq(p), s_seg.eq(seg)]

        # Stage 2.
        q = Signal(signed(xw.shape().width + 1))
        m.d.comb += q.eq((s_x + s_bias) >> s_p)
        # Only the coarsest segment can leave its v range; lower segments may round up onto
        # the first point of the next one (8 -> 1 x 2^d, 512 -> 8 x 2^(k-2)), still on the grid.
        vmax = (1 << (fmt.k - 2)) - 1
        qs = Signal(signed(fmt.k))
        with m.If((s_seg == fmt.k - 2) & (q > vmax)):
            m.d.comb += qs.eq(vmax)
        with m.Elif((s_seg == fmt.k - 2) & (q < -vmax - 1)):
            m.d.comb += qs.eq(-vmax - 1)
        with m.Else():
            m.d.comb += qs.eq(q)
        t = Signal(signed(fmt.t_bits))
        m.d.comb += t.eq(qs << s_seg)

        # Two detectors on t choose the canonical field.
        t_low = uniform(t[fmt.d:])
        t_mid = uniform(t[fmt.k - 2 + fmt.d:])
        code = Signal(pint_layout(fmt))
        with m.If(t_low):
            m.d.comb += code.v.eq(t[:fmt.v_bits])
        with m.Elif(t_mid):
            m.d.comb += [code.v.eq(t[fmt.d:fmt.d + fmt.v_bits]), code.flag.eq(1)]
        with m.Else():
            m.d.comb += code.v.eq(t[fmt.k - 2:fmt.k - 2 + fmt.v_bits])
        with m.If(load[-1]):
            m.d.sync += self.o.payload.eq(code)

        # Max-abs tracker and the shift it implies: max(0, bitlen(max_abs - 1) - (t_bits - 1)).
        mag = Signal(cfg.acc_bits)
        m.d.comb += mag.eq(Mux(x < 0, -x, x))
        with m.If(self.clear_max):
            m.d.sync += self.max_abs.eq(Mux(accept, mag, 0))
        with m.Elif(accept & (mag > self.max_abs)):
            m.d.sync += self.max_abs.eq(mag)
        below = Signal(cfg.acc_bits)
        m.d.comb += below.eq(self.max_abs - 1)
        bitlen = Signal(range(cfg.acc_bits + 1))
        for i in range(cfg.acc_bits):       # later assignments win: the highest set bit
            with m.If(below[i]):
                m.d.comb += bitlen.eq(i + 1)
        with m.If((self.max_abs != 0) & (bitlen > fmt.t_bits - 1)):
            m.d.comb += self.next_shift.eq(bitlen - (fmt.t_bits - 1))
        return m
