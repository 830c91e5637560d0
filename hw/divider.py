"""Division (paper Fig. 10a): a / d ~ q 2^e for positive words, pipelined.

Both operands are normalized to norm_bits (a_n = floor(a 2^norm / 2^bitlen(a))), then a
restoring divider delivers q = floor(a_n 2^r / d_n), one quotient bit per stage (r + 1
stages, r = recip_bits), and e = bitlen(a) - bitlen(d) - r. Bit-exact with
`sim.golden.acore.op_div`; a new division may enter every cycle.
"""

from amaranth.hdl import Const, Module, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .config import Configured

__all__ = ["Divider", "bitlen"]


def bitlen(m, value, width):
    """Number of significant bits of an unsigned value (0 for 0), as a comb signal of m."""
    out = Signal(range(width + 1))
    for i in range(width):          # later assignments win: the highest set bit
        with m.If(value[i]):
            m.d.comb += out.eq(i + 1)
    return out


class Divider(Configured, wiring.Component):
    """`valid` with a, d in; `q`, `e` and `done` come out `latency` cycles later."""

    def __init__(self, cfg):
        f = cfg.acore
        super().__init__(cfg, lambda cfg: {
            "valid": In(1), "a": In(f.word_bits - 1), "d": In(f.word_bits - 1),
            "done": Out(1), "q": Out(f.recip_bits + 1), "e": Out(signed(8)),
        })

    @property
    def latency(self):
        return self._cfg.acore.recip_bits + 2

    def elaborate(self, platform):
        m = Module()
        f = self._cfg.acore
        w, nb, r = f.word_bits - 1, f.norm_bits, f.recip_bits

        # Stage 0: normalize both operands to nb bits, top bit set.
        la, ld = bitlen(m, self.a, w), bitlen(m, self.d, w)
        num = Signal(unsigned(nb + r + 1))
        den = Signal(unsigned(nb))
        e = Signal(signed(8))
        v = Signal()
        m.d.sync += [
            num.eq(((self.a << nb) >> la) << r),
            den.eq((self.d << nb) >> ld),
            e.eq(la - ld - r),
            v.eq(self.valid),
        ]
        # Stages 1 .. r+1: one quotient bit each, most significant first.
        q = Const(0, unsigned(r + 1))
        # Every stage carries its own divisor: the next division is one stage behind.
        for i in range(r, -1, -1):
            num2, den2 = Signal.like(num, name=f"num{i}"), Signal.like(den, name=f"den{i}")
            q2, e2, v2 = (Signal(unsigned(r + 1), name=f"q{i}"), Signal.like(e, name=f"e{i}"),
                          Signal(name=f"v{i}"))
            fits = Signal(name=f"fits{i}")
            m.d.comb += fits.eq(num >= (den << i))
            m.d.sync += [
                num2.eq(num - (den << i) * fits),
                q2.eq(q | (fits << i)),
                den2.eq(den), e2.eq(e), v2.eq(v),
            ]
            num, den, q, e, v = num2, den2, q2, e2, v2
        m.d.comb += [self.q.eq(q), self.e.eq(e), self.done.eq(v)]
        return m
