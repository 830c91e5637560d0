"""PINT(k, d) arithmetic: the HB detector, the shift decoder and the PINT multiplier (Fig. 4a)."""

from amaranth.hdl import Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .config import PintFormat

__all__ = ["pint_layout", "uniform", "pint_value", "PintDetector", "PintDecoder",
           "PintMultiplier"]


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


def pint_value(code, fmt):
    """The integer a code stands for (`sim.golden.pint.decode`): v << d if flag, v if HB is
    uniform, v << (k - 2) otherwise; signed, 2k - 2 bits."""
    c = data.View(pint_layout(fmt), code)
    v = c.v
    return Mux(c.flag, v << fmt.d, Mux(uniform(v[fmt.d:]), v, v << (fmt.k - 2)))


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
    """Shift of one operand: d if flag, else 0 if HB uniform, else k-2."""

    def __init__(self, fmt):
        self._fmt = _check_fmt(fmt)
        super().__init__({"flag": In(1), "uniform": In(1), "shift": Out(range(fmt.k - 1))})

    @property
    def fmt(self):
        return self._fmt

    def elaborate(self, platform):
        m = Module()
        fmt = self._fmt
        m.d.comb += self.shift.eq(Mux(self.flag, fmt.d, Mux(self.uniform, 0, fmt.k - 2)))
        return m


class PintMultiplier(wiring.Component):
    """p = (va << sa) * (vb << sb) = decode(a) * decode(b), exact in 2(2k-3) signed bits.

    The paper shifts the (k-1)x(k-1) product by sa + sb; we shift each operand instead (a
    3-way multiplexer each) and let one FPGA multiplier take 2k-3 bit operands: a DSP48E1
    multiplies 25x18 anyway, and the shifter after it cost ~45 LUTs (docs/resources.md).
    """

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
        decoded = []
        for name, code in (("a", self.a), ("b", self.b)):
            m.submodules[f"det_{name}"] = det = PintDetector(self._fmt)
            m.submodules[f"dec_{name}"] = dec = PintDecoder(self._fmt)
            t = Signal(signed(self._fmt.t_bits), name=f"t_{name}")
            m.d.comb += [
                det.v.eq(code.v),
                dec.flag.eq(code.flag), dec.uniform.eq(det.uniform),
                t.eq(code.v << dec.shift),
            ]
            decoded.append(t)
        m.d.comb += self.p.eq(decoded[0] * decoded[1])
        return m
