"""PINT MAC: a PINT multiplier feeding a saturating accumulator with a sticky overflow flag."""

from amaranth.hdl import Module, Mux, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .config import EtaConfig
from .pint import PintMultiplier, pint_layout

__all__ = ["PintMac", "saturating_add"]


def saturating_add(m, domain, acc, addend, ovf, start):
    """acc <- sat(acc' + addend), ovf <- ovf' | overflow, where acc' = 0, ovf' = 0 when start.

    Returns nothing; adds the statements to `domain` of module `m`. The sum is one bit wider
    than acc, so overflow shows as its top two bits differing.
    """
    width = acc.shape().width
    total = (Mux(start, 0, acc) + addend)[:width + 1].as_signed()
    over = total[width] != total[width - 1]
    lo, hi = -(1 << (width - 1)), (1 << (width - 1)) - 1
    m.d[domain] += [
        acc.eq(Mux(over, Mux(total[width], lo, hi), total[:width].as_signed())),
        ovf.eq((ovf & ~start) | over),
    ]


class PintMac(wiring.Component):
    """On each `en` cycle: acc <- sat((0 if first else acc) + a*b); `ovf` sticky until `first`."""

    def __init__(self, cfg):
        if not isinstance(cfg, EtaConfig):
            raise TypeError(f"'cfg' must be an EtaConfig, not {cfg!r}")
        self._cfg = cfg
        layout = pint_layout(cfg.pint)
        super().__init__({
            "a": In(layout), "b": In(layout),
            "en": In(1), "first": In(1),
            "acc": Out(signed(cfg.acc_bits)), "ovf": Out(1),
        })

    @property
    def cfg(self):
        return self._cfg

    def elaborate(self, platform):
        m = Module()
        m.submodules.mul = mul = PintMultiplier(self._cfg.pint)
        m.d.comb += [mul.a.eq(self.a), mul.b.eq(self.b)]
        with m.If(self.en):
            saturating_add(m, "sync", self.acc, mul.p, self.ovf, self.first)
        return m
