"""The float64 A-Core reference: its backward passes equal numerical gradients."""

import numpy as np
import pytest

from sim.golden import acore_float as af


def layer(x, gamma, beta, tau):
    y, lam, x_hat = af.frn_forward(x, gamma, beta)
    z, b = af.tlu_forward(y, tau)
    return z, lam, x_hat, b


@pytest.mark.parametrize("n", [1, 7, 49])
def test_frn_tlu_backward_matches_numerical_gradient(n):
    rng = np.random.default_rng(n)
    c = 3
    x = rng.normal(size=(c, n)) + 0.3
    gamma, beta, tau = rng.normal(size=c), rng.normal(size=c), rng.normal(size=c) * 0.3
    g = rng.normal(size=(c, n))                       # dL/dz of L = sum(g * z)
    z, lam, x_hat, b = layer(x, gamma, beta, tau)
    dy, dtau = af.tlu_backward(g, b)
    dx, dgamma, dbeta = af.frn_backward(dy, gamma, lam, x_hat)

    def loss(x=x, gamma=gamma, beta=beta, tau=tau):
        return float(np.sum(g * layer(x, gamma, beta, tau)[0]))

    h = 1e-6
    for name, arr, grad in (("x", x, dx), ("gamma", gamma, dgamma), ("beta", beta, dbeta),
                            ("tau", tau, dtau)):
        for idx in np.ndindex(arr.shape):
            d = np.zeros_like(arr)
            d[idx] = h
            num = (loss(**{name: arr + d}) - loss(**{name: arr - d})) / (2 * h)
            assert abs(num - grad[idx]) < 1e-5 * max(1.0, abs(num)), (name, idx, num, grad[idx])


def test_sgd_momentum_follows_eq7():
    w, v = af.sgd_momentum(np.array([1.0]), np.array([0.5]), np.array([0.2]), 0.1, 0.9)
    assert np.allclose(v, [0.9 * 0.5 + 0.2]) and np.allclose(w, [1.0 - 0.1 * 0.65])


def test_frn_rejects_empty_maps():
    with pytest.raises(ValueError, match=r"x must be \[channels, N\] with N >= 1"):
        af.frn_forward(np.zeros((2, 0)), np.ones(2), np.zeros(2))
