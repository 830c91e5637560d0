"""Golden INT32 -> PINT conversion: agrees with float rounding onto the grid; tracker rule."""

import numpy as np
import pytest

from hw.config import EtaConfig
from sim.golden import convert, lfsr, pint

CFG = EtaConfig()


@pytest.mark.parametrize("sf", [0, 1, 3, 7, 12, 20, 31])
def test_nearest_even_equals_float_round_to_grid(sf):
    rng = np.random.default_rng(sf)
    t = np.arange(-4096 - 70, 4096 + 70)
    frac = rng.integers(0, 1 << sf, size=t.size) if sf else np.zeros_like(t)
    x = np.clip((t << sf) + frac, -(1 << 31), (1 << 31) - 1)
    half = np.clip((t << sf) + ((1 << sf) >> 1), -(1 << 31), (1 << 31) - 1)  # exact ties
    for xs in (x, half):
        codes, _ = convert.convert(xs, sf, convert.NEAREST_EVEN, cfg=CFG)
        want = pint.round_to_grid(xs / 2.0 ** sf, "nearest")
        assert np.array_equal(pint.decode(codes), want)


def test_extremes_saturate():
    x = np.array([-(1 << 31), (1 << 31) - 1, 4032, 4063, 4064, 4096, -4096, -4127, -4128])
    codes, _ = convert.convert(x, 0, convert.NEAREST_EVEN)
    assert pint.decode(codes).tolist() == [-4096, 4032, 4032, 4032, 4032, 4032, -4096,
                                           -4096, -4096]


def test_stochastic_mode_draws_once_per_value_and_is_unbiased():
    n = 100_000
    for x, sf in [(7 * 16 + 5, 4), (300 * 8 + 3, 3), (-1000 * 2 - 1, 1), (5, 0)]:
        codes, state = convert.convert(np.full(n, x), sf, convert.STOCHASTIC, state=0xACE1)
        assert state == lfsr.draws(0xACE1, CFG.round_bits, n)[0]
        t = pint.decode(codes)
        real = x / 2 ** sf
        step = float(pint.local_step(np.array(real)))
        assert abs(t.mean() - real) < 5 * step / np.sqrt(n), (x, sf, t.mean(), real)


def test_next_shift_follows_algorithm1_scale():
    assert convert.next_shift(0) == 0
    assert convert.next_shift(4096) == 0
    assert convert.next_shift(4097) == 1
    assert convert.next_shift(1 << 31) == 19
    for m in [1, 5, 4000, 10_000, 123_456_789]:
        sf = convert.next_shift(m)
        assert m <= 4096 << sf and (sf == 0 or m > 4096 << (sf - 1))


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match=r"sf must be in \[0, 31\], not 32"):
        convert.convert([1], 32, convert.NEAREST_EVEN)
    with pytest.raises(ValueError, match="inputs must fit 32-bit signed integers"):
        convert.convert([1 << 31], 0, convert.NEAREST_EVEN)
    with pytest.raises(ValueError, match="mode must be"):
        convert.convert([1], 0, 2)
    with pytest.raises(ValueError, match="LFSR state must be a non-zero 32-bit value"):
        convert.convert([1], 0, convert.STOCHASTIC, state=0)
