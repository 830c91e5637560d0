"""INT32 -> PINT conversion (paper Fig. 4b) and the max-abs tracker for in-hindsight scaling.

For an accumulator value x and scale shift sf (x's scale is 2^sf finer than the output's):
I = x >> sf picks the segment shift sh (0, d or k-2) exactly as `pint.local_step` does, q =
round(x / 2^(sf+sh)) with RNE or stochastic rounding, t = sat(q << sh), code = encode(t).
"""

import numpy as np

from hw.config import EtaConfig
from . import lfsr, pint

__all__ = ["segment_of_floor", "round_shift", "convert", "next_shift"]

NEAREST_EVEN, STOCHASTIC = 0, 1


def segment_of_floor(i, fmt):
    """Segment shift for the integer part i = floor(x / 2^sf)."""
    lo_a, hi_a = fmt.low_range
    lo_b = fmt.mid_range[0]
    return np.where((i >= lo_a) & (i <= hi_a), 0,
                    np.where((i >= lo_b) & (i < -lo_b), fmt.d, fmt.k - 2))


def round_shift(x, p, mode, rnd=None, round_bits=16):
    """x / 2^p rounded: nearest-even, or floor((x + r) / 2^p) with r = (rnd << p) >> round_bits."""
    x, p = np.asarray(x, np.int64), np.asarray(p, np.int64)
    f = x >> p
    if mode == NEAREST_EVEN:
        rem = x - (f << p)
        half = np.where(p > 0, np.int64(1) << np.maximum(p - 1, 0), 1)
        up = (p > 0) & ((rem > half) | ((rem == half) & (f & 1 == 1)))
        return f + up
    r = (np.asarray(rnd, np.int64) << p) >> round_bits
    return (x + r) >> p


def convert(x, sf, mode, state=1, cfg=EtaConfig()):
    """Convert accumulator values x (in order) -> (codes, new LFSR state).

    In stochastic mode every conversion takes one LFSR draw of cfg.round_bits bits; in
    nearest-even mode the LFSR does not move.
    """
    fmt = cfg.pint
    x = np.asarray(x, np.int64)
    lo, hi = -(1 << (cfg.acc_bits - 1)), (1 << (cfg.acc_bits - 1)) - 1
    if np.any((x < lo) | (x > hi)):
        raise ValueError(f"inputs must fit {cfg.acc_bits}-bit signed integers")
    if not 0 <= sf < 1 << cfg.shift_bits:
        raise ValueError(f"sf must be in [0, {(1 << cfg.shift_bits) - 1}], not {sf}")
    if mode not in (NEAREST_EVEN, STOCHASTIC):
        raise ValueError(f"mode must be NEAREST_EVEN (0) or STOCHASTIC (1), not {mode!r}")
    sh = segment_of_floor(x >> sf, fmt)
    rnd = None
    if mode == STOCHASTIC:
        state, rnd = lfsr.draws(state, cfg.round_bits, len(x))
    q = round_shift(x, sf + sh, mode, rnd, cfg.round_bits)
    # Only the coarsest segment can overflow its v range; the others may round onto the
    # first value of the next segment, which is still on the grid.
    q = np.where(sh == fmt.k - 2, np.clip(q, -(1 << (fmt.k - 2)), (1 << (fmt.k - 2)) - 1), q)
    return pint.encode(q << sh, fmt), state


def next_shift(max_abs, cfg=EtaConfig()):
    """Scale shift for the next pass: the smallest sf >= 0 with max_abs <= 2^sf * |t_min|."""
    max_abs = int(max_abs)
    return max(0, (max_abs - 1).bit_length() - (cfg.pint.t_bits - 1)) if max_abs > 0 else 0
