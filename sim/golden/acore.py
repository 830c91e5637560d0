"""The A-Core in fixed point: six basic operations (paper Fig. 10a) and the workloads built
from them (L1-FRN + TLU forward and backward, Algorithm 2; SGD with momentum, Eq. 7; the
residual add). The formats are `hw.config.AcoreFormat`, explained in docs/acore.md.

Each workload is written as the sequence of basic operations an APU runs, so the RTL's
programs follow these functions step by step. Arrays are [C, N]: one row per channel (an
APU's unit of work), N elements of the channel's map. Values are Python ints inside numpy
arrays: int64 where they fit, object (exact) where a product can exceed 63 bits.
"""

from dataclasses import dataclass

import numpy as np

from hw.config import EtaConfig
from . import convert, pint

__all__ = [
    "sat", "op_abs", "op_acc", "op_div", "op_mad", "op_cmp", "round_shift", "coef",
    "FrnState", "frn_tlu_forward", "frn_tlu_backward", "dx_exp_offset", "dx_exp_bias",
    "tlu_forward", "tlu_backward",
    "gamma_coef", "y_param", "sgd_coefs", "sgd_grad_coef", "sgd_lr_coef", "sgd_momentum",
    "residual_add", "add_coefs", "channel_sum",
]

DEFAULT = EtaConfig()


def _ints(x):
    """x as an integer array: int64 when every value fits comfortably, else exact objects."""
    x = np.asarray(x)
    if x.dtype == object:
        return x
    if not np.issubdtype(x.dtype, np.integer) and x.dtype != bool:
        raise TypeError(f"A-Core operands are integers, not {x.dtype}")
    return x.astype(np.int64)


def _maxabs(a):
    return 0 if a.size == 0 else max(abs(int(np.min(a))), abs(int(np.max(a))))


def _fits(*arrays, bits=62):
    return all(_maxabs(a) < (1 << bits) for a in arrays)


def sat(x, bits):
    """Clamp to a signed bits-wide integer (the saturation every A-Core register applies)."""
    x = _ints(x)
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    y = np.minimum(np.maximum(x, lo), hi)
    return y.astype(np.int64) if bits <= 63 else y


def round_shift(x, sh):
    """x / 2^sh rounded to nearest, ties up: (x + 2^(sh-1)) >> sh, and x itself for sh = 0."""
    x = _ints(x)
    sh = np.asarray(sh, np.int64)
    if np.any(sh < 0):
        raise ValueError("right shifts only; a left shift is a multiplication by 2^k")
    if x.dtype == object or sh.dtype == object:
        f = np.vectorize(lambda v, s: (v + (1 << (s - 1))) >> s if s > 0 else v, otypes=[object])
        return f(x, sh)
    half = np.where(sh > 0, np.int64(1) << np.maximum(sh - 1, 0), 0)
    return (x + half) >> sh


# --- The six basic operations ---------------------------------------------------------------

def op_abs(a, cfg=DEFAULT):
    """Abs: |a|, saturated to a word (|-2^(W-1)| does not fit)."""
    return sat(np.abs(_ints(a)), cfg.acore.word_bits)


def op_acc(a, b=0, cfg=DEFAULT):
    """Accumulation along the last axis: sum of (a + b), exact in acc_bits, read out as a word.

    With N <= 2^max_n_bits word-wide terms the acc_bits register cannot wrap, so the result
    does not depend on the order of the terms.
    """
    a = _ints(a)
    if a.shape[-1] > cfg.acore.max_n:
        raise ValueError(f"a channel holds at most {cfg.acore.max_n} elements, "
                         f"not {a.shape[-1]}")
    # word_bits + max_n_bits <= acc_bits <= 64 (AcoreFormat), so int64 holds the exact sum.
    terms = sat(a + _ints(b), cfg.acore.word_bits)
    return sat(terms.sum(axis=-1), cfg.acore.word_bits)


def _bitlen(x):
    return np.vectorize(lambda v: int(v).bit_length(), otypes=[np.int64])(x)


def op_div(a, d, cfg=DEFAULT):
    """Division of positive words: a / d ~ q * 2^e, q in [2^(r-1), 2^(r+1)), r = recip_bits.

    Both operands are normalized to norm_bits (shifted so their top bit is set, low bits
    dropped), then q = floor(a_n * 2^r / d_n), e = bitlen(a) - bitlen(d) - r: a restoring
    divider delivering r + 1 quotient bits; the relative error is below 2^(1-r).
    """
    fmt = cfg.acore
    a, d = _ints(a), _ints(d)
    if np.any(a <= 0) or np.any(d <= 0):
        raise ValueError("Division takes positive operands (a count and a sum of |x| + eps)")
    if not _fits(a, d, bits=fmt.word_bits - 1):
        raise ValueError(f"Division operands must be words ({fmt.word_bits} bits)")

    def norm(v):
        n = _bitlen(v)
        return np.array([(int(x) << (fmt.norm_bits - k)) if k <= fmt.norm_bits
                         else (int(x) >> (k - fmt.norm_bits))
                         for x, k in zip(v.ravel(), n.ravel())],
                        np.int64).reshape(v.shape), n

    an, la = norm(a)
    dn, ld = norm(d)
    return (an << fmt.recip_bits) // dn, la - ld - fmt.recip_bits


def op_mad(a, c, sh=0, b=0, cfg=DEFAULT):
    """Multiplication-Addition: sat_W(round_shift(a * c, sh) + b); c is a coefficient.

    Multiplication is the same with b = 0.
    """
    fmt = cfg.acore
    a, c = _ints(a), _ints(c)
    lo_c = -(1 << (fmt.coef_bits - 1))
    if np.any((c < lo_c) | (c > -lo_c - 1)):
        raise ValueError(f"coefficients must fit {fmt.coef_bits} signed bits")
    if _maxabs(a).bit_length() + _maxabs(c).bit_length() <= 62:
        prod = a * c
    else:
        prod = a.astype(object) * c.astype(object)
    return sat(round_shift(prod, sh) + _ints(b), fmt.word_bits)


def op_cmp(a, b):
    """Comparison: (max(a, b), a >= b)."""
    a, b = _ints(a), _ints(b)
    return np.maximum(a, b), a >= b


def coef(v, cfg=DEFAULT):
    """A value written into a coefficient register saturates to coef_bits."""
    return sat(v, cfg.acore.coef_bits)


# --- L1-FRN and TLU (Algorithm 2, with z = max(y, tau)) --------------------------------------

def gamma_coef(gamma, cfg=DEFAULT):
    """The stored Q.param_frac gamma as a Q.gamma_frac multiplier coefficient."""
    f = cfg.acore
    return coef(round_shift(gamma, f.param_frac - f.gamma_frac), cfg)


def y_param(p, cfg=DEFAULT):
    """A stored Q.param_frac beta or tau in the Q.xhat_frac domain of y."""
    f = cfg.acore
    return round_shift(p, f.param_frac - f.xhat_frac)


@dataclass
class FrnState:
    """What forward keeps for backward (the auxiliary buffer), per channel and element."""
    q: np.ndarray       # lambda = q * 2^e per LSB of x, [C]
    e: np.ndarray       # [C]
    xhat: np.ndarray    # x_hat as PINT codes with exponent xhat_exp, [C, N]
    bitmap: np.ndarray  # TLU bitmap b = (y >= tau), [C, N]
    xhat_q: np.ndarray  # x_hat in Q.xhat_frac words before it is stored, [C, N]


def frn_tlu_forward(x, gamma, beta, tau, eps=1, cfg=DEFAULT):
    """L1-FRN then TLU on accumulator values x [C, N] (any common scale).

    D = sum(|x| + eps)            Abs -> Accumulation (eps: in LSBs of x, >= 1)
    lambda = N / D = q 2^e        Division (= 1 / (nu + eps))
    x_hat = x lambda              Multiplication, Q.xhat_frac
    y = gamma x_hat + beta        Multiplication-Addition, Q.xhat_frac
    z, b = max(y, tau), y >= tau  Comparison
    Returns z (Q.xhat_frac words) and the FrnState kept for backward.
    """
    f = cfg.acore
    x = _ints(x)
    if x.ndim != 2 or x.shape[1] == 0:
        raise ValueError(f"x must be [channels, N] with N >= 1, not {x.shape}")
    if not isinstance(eps, (int, np.integer)) or eps < 1:
        raise ValueError(f"eps is a positive integer count of x's LSBs, not {eps!r}")
    n = x.shape[1]
    d = op_acc(op_abs(x, cfg), eps, cfg)
    q, e = op_div(np.full(d.shape, n), d, cfg)
    # D >= N eps >= N, so e <= -recip_bits and the shift below is never negative.
    xh = op_mad(x, q[:, None], (-e - f.xhat_frac)[:, None], 0, cfg)
    y = op_mad(xh, _ints(gamma_coef(gamma, cfg))[:, None], f.gamma_frac,
               y_param(beta, cfg)[:, None], cfg)
    z, b = op_cmp(y, y_param(tau, cfg)[:, None])
    codes, _ = convert.convert(sat(xh, cfg.acc_bits).ravel(), f.xhat_frac + f.xhat_exp,
                               convert.NEAREST_EVEN, cfg=cfg)
    return z, FrnState(q, e, codes.reshape(x.shape), b, xh)


def frn_tlu_backward(dz, state, gamma, cfg=DEFAULT, e_max=None):
    """Backward of TLU then L1-FRN (Algorithm 2 lines 9-15) on errors dz [C, N].

    dy = dz b; d tau = sum dz (1 - b); d beta = sum dy; d gamma = sum dy x_hat (LSB of dz
    times 2^xhat_exp); mean = d gamma / N; dx = gamma lambda (dy - sign(x_hat) mean).
    gamma lambda differs per channel; dx gets one scale for the whole tensor by shifting each
    channel by its exponent's distance from the largest, e_max:
    dx = dx_int * 2^(e_dz - e_x + dx_exp_offset(state)). `e_max` (the APU's E3) defaults to
    the largest exponent of `state`; a machine running part of a layer gives the layer's.
    Returns dx (words), d gamma, d beta, d tau (per channel, words).
    """
    f = cfg.acore
    dz = _ints(dz)
    c, n = dz.shape
    b = state.bitmap
    dy = np.where(b, dz, 0)                                         # Comparison as a select
    dtau = op_acc(np.where(b, 0, dz), 0, cfg)
    dbeta = op_acc(dy, 0, cfg)
    t = pint.decode(state.xhat, cfg.pint)
    dgamma = op_acc(op_mad(dy, t, 0, 0, cfg), 0, cfg)
    qn, en = op_div(np.ones(c, np.int64), np.full(c, n), cfg)      # 1/N = q_n 2^e_n
    mean = op_mad(dgamma, qn, -en - f.xhat_exp, 0, cfg)          # in LSBs of dz
    gl = coef(op_mad(gamma_coef(gamma, cfg), state.q, f.recip_bits + 1, 0, cfg), cfg)
    u = op_mad(mean[:, None], -np.sign(t), 0, dy, cfg)
    e_max = int(np.max(state.e)) if e_max is None else int(e_max)
    if np.any(state.e > e_max):
        raise ValueError(f"e_max ({e_max}) is below a channel's exponent ({np.max(state.e)})")
    sh = (f.coef_bits - 1) + (e_max - state.e)
    dx = op_mad(u, gl[:, None], sh[:, None], 0, cfg)
    return dx, dgamma, dbeta, dtau


def dx_exp_offset(state, cfg=DEFAULT):
    """Exponent of dx's LSB relative to e_dz - e_x (see frn_tlu_backward)."""
    return int(np.max(state.e)) + dx_exp_bias(cfg)


def dx_exp_bias(cfg=DEFAULT):
    """dx_exp_offset less e_max: what the machine adds to the e_max it tracks."""
    f = cfg.acore
    return f.recip_bits + 1 - f.gamma_frac + f.coef_bits - 1


def tlu_forward(y, tau):
    """TLU alone: z = max(y, tau) and the bitmap (Comparison)."""
    return op_cmp(y, _ints(tau)[:, None])


def tlu_backward(dz, bitmap, cfg=DEFAULT):
    """dy = dz b, d tau = sum dz (1 - b) (Comparison as a select, Accumulation)."""
    dz = _ints(dz)
    return np.where(bitmap, dz, 0), op_acc(np.where(bitmap, 0, dz), 0, cfg)


# --- SGD with momentum (Eq. 7) ----------------------------------------------------------------

def _normalized(value, cfg):
    """value > 0 as c 2^-sh with c in [2^(coef_bits-2), 2^(coef_bits-1))."""
    top = cfg.acore.coef_bits - 1
    sh = top - int(np.floor(np.log2(value))) - 1
    c = int(round(value * 2.0 ** sh))
    if c >= 1 << top:
        c, sh = c >> 1, sh - 1
    return c, sh


def sgd_coefs(lr, momentum, e_w, e_v, e_g, cfg=DEFAULT):
    """Host side: the coefficient registers of one SGD program.

    Master weights w have LSB 2^e_w, velocities 2^e_v, gradients 2^e_g. Returns (m_c, g_c,
    g_sh, lr_c, lr_sh) with momentum = m_c 2^-momentum_frac, g 2^(e_g-e_v) = g g_c 2^-g_sh,
    lr 2^(e_v-e_w) = lr_c 2^-lr_sh.
    """
    m_c, lr_c, lr_sh = sgd_lr_coef(lr, momentum, e_w, e_v, cfg)
    return (m_c, *sgd_grad_coef(e_g - e_v, cfg), lr_c, lr_sh)


def sgd_lr_coef(lr, momentum, e_w, e_v, cfg=DEFAULT):
    """The host's part of the SGD registers (float in, integers out): (m_c, lr_c, lr_sh)."""
    f = cfg.acore
    if not 0 <= momentum < 1:
        raise ValueError(f"momentum must be in [0, 1), not {momentum}")
    if not lr > 0:
        raise ValueError(f"learning rate must be positive, not {lr}")
    m_c = int(round(momentum * (1 << f.momentum_frac)))
    lr_c, lr_sh = _normalized(lr * 2.0 ** (e_v - e_w), cfg)
    if lr_sh < 0:
        raise ValueError(f"lr x 2^(e_v - e_w) = {lr * 2.0 ** (e_v - e_w)} is too large a step")
    return m_c, lr_c, lr_sh


def sgd_grad_coef(k, cfg=DEFAULT):
    """The gradient's alignment to the velocity, k = e_g - e_v: (g_c, g_sh), integers only
    (the machine computes it from exponents it tracks)."""
    f = cfg.acore
    if k > f.coef_bits - 2:
        raise ValueError(f"the gradient's LSB is 2^{k} velocity LSBs; at most "
                         f"2^{f.coef_bits - 2} fits a coefficient: give v a coarser scale")
    return (1 << k, 0) if k >= 0 else (1, -k)


def sgd_momentum(w, v, g, coefs, store_bits=32, cfg=DEFAULT):
    """v' = momentum v + g; w' = w - lr v' (Eq. 7), stored back as store_bits integers.

    Multiplication (m v) -> Multiplication-Addition (g aligned + m v) -> Multiplication-
    Addition (w - lr v'). Returns (w', v').
    """
    m_c, g_c, g_sh, lr_c, lr_sh = coefs
    f = cfg.acore
    t = op_mad(v, m_c, f.momentum_frac, 0, cfg)
    v2 = sat(op_mad(g, g_c, g_sh, t, cfg), store_bits)
    w2 = sat(op_mad(v2, -lr_c, lr_sh, w, cfg), store_bits)
    return w2, v2


def channel_sum(words, cfg=DEFAULT):
    """Accumulation of each channel's words [C, N] (the SUM program): sat_W(sum)."""
    return op_acc(words, 0, cfg)


# --- Residual add ----------------------------------------------------------------------------

def residual_add(a, ea, b, eb, cfg=DEFAULT):
    """a 2^ea + b 2^eb for PINT-decoded a, b, as an integer with LSB 2^e (returned).

    e = max(ea, eb) - (coef_bits - 2): the larger operand is multiplied by 2^(coef_bits-2),
    the smaller shifted into place with rounding (Multiplication, then Multiplication-Addition).
    """
    ca, sa, cb, sb, e = add_coefs(ea, eb, cfg)
    return op_mad(a, ca, sa, op_mad(b, cb, sb, 0, cfg), cfg), e


def add_coefs(ea, eb, cfg=DEFAULT):
    """Host side: (ca, sa, cb, sb, e) with x 2^ex = (x cx / 2^sx) 2^e for both operands."""
    e = max(ea, eb) - (cfg.acore.coef_bits - 2)

    def align(ex):
        k = ex - e
        return (1 << k, 0) if k >= 0 else (1, -k)

    return (*align(ea), *align(eb), e)
