"""Properties of the golden PINT model: grid, encoding, quantization against Algorithm 1."""

import numpy as np
import pytest

from hw.config import PintFormat
from sim.golden import pint

FORMATS = [PintFormat(8, 3), PintFormat(6, 2), PintFormat(7, 1)]


def brute_decode(code, fmt):
    """Eq. (9) read bit by bit, independently of the vectorized model."""
    flag = code >> (fmt.k - 1)
    bits = [(code >> i) & 1 for i in range(fmt.k - 1)]
    v = sum(b << i for i, b in enumerate(bits)) - (bits[-1] << (fmt.k - 1))
    hb = bits[fmt.d:]
    if flag:
        return v * 2 ** fmt.d
    if all(b == 0 for b in hb) or all(b == 1 for b in hb):
        return v
    return v * 2 ** (fmt.k - 2)


@pytest.mark.parametrize("fmt", FORMATS, ids=str)
def test_decode_matches_eq9(fmt):
    codes = np.arange(1 << fmt.k)
    assert pint.decode(codes, fmt).tolist() == [brute_decode(c, fmt) for c in codes]


def test_pint83_grid_shape():
    g = pint.grid()
    assert len(g) == 254
    assert g.min() == -4096 and g.max() == 4032
    assert set(np.diff(g)) == {1, 8, 64}


@pytest.mark.parametrize("fmt", FORMATS, ids=str)
def test_every_code_decodes_inside_t_range(fmt):
    t = pint.decode(np.arange(1 << fmt.k), fmt)
    assert t.min() >= -(1 << (fmt.t_bits - 1)) and t.max() <= (1 << (fmt.t_bits - 1)) - 1
    assert t.min() == fmt.t_min and t.max() == fmt.t_max


@pytest.mark.parametrize("fmt", FORMATS, ids=str)
def test_encoding_is_canonical_and_unambiguous(fmt):
    g = pint.grid(fmt)
    codes = pint.encode(g, fmt)
    assert np.array_equal(pint.decode(codes, fmt), g)
    # Canonical: among all codes of a value, the finest segment (shift 0, then d) wins.
    for t, c in zip(g, codes):
        same = [x for x in range(1 << fmt.k) if brute_decode(x, fmt) == t]
        assert pint.segment_shift(c, fmt) == min(pint.segment_shift(s, fmt) for s in same)
    # No x2^(k-2) code has v inside the low range (it would decode as a low-segment value).
    flag, v = pint.split(codes, fmt)
    high = pint.segment_shift(codes, fmt) == fmt.k - 2
    assert not np.any(high & (v >= fmt.low_range[0]) & (v <= fmt.low_range[1]))


def test_encode_rejects_off_grid():
    with pytest.raises(ValueError, match=r"values \[9\] are not on the PINT\(8,3\) grid"):
        pint.encode([9])


@pytest.mark.parametrize("fmt", FORMATS, ids=str)
def test_nearest_is_nearest_and_never_worse_than_alg1(fmt):
    """Every 13-bit t, plus quarter steps between them and past both ends."""
    lo, hi = -(1 << (fmt.t_bits - 1)), (1 << (fmt.t_bits - 1))
    x = np.arange(4 * lo - 8, 4 * hi + 8) / 4.0
    q = pint.round_to_grid(x, "nearest", fmt=fmt)
    g = pint.grid(fmt).astype(float)
    best = np.min(np.abs(g[None, :] - x[:, None]), axis=1)
    assert np.array_equal(np.abs(q - x), best)
    assert np.isin(q, g).all()
    assert np.all(np.abs(q - x) <= np.abs(pint.alg1_quantize(x, fmt=fmt) - x))


def test_alg1_clamps_8_to_7_and_we_do_not():
    assert pint.alg1_quantize(np.array([8.0]))[0] == 7
    assert pint.round_to_grid([8.0])[0] == 8


def test_decode_encode_roundtrip_lies_next_to_t():
    t = np.arange(-4096, 4096)
    q = pint.decode(pint.encode(pint.round_to_grid(t)))
    g = pint.grid()
    idx = np.searchsorted(g, t)
    below = g[np.clip(idx - 1, 0, len(g) - 1)]
    above = g[np.clip(idx, 0, len(g) - 1)]
    assert np.all((q == below) | (q == above) | (q == t))


def test_stochastic_rounding_is_unbiased():
    rng = np.random.default_rng(1)
    for x in [0.3, 7.5, 13.0, 100.2, -300.7, 600.0, -3000.1]:
        q = pint.round_to_grid(np.full(200_000, x), "stochastic", rng)
        assert len(np.unique(q)) <= 2
        step = float(pint.local_step(np.array(x)))
        assert abs(q.mean() - x) < 5 * step / np.sqrt(200_000), x


def test_quantize_scale_and_errors():
    rng = np.random.default_rng(0)
    x = rng.normal(size=1000) * 3.7
    codes, e = pint.quantize(x)
    assert np.max(np.abs(x)) <= 2.0 ** e * 4096 < 2 * np.max(np.abs(x))
    err = np.abs(pint.dequantize(codes, e) - x)
    assert np.all(err <= 2.0 ** e * 32 + 1e-12)  # half the coarsest step
    with pytest.raises(ValueError, match="NaN or infinity"):
        pint.quantize([1.0, np.nan])
    with pytest.raises(ValueError, match="rounding must be 'nearest' or 'stochastic'"):
        pint.quantize([1.0], rounding="up")


def test_split_rejects_out_of_range_codes():
    with pytest.raises(ValueError, match=r"codes must be in \[0, 255\]"):
        pint.decode([256])


def test_multiply_is_product_of_decoded_values():
    a, b = np.meshgrid(np.arange(256), np.arange(256))
    assert np.array_equal(pint.multiply(a, b), pint.decode(a) * pint.decode(b))


def test_config_errors_name_the_field():
    from hw.config import EtaConfig, small
    with pytest.raises(ValueError, match=r"PintFormat.d must be in \[1, 5\], not 6"):
        PintFormat(8, 6)
    with pytest.raises(ValueError, match=r"EtaConfig.clusters must be in \[1, 64\], not 0"):
        EtaConfig(clusters=0)
    with pytest.raises(ValueError, match=r"EtaConfig.acc_bits must be in \[28, 48\], not 16"):
        EtaConfig(acc_bits=16)
    # (three products of 26 bits must fit: a PE's FP and BP lanes never saturate)
    with pytest.raises(ValueError, match=r"EtaConfig.acc_bits must be in \[28, 48\], not 27"):
        EtaConfig(acc_bits=27, mac_bits=48)
    with pytest.raises(ValueError, match=r"EtaConfig.psum_sum_bits must be in \[32, 48\]"):
        EtaConfig(psum_sum_bits=31)
    with pytest.raises(TypeError, match=r"EtaConfig.pe_cols must be an int, not '8'"):
        EtaConfig(pe_cols="8")
    assert EtaConfig.from_json(small().to_json()) == small()
