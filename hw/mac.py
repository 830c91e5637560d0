"""PINT MAC: a PINT multiplier feeding an exact accumulator, read out saturated to acc_bits."""

from amaranth.hdl import Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .config import Configured
from .pint import PintMultiplier, pint_layout

__all__ = ["PintMac", "saturate"]


def saturate(m, value, width):
    """(value clamped to `width` signed bits, 1 when it was clamped), as comb signals of m."""
    lo, hi = -(1 << (width - 1)), (1 << (width - 1)) - 1
    out = Signal(signed(width))
    over = Signal()
    m.d.comb += [
        over.eq((value < lo) | (value > hi)),
        out.eq(Mux(value < lo, lo, Mux(value > hi, hi, value))),
    ]
    return out, over


class PintMac(Configured, wiring.Component):
    """On each `en` cycle: sum <- (0 if first else sum) + a*b, exact in mac_bits.

    `sum` is the exact running sum, `acc` that sum saturated to acc_bits and `ovf` says it
    was clamped. The running sum
    stays exact (it wraps only after more than cfg.max_terms products, a limit the schedule
    respects), so a sum that leaves the acc_bits range and comes back is still right. The
    multiply-accumulate maps into one DSP48E1 (docs/resources.md).
    """

    def __init__(self, cfg):
        super().__init__(cfg, lambda cfg: {
            "a": In(pint_layout(cfg.pint)), "b": In(pint_layout(cfg.pint)),
            "en": In(1), "first": In(1),
            "acc": Out(signed(cfg.acc_bits)), "ovf": Out(1),
            "sum": Out(signed(cfg.mac_bits)),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.mul = mul = PintMultiplier(self._cfg.pint)
        m.d.comb += [mul.a.eq(self.a), mul.b.eq(self.b)]
        total = self.sum
        with m.If(self.en):
            m.d.sync += total.eq(Mux(self.first, 0, total) + mul.p)
        acc, ovf = saturate(m, total, self._cfg.acc_bits)
        m.d.comb += [self.acc.eq(acc), self.ovf.eq(ovf)]
        return m
