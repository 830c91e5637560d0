"""A-Core workloads in float64: the reference the fixed-point A-Core model must stay close to.

L1-FRN (paper Eq. 12, Algorithm 2), TLU z = max(y, tau) (Eq. 13; Algorithm 2 line 6 writes
z = y * b, but its backward pass d tau = sum dz (1 - b) is that of max(y, tau)), SGD with
momentum (Eq. 7) and the residual add. Per channel: x is one channel's map, flattened (N).
"""

import numpy as np

__all__ = ["frn_forward", "frn_backward", "tlu_forward", "tlu_backward", "sgd_momentum",
           "residual_add"]


def frn_forward(x, gamma, beta, eps=1e-5):
    """nu = mean|x|, lam = 1/(nu+eps), x_hat = x*lam, y = gamma*x_hat + beta.

    x: [C, N]; gamma, beta: [C]. Returns y and what backward needs (lam [C], x_hat [C, N]).
    """
    x = np.asarray(x, np.float64)
    if x.ndim != 2 or x.shape[1] == 0:
        raise ValueError(f"x must be [channels, N] with N >= 1, not {x.shape}")
    lam = 1.0 / (np.mean(np.abs(x), axis=1) + eps)
    x_hat = x * lam[:, None]
    return gamma[:, None] * x_hat + beta[:, None], lam, x_hat


def frn_backward(dy, gamma, lam, x_hat):
    """Algorithm 2 lines 11-15: d beta, d gamma, and dx = gamma*lam*(dy - sign(x_hat)*dgamma/N)."""
    dy = np.asarray(dy, np.float64)
    n = dy.shape[1]
    dbeta = dy.sum(axis=1)
    dgamma = (dy * x_hat).sum(axis=1)
    dx = (gamma * lam)[:, None] * (dy - np.sign(x_hat) * (dgamma / n)[:, None])
    return dx, dgamma, dbeta


def tlu_forward(y, tau):
    """z = max(y, tau); the bitmap b = (y >= tau) is kept for backward."""
    b = np.asarray(y) >= np.asarray(tau)[:, None]
    return np.where(b, y, np.asarray(tau)[:, None]), b


def tlu_backward(dz, b):
    """dy = dz*b, d tau = sum dz*(1-b) (Algorithm 2 lines 9-10)."""
    dz = np.asarray(dz, np.float64)
    return dz * b, (dz * ~b).sum(axis=1)


def sgd_momentum(w, v, g, lr, momentum):
    """Eq. 7: v <- momentum*v + g; w <- w - lr*v. Returns (w, v)."""
    v = momentum * np.asarray(v, np.float64) + g
    return np.asarray(w, np.float64) - lr * v, v


def residual_add(a, b):
    """The element-wise add of a ResNet shortcut."""
    return np.asarray(a, np.float64) + np.asarray(b, np.float64)
