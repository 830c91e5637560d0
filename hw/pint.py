"""PINT(k, d) arithmetic: the HB detector, the shift decoder and the PINT multiplier (Fig. 4a)."""

from amaranth.hdl import Module, Mux, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .config import PintFormat

__all__ = ["pint_layout", "uniform", "PintDetector", "PintDecoder", "PintMultiplier"]


def pint_layout(fmt):
    """A PINT code: v in bits k-2..0, the flag in bit k-1."""
    return data.StructLayout({"v": signed(fmt.v_bits), "flag": unsigned(1)})


def _check_fmt(fmt):
    if not isinstance(fmt, PintFormat):
        raise TypeError(f"'fmt' must be a PintFormat, not {fmt!r}")
    return fmt


def uniform(value):
    """All bits equal: the AND / NOR / OR of the paper's detector."""
    return value.all() | ~value.any()


class PintDetector(wiring.Component):
    """uniform = 1 when HB = v[k-2:d] is all zeros or all ones (v fits in d+1 signed bits)."""

    def __init__(self, fmt):
        self._fmt = _check_fmt(fmt)
        super().__init__({"v": In(signed(fmt.v_bits)), "uniform": Out(1)})

    @property
    def fmt(self):
        return self._fmt

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.uniform.eq(uniform(self.v[self._fmt.d:]))
        return m


class PintDecoder(wiring.Component):
    """Total shift of a product: sa + sb, each d if flag, else 0 if uniform, else k-2."""

    def __init__(self, fmt):
        self._fmt = _check_fmt(fmt)
        super().__init__({
            "flag_a": In(1), "uniform_a": In(1),
            "flag_b": In(1), "uniform_b": In(1),
            "shift": Out(range(2 * (fmt.k - 2) + 1)),
        })

    @property
    def fmt(self):
        return self._fmt

    def elaborate(self, platform):
        m = Module()
        fmt = self._fmt
        shifts = []
        for flag, uni in ((self.flag_a, self.uniform_a), (self.flag_b, self.uniform_b)):
            shifts.append(Mux(flag, fmt.d, Mux(uni, 0, fmt.k - 2)))
        m.d.comb += self.shift.eq(shifts[0] + shifts[1])
        return m


class PintMultiplier(wiring.Component):
    """p = (va * vb) << (sa + sb): a (k-1)x(k-1) signed multiplier and a left shifter."""

    def __init__(self, fmt):
        self._fmt = _check_fmt(fmt)
        layout = pint_layout(fmt)
        super().__init__({
            "a": In(layout), "b": In(layout),
            "p": Out(signed(fmt.product_bits)),
        })

    @property
    def fmt(self):
        return self._fmt

    def elaborate(self, platform):
        m = Module()
        m.submodules.det_a = det_a = PintDetector(self._fmt)
        m.submodules.det_b = det_b = PintDetector(self._fmt)
        m.submodules.decoder = dec = PintDecoder(self._fmt)
        m.d.comb += [
            det_a.v.eq(self.a.v), det_b.v.eq(self.b.v),
            dec.flag_a.eq(self.a.flag), dec.uniform_a.eq(det_a.uniform),
            dec.flag_b.eq(self.b.flag), dec.uniform_b.eq(det_b.uniform),
        ]
        m.d.comb += self.p.eq((self.a.v * self.b.v) << dec.shift)
        return m
