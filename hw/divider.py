"""Division (paper Fig. 10a): a / d ~ q 2^e for positive words, one quotient bit a cycle.

Both operands are normalized to norm_bits (a_n = floor(a 2^norm / 2^bitlen(a))), then a
restoring divider delivers q = floor(a_n 2^r / d_n), one quotient bit per cycle on one
subtractor (r + 1 steps, r = recip_bits), and e = bitlen(a) - bitlen(d) - r. Bit-exact with
`sim.golden.acore.op_div`. The APU divides once per channel and waits for the quotient, so
one stage used r + 1 times replaces a pipeline of r + 1 (1.8K LUTs and 1.5K FFs each).
"""

from amaranth.hdl import Cat, Module, Mux, Signal, signed, unsigned
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
    """`valid` with a, d in; `q`, `e` and `done` (one cycle) come out `latency` cycles later.

    One division at a time: a `valid` while one runs starts over with the new operands.
    """

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

        num = Signal(unsigned(nb + r + 1))      # the remainder, from a_n 2^r down
        dsh = Signal(unsigned(nb + r))          # d_n 2^i at step i = r .. 0
        left = Signal(range(r + 2))             # steps still to run
        fits = Signal()
        m.d.comb += fits.eq(num >= dsh)
        la, ld = bitlen(m, self.a, w), bitlen(m, self.d, w)
        with m.If(self.valid):
            # Normalize both operands to nb bits, top bit set.
            m.d.sync += [
                num.eq(((self.a << nb) >> la) << r),
                dsh.eq(((self.d << nb) >> ld) << r),
                self.e.eq(la - ld - r),
                self.q.eq(0),
                left.eq(r + 1),
                self.done.eq(0),
            ]
        with m.Elif(left != 0):
            # One quotient bit, most significant first.
            m.d.sync += [
                num.eq(Mux(fits, num - dsh, num)),
                self.q.eq(Cat(fits, self.q[:-1])),
                dsh.eq(dsh >> 1),
                left.eq(left - 1),
                self.done.eq(left == 1),
            ]
        with m.Else():
            m.d.sync += self.done.eq(0)
        return m
