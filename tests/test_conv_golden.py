"""Golden convolutions: against an independent float convolution, exact adjoint identities
(so BP and WG are the exact gradients of FP), numerical gradients, and the row patterns."""

import numpy as np
import pytest

from sim.golden import conv

CASES = [(k, s, p) for k, s, p in [(3, 1, 1), (3, 2, 1), (3, 1, 0), (3, 2, 0), (1, 1, 0),
                                   (1, 2, 0)]]


def random_layer(rng, k, stride, pad):
    b, c, o = rng.integers(1, 3), rng.integers(1, 5), rng.integers(1, 5)
    h, w = rng.integers(k, 9), rng.integers(k, 9)
    x = rng.integers(-4096, 4033, (b, c, h, w))
    wt = rng.integers(-4096, 4033, (o, c, k, k))
    return x, wt


def float_conv(x, w, stride, pad):
    """An independent reference: im2col and one matrix product, in float64."""
    x = np.pad(x.astype(float), ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    o, c, k, _ = w.shape
    oh = (x.shape[2] - k) // stride + 1
    ow = (x.shape[3] - k) // stride + 1
    cols = np.empty((x.shape[0], c * k * k, oh * ow))
    for i in range(oh):
        for j in range(ow):
            cols[:, :, i * ow + j] = x[:, :, i * stride:i * stride + k,
                                       j * stride:j * stride + k].reshape(x.shape[0], -1)
    return (w.reshape(o, -1).astype(float) @ cols).reshape(x.shape[0], o, oh, ow)


@pytest.mark.parametrize("k,stride,pad", CASES)
def test_phases_against_float_and_each_other(k, stride, pad):
    rng = np.random.default_rng(100 * k + 10 * stride + pad)
    for _ in range(5):
        x, w = random_layer(rng, k, stride, pad)
        y = conv.conv_fp(x, w, stride, pad)
        assert np.array_equal(y, float_conv(x, w, stride, pad))   # exact below 2^53
        e = rng.integers(-4096, 4033, y.shape)
        dx = conv.conv_bp(e, w, x.shape, stride, pad)
        dw = conv.conv_wg(x, e, k, stride, pad)
        # <conv(x, w), e> = <x, bp(e, w)> = <w, wg(x, e)>: BP and WG are the exact adjoints,
        # hence the exact gradients of sum(e * conv(x, w)) with respect to x and w.
        s = int(np.sum(y * e))
        assert s == int(np.sum(x * dx)) == int(np.sum(w * dw))
        assert np.array_equal(conv.conv_fp_by_rows(x, w, stride, pad), y)
        assert np.array_equal(conv.conv_bp_by_rows(e, w, x.shape, stride, pad), dx)
        assert np.array_equal(conv.conv_wg_by_rows(x, e, k, stride, pad), dw)


def test_gradients_match_finite_differences():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(1, 2, 5, 6))
    w = rng.normal(size=(3, 2, 3, 3))
    g = rng.normal(size=(1, 3, 3, 3))
    loss = lambda x, w: float(np.sum(float_conv(x, w, 2, 1) * g))
    # The integer functions work on any integers: scale the float case onto them exactly.
    sx, sw, sg = 2.0 ** 20, 2.0 ** 20, 2.0 ** 20
    xi, wi, gi = (np.round(a * s).astype(np.int64) for a, s in ((x, sx), (w, sw), (g, sg)))
    dx = conv.conv_bp(gi, wi, xi.shape, 2, 1) / (sg * sw)
    dw = conv.conv_wg(xi, gi, 3, 2, 1) / (sg * sx)
    xr, wr = xi / sx, wi / sw
    for idx in [(0, 0, 0, 0), (0, 1, 2, 3), (0, 1, 4, 5)]:
        d = np.zeros_like(xr); d[idx] = 1e-6
        num = (loss(xr + d, wr) - loss(xr - d, wr)) / 2e-6
        assert abs(num - dx[idx]) < 1e-4 * max(1, abs(num))
    for idx in [(0, 0, 0, 0), (2, 1, 1, 2)]:
        d = np.zeros_like(wr); d[idx] = 1e-6
        num = (loss(xr, wr + d) - loss(xr, wr - d)) / 2e-6
        assert abs(num - dw[idx]) < 1e-4 * max(1, abs(num))


def test_fc_phases_are_adjoint():
    rng = np.random.default_rng(3)
    x = rng.integers(-4096, 4033, (4, 10))
    w = rng.integers(-4096, 4033, (6, 10))
    e = rng.integers(-4096, 4033, (4, 6))
    y = conv.fc_fp(x, w)
    assert np.array_equal(y, (x.astype(float) @ w.T.astype(float)))
    assert int(np.sum(y * e)) == int(np.sum(x * conv.fc_bp(e, w))) \
        == int(np.sum(w * conv.fc_wg(x, e)))


def test_saturate_flags_out_of_range():
    y, over = conv.saturate(np.array([1 << 31, -(1 << 31) - 1, 5]))
    assert y.tolist() == [(1 << 31) - 1, -(1 << 31), 5] and over.tolist() == [True, True, False]


@pytest.mark.parametrize("bad,msg", [
    (dict(w=np.zeros((2, 3, 5, 5), int)), "kernel must be 1x1 or 3x3, not 5x5"),
    (dict(w=np.zeros((2, 4, 3, 3), int)), "weights expect 4 input channels, the input has 3"),
    (dict(stride=3), "stride must be 1 or 2, not 3"),
    (dict(pad=2), r"padding must be in \[0, 1\] for a 3x3 kernel, not 2"),
    (dict(x=np.zeros((1, 3, 2, 2), int), pad=0), "a 2x2 input is smaller than the 3x3 kernel"),
])
def test_bad_layers_raise(bad, msg):
    args = dict(x=np.zeros((1, 3, 6, 6), int), w=np.zeros((2, 3, 3, 3), int), stride=1, pad=1)
    args.update(bad)
    with pytest.raises(ValueError, match=msg):
        conv.conv_fp(**args)
