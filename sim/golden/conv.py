"""Convolution and FC layers in the PINT integer domain, all three phases (paper Eq. 1-6).

Tensors are int64 arrays of decoded PINT values t: activations and errors [B, C, H, W],
weights [Cout, Cin, K, K]. Sums are exact in int64; `saturate` gives what an acc_bits
accumulator holds when no partial sum left its range (the RTL issue defines the order).

The same layers are also written as sums of the 1-D row patterns a PE computes (Fig. 6):
`row_fp`, `row_bp`, `row_wg` along one feature-map row, composed by `*_by_rows`.
"""

import numpy as np

__all__ = [
    "out_size", "check_conv_shapes", "conv_fp", "conv_bp", "conv_wg", "fc_fp", "fc_bp",
    "fc_wg", "saturate", "row_fp", "row_bp", "row_wg", "conv_fp_by_rows", "conv_bp_by_rows",
    "conv_wg_by_rows",
]


def out_size(size, k, stride, pad):
    """Output length of a convolution along one axis."""
    return (size + 2 * pad - k) // stride + 1


def check_conv_shapes(x_shape, w_shape, stride, pad):
    """Raise ValueError naming the problem if the hardware cannot run this layer."""
    if len(x_shape) != 4 or len(w_shape) != 4:
        raise ValueError(f"expected x [B, C, H, W] and w [Cout, Cin, K, K], got {x_shape} "
                         f"and {w_shape}")
    b, c, h, w = x_shape
    cout, cin, k, k2 = w_shape
    if k != k2 or k not in (1, 3):
        raise ValueError(f"kernel must be 1x1 or 3x3, not {k}x{k2}")
    if cin != c:
        raise ValueError(f"weights expect {cin} input channels, the input has {c}")
    if stride not in (1, 2):
        raise ValueError(f"stride must be 1 or 2, not {stride}")
    if not 0 <= pad <= k // 2:
        raise ValueError(f"padding must be in [0, {k // 2}] for a {k}x{k} kernel, not {pad}")
    if min(out_size(h, k, stride, pad), out_size(w, k, stride, pad)) < 1:
        raise ValueError(f"a {h}x{w} input is smaller than the {k}x{k} kernel")


def _padded(x, pad, dtype=np.int64):
    return np.pad(np.asarray(x, dtype), ((0, 0), (0, 0), (pad, pad), (pad, pad)))


def conv_fp(x, w, stride=1, pad=1, dtype=np.int64):
    """Eq. 1: y[b,o,i,j] = sum_{c,u,v} w[o,c,u,v] x[b,c,s*i+u-pad,s*j+v-pad].

    dtype: int64 for the exact integer model; a float type gives the float baseline's layer.
    """
    check_conv_shapes(np.shape(x), np.shape(w), stride, pad)
    w = np.asarray(w, dtype)
    xp = _padded(x, pad, dtype)
    k = w.shape[2]
    oh = out_size(x.shape[2], k, stride, pad)
    ow = out_size(x.shape[3], k, stride, pad)
    y = np.zeros((x.shape[0], w.shape[0], oh, ow), dtype)
    for u in range(k):
        for v in range(k):
            patch = xp[:, :, u:u + stride * (oh - 1) + 1:stride, v:v + stride * (ow - 1) + 1:stride]
            y += np.einsum("bchw,oc->bohw", patch, w[:, :, u, v])
    return y


def conv_bp(e, w, x_shape, stride=1, pad=1, dtype=np.int64):
    """Eq. 3: dx[b,c,p,q] = sum_{o,i,j: s*i+u-pad=p, s*j+v-pad=q} w[o,c,u,v] e[b,o,i,j].

    The kernel is rotated and channels transposed; no zeros are inserted for stride 2.
    """
    check_conv_shapes(x_shape, np.shape(w), stride, pad)
    e, w = np.asarray(e, dtype), np.asarray(w, dtype)
    k = w.shape[2]
    b, c, h, wd = x_shape
    oh, ow = out_size(h, k, stride, pad), out_size(wd, k, stride, pad)
    if e.shape != (b, w.shape[0], oh, ow):
        raise ValueError(f"error tensor must be {(b, w.shape[0], oh, ow)}, not {e.shape}")
    dxp = np.zeros((b, c, h + 2 * pad, wd + 2 * pad), dtype)
    for u in range(k):
        for v in range(k):
            dxp[:, :, u:u + stride * (oh - 1) + 1:stride, v:v + stride * (ow - 1) + 1:stride] += \
                np.einsum("bohw,oc->bchw", e, w[:, :, u, v])
    return dxp[:, :, pad:pad + h, pad:pad + wd]


def conv_wg(x, e, k, stride=1, pad=1, dtype=np.int64):
    """Eq. 5: dw[o,c,u,v] = sum_{b,i,j} e[b,o,i,j] x[b,c,s*i+u-pad,s*j+v-pad] (batch summed)."""
    x, e = np.asarray(x, dtype), np.asarray(e, dtype)
    check_conv_shapes(x.shape, (e.shape[1], x.shape[1], k, k), stride, pad)
    xp = _padded(x, pad, dtype)
    oh, ow = e.shape[2], e.shape[3]
    if (oh, ow) != (out_size(x.shape[2], k, stride, pad), out_size(x.shape[3], k, stride, pad)):
        raise ValueError(f"error map {oh}x{ow} does not match the input and kernel")
    dw = np.zeros((e.shape[1], x.shape[1], k, k), dtype)
    for u in range(k):
        for v in range(k):
            patch = xp[:, :, u:u + stride * (oh - 1) + 1:stride, v:v + stride * (ow - 1) + 1:stride]
            dw[:, :, u, v] = np.einsum("bohw,bchw->oc", e, patch)
    return dw


def fc_fp(x, w, dtype=np.int64):
    """Eq. 2: y[b,o] = sum_c w[o,c] x[b,c]."""
    return np.asarray(x, dtype) @ np.asarray(w, dtype).T


def fc_bp(e, w, dtype=np.int64):
    """Eq. 4: dx[b,c] = sum_o w[o,c] e[b,o]."""
    return np.asarray(e, dtype) @ np.asarray(w, dtype)


def fc_wg(x, e, dtype=np.int64):
    """Eq. 6: dw[o,c] = sum_b e[b,o] x[b,c]."""
    return np.asarray(e, dtype).T @ np.asarray(x, dtype)


def saturate(y, acc_bits=32):
    """(values clamped to acc_bits signed, mask of the clamped ones)."""
    lo, hi = -(1 << (acc_bits - 1)), (1 << (acc_bits - 1)) - 1
    y = np.asarray(y, np.int64)
    return np.clip(y, lo, hi), (y < lo) | (y > hi)


# --- The 1-D row patterns of one PE (Fig. 6) ------------------------------------------------

def row_fp(x, w, stride):
    """FP along a row: y[j] = sum_u w[u] x[s*j + u], x already padded."""
    x, w = np.asarray(x, np.int64), np.asarray(w, np.int64)
    n = (len(x) - len(w)) // stride + 1
    return np.array([sum(w[u] * x[stride * j + u] for u in range(len(w))) for j in range(n)],
                    np.int64)


def row_bp(e, w, stride, length):
    """BP along a row: dx[p] = sum_{j,u: s*j+u = p} w[u] e[j], over a padded row of `length`.

    Each output takes only the taps that reach it: stride 2 splits outputs into even and odd
    groups instead of inserting zeros between errors.
    """
    e, w = np.asarray(e, np.int64), np.asarray(w, np.int64)
    dx = np.zeros(length, np.int64)
    for j in range(len(e)):
        for u in range(len(w)):
            dx[stride * j + u] += w[u] * e[j]
    return dx


def row_wg(x, e, stride, k):
    """WG along a row: dw[u] = sum_j e[j] x[s*j + u]; the errors act as a long kernel."""
    x, e = np.asarray(x, np.int64), np.asarray(e, np.int64)
    return np.array([sum(e[j] * x[stride * j + u] for j in range(len(e))) for u in range(k)],
                    np.int64)


def conv_fp_by_rows(x, w, stride=1, pad=1):
    """conv_fp as a sum of row_fp over input channels and kernel rows (what the WPU adds)."""
    check_conv_shapes(np.shape(x), np.shape(w), stride, pad)
    xp = _padded(x, pad)
    k = w.shape[2]
    oh, ow = out_size(x.shape[2], k, stride, pad), out_size(x.shape[3], k, stride, pad)
    y = np.zeros((x.shape[0], w.shape[0], oh, ow), np.int64)
    for b, o, i, c, u in np.ndindex(x.shape[0], w.shape[0], oh, x.shape[1], k):
        y[b, o, i] += row_fp(xp[b, c, stride * i + u], w[o, c, u], stride)
    return y


def conv_bp_by_rows(e, w, x_shape, stride=1, pad=1):
    check_conv_shapes(x_shape, np.shape(w), stride, pad)
    b_, c_, h, wd = x_shape
    k = w.shape[2]
    dxp = np.zeros((b_, c_, h + 2 * pad, wd + 2 * pad), np.int64)
    for b, o, i, c, u in np.ndindex(b_, w.shape[0], e.shape[2], c_, k):
        dxp[b, c, stride * i + u] += row_bp(e[b, o, i], w[o, c, u], stride, wd + 2 * pad)
    return dxp[:, :, pad:pad + h, pad:pad + wd]


def conv_wg_by_rows(x, e, k, stride=1, pad=1):
    xp = _padded(x, pad)
    dw = np.zeros((e.shape[1], x.shape[1], k, k), np.int64)
    for b, o, i, c, u in np.ndindex(x.shape[0], e.shape[1], e.shape[2], x.shape[1], k):
        dw[o, c, u] += row_wg(xp[b, c, stride * i + u], e[b, o, i], stride, k)
    return dw
