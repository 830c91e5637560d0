"""Arithmetic by constants without a divider or a DSP.

`divmod_const(x, d)` is (x div d, x mod d) for an unsigned x of n bits: q = (x M) >> s with
M = ceil(2^s / d) and s = n + ceil(log2 d). It is exact for every x < 2^n: x M / 2^s =
x / d + x e / (d 2^s) with e = M d - 2^s < d, so the error is below 2^(n - s) <= 1 / d and
never reaches the next integer. The product is a sum of shifted copies of x, one per set
bit of M, so synthesis builds adders, not a divider or a DSP: the input buffer needs rows
modulo its bank count (3 x wpus) per slot and per beat.
"""

from amaranth.hdl import Value

__all__ = ["divmod_const"]


def divmod_const(x, d):
    """(x // d, x % d) for unsigned `x` and a constant d >= 1, as adders."""
    x = Value.cast(x)
    if x.shape().signed:
        raise TypeError("divmod_const takes an unsigned value")
    if not isinstance(d, int) or d < 1:
        raise ValueError(f"the divisor must be an integer >= 1, not {d!r}")
    n = len(x)
    if d & (d - 1) == 0:                             # a power of two: a shift and a mask
        k = d.bit_length() - 1
        return x >> k, x[:k] if k else x[:0]
    s = n + (d - 1).bit_length()
    mult = -(-(1 << s) // d)
    product = sum(x << k for k in range(mult.bit_length()) if mult >> k & 1)
    q = (product >> s)[:max(1, n - (d.bit_length() - 1))]
    r = (x - q * d)[:(d - 1).bit_length()]
    return q, r
