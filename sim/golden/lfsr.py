"""The stochastic-rounding LFSR: a 32-bit Galois LFSR, advanced `round_bits` steps per draw."""

import numpy as np

__all__ = ["TAPS", "step", "draw", "draws"]

# Galois (right-shifting) feedback mask for x^32 + x^22 + x^2 + x + 1; tests prove it maximal.
TAPS = 0x80200003
MASK = 0xFFFF_FFFF


def step(state):
    """One shift: state >> 1, xor TAPS when the bit shifted out was 1."""
    return (state >> 1) ^ (TAPS if state & 1 else 0)


def draw(state, bits):
    """Advance `bits` steps; the random number is the low `bits` bits of the new state."""
    for _ in range(bits):
        state = step(state)
    return state, state & ((1 << bits) - 1)


def draws(state, bits, count):
    """`count` consecutive draws: (new state, array of random numbers)."""
    if not 0 < state <= MASK:
        raise ValueError(f"LFSR state must be a non-zero 32-bit value, not {state:#x}")
    out = np.empty(count, np.int64)
    for i in range(count):
        state, out[i] = draw(state, bits)
    return state, out
