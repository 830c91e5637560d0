"""PINT(k, d) number format: codes, decoding, canonical encoding, quantization, products.

Code layout (docs/numerics.md): bit k-1 is the flag, bits k-2..0 hold the two's-complement v.
"""

import numpy as np

from hw.config import PintFormat

__all__ = [
    "split", "detect_uniform", "segment_shift", "decode", "encode", "grid", "round_to_grid",
    "scale_exponent", "quantize", "dequantize", "alg1_quantize", "multiply",
]

DEFAULT = PintFormat()


def _as_int(x):
    return np.asarray(x, dtype=np.int64)


def split(codes, fmt=DEFAULT):
    """code -> (flag, v) with v sign-extended from k-1 bits."""
    codes = _as_int(codes)
    if np.any((codes < 0) | (codes >= 1 << fmt.k)):
        raise ValueError(f"PINT({fmt.k},{fmt.d}) codes must be in [0, {(1 << fmt.k) - 1}]")
    flag = codes >> fmt.v_bits
    v = codes & ((1 << fmt.v_bits) - 1)
    v = v - ((v >> (fmt.v_bits - 1)) << fmt.v_bits)
    return flag, v


def detect_uniform(v, fmt=DEFAULT):
    """Detector: HB = v[k-2:d] all zeros or all ones, i.e. v fits in d+1 signed bits."""
    v = _as_int(v)
    hb = (v >> fmt.d) & ((1 << (fmt.k - 1 - fmt.d)) - 1)
    return (hb == 0) | (hb == (1 << (fmt.k - 1 - fmt.d)) - 1)


def segment_shift(codes, fmt=DEFAULT):
    """The left shift a code's v needs: d if flag, 0 if HB uniform, k-2 otherwise."""
    flag, v = split(codes, fmt)
    return np.where(flag == 1, fmt.d, np.where(detect_uniform(v, fmt), 0, fmt.k - 2))


def decode(codes, fmt=DEFAULT):
    """code -> t = v << segment_shift(code), an integer in [t_min, t_max]."""
    _, v = split(codes, fmt)
    return v << segment_shift(codes, fmt)


def grid(fmt=DEFAULT):
    """Every value a PINT code can take, sorted (254 of them for PINT(8,3))."""
    return np.unique(decode(np.arange(1 << fmt.k), fmt))


def encode(t, fmt=DEFAULT):
    """Canonical code of a grid value t: the finest segment that holds t exactly."""
    t = _as_int(t)
    lo_a, hi_a = fmt.low_range
    lo_b, hi_b = fmt.mid_range
    in_low = (t >= lo_a) & (t <= hi_a)
    in_mid = ~in_low & (t >= lo_b) & (t <= hi_b) & (t % (1 << fmt.d) == 0)
    in_high = ~in_low & ~in_mid & (t >= fmt.t_min) & (t <= fmt.t_max) \
        & (t % (1 << (fmt.k - 2)) == 0)
    if not np.all(in_low | in_mid | in_high):
        bad = t[~(in_low | in_mid | in_high)].ravel()[:5]
        raise ValueError(f"values {bad.tolist()} are not on the PINT({fmt.k},{fmt.d}) grid")
    v = np.where(in_low, t, np.where(in_mid, t >> fmt.d, t >> (fmt.k - 2)))
    flag = in_mid.astype(np.int64)
    return (flag << fmt.v_bits) | (v & ((1 << fmt.v_bits) - 1))


def local_step(x, fmt=DEFAULT):
    """Grid spacing around a real x (in t units): 1, 2^d or 2^(k-2), chosen by floor(x).

    Every interval [floor, floor+1) lies between two neighbouring grid points of that spacing,
    so rounding x to a multiple of local_step(x) lands on a grid point next to x.
    """
    i = np.floor(x)
    lo_a, hi_a = fmt.low_range
    lo_b = fmt.mid_range[0]
    return np.where((i >= lo_a) & (i <= hi_a), 1,
                    np.where((i >= lo_b) & (i < -lo_b), 1 << fmt.d, 1 << (fmt.k - 2)))


def round_to_grid(x, rounding="nearest", rng=None, fmt=DEFAULT):
    """Real x (t units) -> grid value t, saturating to [t_min, t_max].

    nearest: the closer of the two neighbouring grid points, ties to the one whose v is even.
    stochastic: the upper neighbour with probability (x - lower) / (upper - lower).
    """
    x = np.asarray(x, dtype=np.float64)
    step = local_step(x, fmt)
    y = x / step
    if rounding == "nearest":
        q = np.round(y)                     # numpy rounds half to even
    elif rounding == "stochastic":
        if rng is None:
            raise ValueError("stochastic rounding needs a numpy Generator in 'rng'")
        q = np.floor(y + rng.random(y.shape))
    else:
        raise ValueError(f"rounding must be 'nearest' or 'stochastic', not {rounding!r}")
    t = q.astype(np.int64) * step
    return np.clip(t, fmt.t_min, fmt.t_max)


def scale_exponent(max_abs, fmt=DEFAULT):
    """Power-of-two scale e with max_abs <= 2^e * |t_min| (Algorithm 1, line 1)."""
    if not np.isfinite(max_abs) or max_abs <= 0:
        return 0
    return int(np.ceil(np.log2(max_abs))) - (fmt.t_bits - 1)


def quantize(x, rounding="nearest", rng=None, fmt=DEFAULT, exponent=None):
    """Float tensor -> (codes, e) with x ~ decode(codes) * 2^e; e from max|x| unless given."""
    x = np.asarray(x, dtype=np.float64)
    if not np.all(np.isfinite(x)):
        raise ValueError("cannot quantize a tensor holding NaN or infinity")
    e = scale_exponent(float(np.max(np.abs(x), initial=0.0)), fmt) if exponent is None \
        else exponent
    t = round_to_grid(np.ldexp(x, -e), rounding, rng, fmt)
    return encode(t, fmt), e


def dequantize(codes, e, fmt=DEFAULT):
    return np.ldexp(decode(codes, fmt).astype(np.float64), e)


def alg1_quantize(x, rounding="nearest", rng=None, fmt=DEFAULT):
    """The paper's Algorithm 1, literally, on x already in t units (r1 = 2^(t_bits-1)).

    Kept as the reference our rounding must never do worse than.
    """
    x = np.asarray(x, dtype=np.float64)
    k, d = fmt.k, fmt.d
    r1 = float(1 << (fmt.t_bits - 1))
    s1 = r1 / 2 ** (k - 2)
    r2 = r1 / 2 ** (k - 2 - d)
    s2 = r2 / 2 ** (k - 2)
    r3 = r2 / 2 ** (k - 2)
    s3 = r3 / 2 ** d

    def rnd(y):
        if rounding == "nearest":
            return np.round(y)
        return np.floor(y + rng.random(y.shape))

    hi = np.clip(rnd(x / s1), -2 ** (k - 2), 2 ** (k - 2) - 1) * s1
    mid = np.clip(rnd(x / s2), -2 ** (k - 2), 2 ** (k - 2) - 1) * s2
    lo = np.clip(rnd(x / s3), -2 ** d, 2 ** d - 1) * s3
    return np.where(np.abs(x) > r2, hi, np.where(np.abs(x) > r3, mid, lo))


def multiply(a, b, fmt=DEFAULT):
    """Product of two codes as the multiplier computes it: (va * vb) << (sa + sb)."""
    _, va = split(a, fmt)
    _, vb = split(b, fmt)
    return (va * vb) << (segment_shift(a, fmt) + segment_shift(b, fmt))
