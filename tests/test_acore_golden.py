"""The fixed-point A-Core model (sim/golden/acore.py) against exact integer arithmetic and
against the float64 reference, with tolerances derived in docs/acore.md."""

import numpy as np
import pytest

from hw.config import EtaConfig
from sim.golden import acore as A, acore_float as F, pint

CFG = EtaConfig()
FMT = CFG.acore


def rng_for(request, salt=0):
    seed = (abs(hash(request.node.name)) + salt) % (1 << 32)
    print(f"seed {seed}")
    return np.random.default_rng(seed)


def test_div_range_and_accuracy(request):
    rng = rng_for(request)
    bits = rng.integers(1, FMT.word_bits - 1, (2, 20000))
    a = np.array([int(rng.integers(1 << (k - 1), 1 << k)) for k in bits[0]], np.int64)
    d = np.array([int(rng.integers(1 << (k - 1), 1 << k)) for k in bits[1]], np.int64)
    a[:3], d[:3] = [1, (1 << 47) - 1, 1], [1, 1, (1 << 47) - 1]
    q, e = A.op_div(a, d)
    r = FMT.recip_bits
    assert np.all(q >= 1 << (r - 1)) and np.all(q < 1 << (r + 1))
    approx = q.astype(np.float64) * np.exp2(e.astype(np.float64))
    exact = a.astype(np.float64) / d.astype(np.float64)
    # floor of the quotient: at most 1 in r+1 bits, plus 2^-31 from dropping low bits of both.
    assert np.all(np.abs(approx - exact) / exact < 2.0 ** (1 - r))
    assert np.all(approx <= exact * (1 + 2.0 ** -30))
    with pytest.raises(ValueError, match="positive"):
        A.op_div(np.array([0]), np.array([3]))


def test_mad_rounds_and_saturates(request):
    rng = rng_for(request)
    top = 1 << (FMT.word_bits - 1)
    a = rng.integers(-top, top, 5000)
    c = rng.integers(-(1 << (FMT.coef_bits - 1)), 1 << (FMT.coef_bits - 1), 5000)
    sh = rng.integers(0, 40, 5000)
    b = rng.integers(-top, top, 5000)
    got = A.op_mad(a, c, sh, b)
    for ai, ci, si, bi, gi in zip(a, c, sh, b, got):
        p = int(ai) * int(ci)
        want = (p + (1 << (int(si) - 1)) >> int(si) if si else p) + int(bi)
        assert int(gi) == min(max(want, -top), top - 1)
    # Ties round up (towards +infinity): -3/2 -> -1, 3/2 -> 2.
    assert list(A.op_mad(np.array([-3, 3]), 1, 1)) == [-1, 2]
    with pytest.raises(ValueError, match="coefficients"):
        A.op_mad(np.array([1]), 1 << FMT.coef_bits)


def test_acc_abs_saturate():
    top = 1 << (FMT.word_bits - 1)
    x = np.full((1, 1 << 10), top - 1, np.int64)
    assert A.op_acc(x)[0] == top - 1             # exact sum 2^57, read out saturated
    assert A.op_acc(np.array([[top - 1, 5, -(top - 1)]]))[0] == 5  # order-independent
    assert A.op_abs(np.array([-top]))[0] == top - 1
    with pytest.raises(ValueError, match="at most"):
        A.op_acc(np.zeros((1, FMT.max_n + 1), np.int64))


def layer(rng, c, n, scale):
    x = rng.integers(-scale, scale + 1, (c, n))
    x[0, : n // 2] = 0  # a sparse channel, as after a TLU
    q = 1 << FMT.param_frac
    gamma = (rng.uniform(0.2, 3.0, c) * rng.choice([-1, 1], c) * q).astype(np.int64)
    beta = (rng.normal(0, 1, c) * q).astype(np.int64)
    tau = (rng.normal(-0.5, 0.5, c) * q).astype(np.int64)
    return x, gamma, beta, tau


@pytest.mark.parametrize("n", [1, 7, 49, 196, 3136])
@pytest.mark.parametrize("scale", [3, 1 << 12, 1 << 28])
def test_frn_tlu_close_to_float(request, n, scale):
    rng = rng_for(request)
    c = 6
    x, gamma, beta, tau = layer(rng, c, n, scale)
    z, st = A.frn_tlu_forward(x, gamma, beta, tau, eps=1)
    # The float reference with the parameters the APU actually uses.
    g = A.gamma_coef(gamma).astype(np.float64) * 2.0 ** -FMT.gamma_frac
    b = A.y_param(beta) * 2.0 ** -FMT.xhat_frac
    t = A.y_param(tau) * 2.0 ** -FMT.xhat_frac
    yf, lam, xh = F.frn_forward(x, g, b, eps=1.0)
    zf, bf = F.tlu_forward(yf, t)
    lsb = 2.0 ** -FMT.xhat_frac
    # Division: relative error < 2^(1-r) on lambda; x_hat and y each round once (half an LSB).
    tol = (np.abs(g)[:, None] * (np.abs(xh) * 2.0 ** (1 - FMT.recip_bits) + lsb / 2) + lsb / 2)
    zq = z * lsb
    assert np.all(np.abs(zq - zf) <= tol + 1e-12)
    # The bitmap may differ only where y is within the tolerance of tau.
    differ = st.bitmap != bf
    assert np.all(np.abs(yf - t[:, None])[differ] <= tol[differ] + 1e-12)

    dz = rng.integers(-(1 << 24), 1 << 24, (c, n))
    dx, dgamma, dbeta, dtau = A.frn_tlu_backward(dz, st, gamma)
    xq = pint.decode(st.xhat).astype(np.float64) * 2.0 ** FMT.xhat_exp
    dyf, dtauf = F.tlu_backward(dz, st.bitmap)
    dxf, dgf, dbf = F.frn_backward(dyf, g, lam, xq)
    # The sums are exact integers (the stored x_hat is what both sides use).
    assert np.array_equal(dtau, dtauf.astype(np.int64))
    assert np.array_equal(dbeta, dbf.astype(np.int64))
    assert np.allclose(dgamma * 2.0 ** FMT.xhat_exp, dgf, rtol=0, atol=1e-9)
    # dx: gamma*lambda is one coefficient (its rounding, relative 2^-(bits it keeps)), the
    # mean is rounded once, the result is rounded once.
    out_lsb = 2.0 ** A.dx_exp_offset(st)
    gl = np.abs(g * lam)
    gl_err = gl * 2.0 ** (1 - FMT.recip_bits) + 2.0 ** (st.e + FMT.recip_bits + 1 - FMT.gamma_frac)
    mag = np.abs(dyf) + np.abs(dgf / n)[:, None] + 1
    tol = gl_err[:, None] * mag + gl[:, None] * 1 + out_lsb
    assert np.all(np.abs(dx * out_lsb - dxf) <= tol)


def test_frn_xhat_storage_effect(request):
    """Keeping x_hat in PINT8 changes dx only through sign(x_hat) at values that round to 0;
    d gamma sees each x_hat with PINT's relative step (<= 1/8 in the x1 and x8 segments)."""
    rng = rng_for(request)
    x, gamma, beta, tau = layer(rng, 8, 196, 1 << 16)
    z, st = A.frn_tlu_forward(x, gamma, beta, tau)
    _, _, xh = F.frn_forward(x, np.ones(8), np.zeros(8), eps=1.0)
    xq = pint.decode(st.xhat) * 2.0 ** FMT.xhat_exp
    step = np.where(np.abs(xh) < 8 * 2.0 ** FMT.xhat_exp, 2.0 ** FMT.xhat_exp,
                    np.where(np.abs(xh) < 512 * 2.0 ** FMT.xhat_exp, 8 * 2.0 ** FMT.xhat_exp,
                             64 * 2.0 ** FMT.xhat_exp))
    assert np.all(np.abs(xq - xh) <= step / 2 + 2.0 ** -11)


def test_sgd_close_to_float(request):
    rng = rng_for(request)
    e_w, e_v, e_g = -30, -26, -20
    w = rng.integers(-(1 << 29), 1 << 29, 1000)
    v = rng.integers(-(1 << 26), 1 << 26, 1000)
    g = rng.integers(-(1 << 20), 1 << 20, 1000)
    lr, mom = 0.05, 0.9
    coefs = A.sgd_coefs(lr, mom, e_w, e_v, e_g)
    w2, v2 = A.sgd_momentum(w, v, g, coefs)
    m = coefs[0] * 2.0 ** -FMT.momentum_frac
    wf, vf = F.sgd_momentum(w * 2.0 ** e_w, v * 2.0 ** e_v, g * 2.0 ** e_g, lr, m)
    # v: one rounding of m v (half an LSB); w: lr's coefficient keeps coef_bits-1 bits, plus
    # half an LSB of rounding, plus what v's rounding becomes after multiplying by lr.
    assert np.all(np.abs(v2 * 2.0 ** e_v - vf) <= 2.0 ** (e_v - 1))
    tol = np.abs(lr * vf) * 2.0 ** (2 - FMT.coef_bits) + 2.0 ** (e_w - 1) + lr * 2.0 ** (e_v - 1)
    assert np.all(np.abs(w2 * 2.0 ** e_w - wf) <= tol)
    # Saturation of the stored velocity instead of a wrap.
    wa, va = A.sgd_momentum(np.array([0]), np.array([(1 << 31) - 1]), np.array([1 << 30]), coefs)
    assert va[0] == (1 << 31) - 1
    with pytest.raises(ValueError, match="coarser"):
        A.sgd_coefs(lr, mom, e_w, e_v, e_v + FMT.coef_bits)


@pytest.mark.parametrize("ea,eb", [(0, 0), (-5, -3), (-3, -25), (-20, -2)])
def test_residual_add(request, ea, eb):
    rng = rng_for(request)
    codes = np.arange(256)
    a = pint.decode(rng.choice(codes, 4000))
    b = pint.decode(rng.choice(codes, 4000))
    s, e = A.residual_add(a, ea, b, eb)
    exact = a * 2.0 ** ea + b * 2.0 ** eb
    # Exact when the exponents are within coef_bits-2 of each other, else one rounding.
    tol = 0 if abs(ea - eb) <= FMT.coef_bits - 2 else 2.0 ** (e - 1)
    assert np.all(np.abs(s * 2.0 ** e - exact) <= tol)
    assert np.max(np.abs(s)) < 1 << (CFG.acc_bits - 1)


def test_bad_inputs():
    with pytest.raises(ValueError, match="eps"):
        A.frn_tlu_forward(np.ones((1, 4), np.int64), [0], [0], [0], eps=0)
    with pytest.raises(ValueError, match="channels"):
        A.frn_tlu_forward(np.ones(4, np.int64), [0], [0], [0])
    with pytest.raises(ValueError, match="momentum"):
        A.sgd_coefs(0.1, 1.0, 0, 0, 0)
