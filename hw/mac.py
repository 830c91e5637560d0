"""PINT MAC: a PINT multiplier feeding an exact accumulator, read out saturated to acc_bits."""

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .config import Configured
from .pint import PintMultiplier, pint_layout

__all__ = ["PintMac", "saturate"]


def saturate(m, value, width):
    """(value clamped to `width` signed bits, 1 when it was clamped), as comb signals of m.

    The value fits when its bits from width-1 up all equal its sign; otherwise the sign
    picks the rail. Cheaper than two magnitude comparisons (a PE went from 530 to 455 LUTs).
    """
    value = value.as_signed()
    if value.shape().width <= width:
        return value, Const(0, 1)
    out = Signal(signed(width))
    over = Signal()
    sign = value[-1]
    rail = Cat((~sign).replicate(width - 1), sign)      # 0111..1 or 1000..0
    m.d.comb += [
        over.eq(value[width - 1:] != sign.replicate(value.shape().width - width + 1)),
        out.eq(Mux(over, rail, value[:width])),
    ]
    return out, over


class PintMac(Configured, wiring.Component):
    """On each `en` cycle: sum <- (0 if first else sum) + a*b, exact in mac_bits.

    `a` and `b` are PINT codes, or with `decoded` the values they stand for
    (`hw.pint.pint_value`, t_bits signed): the PE's operands, decoded once where they are
    shared instead of in every MAC.

    `sum` is the exact running sum, `acc` that sum saturated to acc_bits and `ovf` says it
    was clamped. The running sum
    stays exact (it wraps only after more than cfg.max_terms products, a limit the schedule
    respects), so a sum that leaves the acc_bits range and comes back is still right. The
    multiply-accumulate maps into one DSP48E1 (docs/resources.md).
    """

    def __init__(self, cfg, decoded=False):
        self._decoded = bool(decoded)
        operand = lambda cfg: signed(cfg.pint.t_bits) if decoded else pint_layout(cfg.pint)
        super().__init__(cfg, lambda cfg: {
            "a": In(operand(cfg)), "b": In(operand(cfg)),
            "en": In(1), "first": In(1),
            "acc": Out(signed(cfg.acc_bits)), "ovf": Out(1),
            "sum": Out(signed(cfg.mac_bits)),
        })

    def elaborate(self, platform):
        m = Module()
        if self._decoded:
            product = self.a * self.b
        else:
            m.submodules.mul = mul = PintMultiplier(self._cfg.pint)
            m.d.comb += [mul.a.eq(self.a), mul.b.eq(self.b)]
            product = mul.p
        total = self.sum
        with m.If(self.en):
            m.d.sync += total.eq(Mux(self.first, 0, total) + product)
        acc, ovf = saturate(m, total, self._cfg.acc_bits)
        m.d.comb += [self.acc.eq(acc), self.ovf.eq(ovf)]
        return m
