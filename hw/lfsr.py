"""The stochastic-rounding LFSR: 32-bit Galois, `round_bits` steps unrolled per draw."""

from amaranth.hdl import Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .config import Configured

__all__ = ["Lfsr", "TAPS"]

TAPS = 0x80200003   # x^32 + x^22 + x^2 + x + 1, primitive (tests/test_lfsr_golden.py)


class Lfsr(Configured, wiring.Component):
    """rnd = low round_bits of the state `round_bits` steps ahead; `next` moves there.

    `load` sets the state to `seed` (0, which would lock the register, is taken as 1).
    """

    def __init__(self, cfg):
        super().__init__(cfg, lambda cfg: {
            "next": In(1), "load": In(1), "seed": In(cfg.lfsr_bits),
            "rnd": Out(cfg.round_bits), "state": Out(cfg.lfsr_bits, init=1),
        })

    def elaborate(self, platform):
        m = Module()
        bits = self._cfg.lfsr_bits
        ahead = self.state
        for i in range(self._cfg.round_bits):
            # A signal per step keeps the expression linear in size, not exponential.
            stepped = Signal(bits, name=f"step{i + 1}")
            m.d.comb += stepped.eq((ahead >> 1) ^ (Const(TAPS, bits) & ahead[0].replicate(bits)))
            ahead = stepped
        m.d.comb += self.rnd.eq(ahead[:self._cfg.round_bits])
        with m.If(self.load):
            m.d.sync += self.state.eq(Mux(self.seed == 0, 1, self.seed))
        with m.Elif(self.next):
            m.d.sync += self.state.eq(ahead)
        return m
