"""The stochastic-rounding LFSR: a 32-bit Galois LFSR, advanced `round_bits` steps per draw."""

import functools

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


@functools.lru_cache(maxsize=None)
def _columns(steps):
    """Columns of the GF(2) matrix of `steps` shifts: column i is the image of state 1 << i."""
    cols = []
    for i in range(32):
        s = 1 << i
        for _ in range(steps):
            s = step(s)
        cols.append(s)
    return tuple(cols)


def _apply(cols, states):
    """The linear map with these columns applied to every state of an array."""
    out = np.zeros_like(states)
    for i in range(32):
        out ^= np.where((states >> i) & 1, cols[i], 0)
    return out


_BLOCK = 2048


def draws(state, bits, count):
    """`count` consecutive draws: (new state, array of random numbers).

    Same sequence as calling `draw` count times; computed a block of states at a time, each
    block from the previous one by the matrix of _BLOCK draws, since the LFSR is linear.
    """
    if not 0 < state <= MASK:
        raise ValueError(f"LFSR state must be a non-zero 32-bit value, not {state:#x}")
    states = np.empty(count, np.int64)
    first = np.empty(min(count, _BLOCK), np.int64)
    for i in range(len(first)):
        state, _ = draw(state, bits)
        first[i] = state
    states[:len(first)] = first
    if count > _BLOCK:
        jump = _columns(bits * _BLOCK)
        for k in range(_BLOCK, count, _BLOCK):
            prev = states[k - _BLOCK:k]
            n = min(_BLOCK, count - k)
            states[k:k + n] = _apply(jump, prev[:n])
        state = int(states[-1])
    return state, states & ((1 << bits) - 1)
