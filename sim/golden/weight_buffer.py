"""The weight buffer's layout and what its two-level network delivers (paper Fig. 8, 9).

One copy of the weights serves FP (direct) and BP (transposed: input and output channels
swapped), with no bank read twice in a cycle. There are 3K banks (K = clusters), indexed
(b1, b2) -> 3 b1 + b2; an entry holds P = pe_cols codes of consecutive input channels.

3x3 weights W[o, c, u, v]: entry (o, cb, u, v) = W[o, cb P : cb P + P, u, v] lives in bank
(o mod K, v) at address ((o div K) CB + cb) 3 + u (CB = input-channel blocks).
1x1 weights W[o, c]: entry (o, cb) lives in bank (o mod K, (o div K + cb) mod 3) at address
((o div K) CB + cb) div 3: consecutive output channels rotate through the second bank index,
and each bank holds a third of the (o div K, cb) pairs, densely (CB is a multiple of 3).

A read delivers one PE row's weights to every cluster, [K][P][3] codes (`cluster.weights_layout`
per cluster):
  3x3 FP (og, cb, u): cluster k, column c, lane v = W[og K + k, cb P + c, u, v]
  3x3 BP (ig, ob, u): cluster k, column c, lane v = W[ob P + c, ig K + k, u, v]
     (the cluster computes input channel ig K + k of dx; column c carries the errors of
     output channel ob P + c; the PE's BP pattern takes the kernel row in stored order)
  1x1 FP (og, cb): cluster k, column c, lane l = W[3 (og K + k) + l, cb P + c]
  1x1 BP (ig, ob): cluster k, column c, lane l = W[ob P + c, 3 K ig + l K + k]
The transposed reads need K = P (one entry's P input channels go to the P clusters).
"""

import numpy as np

__all__ = ["check_shape", "bank_of", "entries", "image", "view", "reads"]

LANES = 3


def check_shape(w, cfg):
    """Raise ValueError naming the problem if the buffer cannot hold or transpose W."""
    k, p = cfg.clusters, cfg.pe_cols
    if k != p:
        raise ValueError(f"the transposed (BP) read needs clusters == pe_cols, not {k} and {p}")
    if w.ndim == 4 and (w.shape[2:] != (3, 3)):
        raise ValueError(f"kernels are 3x3 or 1x1 ([Cout, Cin]), not {w.shape[2:]}")
    if w.ndim not in (2, 4):
        raise ValueError(f"weights are [Cout, Cin, 3, 3] or [Cout, Cin], not {w.shape}")
    cout, cin = w.shape[:2]
    step_o = k if w.ndim == 4 else 3 * k
    if cout % step_o or cin % p or (w.ndim == 2 and cin % (3 * k)):
        raise ValueError(f"pad the channels: Cout a multiple of {step_o}, Cin of "
                         f"{p if w.ndim == 4 else 3 * k} (got {cout} x {cin})")


def bank_of(o, cb, u, v, k1, blocks, cfg):
    """(bank, address) of entry (o, cb, u, v) of a layer with `blocks` input-channel blocks."""
    k = cfg.clusters
    if k1:
        return 3 * (o % k) + (o // k + cb) % 3, ((o // k) * blocks + cb) // 3
    return 3 * (o % k) + v, ((o // k) * blocks + cb) * 3 + u


def entries(cout, cin, k1, cfg):
    """Entries per bank that (padded) weights [cout, cin(, 3, 3)] occupy."""
    per = cout // cfg.clusters * (cin // cfg.pe_cols)
    return per // 3 if k1 else per * 3


def image(w, cfg, base=0):
    """{(bank, address): entry (list of P codes)} holding the weights W (codes) from entry
    `base` of every bank."""
    w = np.asarray(w)
    check_shape(w, cfg)
    p = cfg.pe_cols
    cout, cin = w.shape[:2]
    blocks = cin // p
    n = entries(cout, cin, w.ndim == 2, cfg)
    if base + n > 1 << cfg.wbuf_bits:
        raise ValueError(f"{cout} x {cin} weights from entry {base} need {n} entries per "
                         f"bank; the buffer has {1 << cfg.wbuf_bits}: split the layer into "
                         f"tiles")
    out = {}
    for o in range(cout):
        for cb in range(blocks):
            if w.ndim == 2:
                bank, addr = bank_of(o, cb, 0, 0, True, blocks, cfg)
                out[(bank, base + addr)] = [int(x) for x in w[o, cb * p:cb * p + p]]
                continue
            for u in range(3):
                for v in range(3):
                    bank, addr = bank_of(o, cb, u, v, False, blocks, cfg)
                    out[(bank, base + addr)] = [int(x) for x in w[o, cb * p:cb * p + p, u, v]]
    return out


def view(w, bp, group, blk, u, cfg):
    """What one read delivers: [K][P][3] codes (see the module docstring)."""
    w = np.asarray(w)
    k, p = cfg.clusters, cfg.pe_cols
    out = []
    for kk in range(k):
        cols = []
        for c in range(p):
            if w.ndim == 2:
                if bp:
                    cols.append([int(w[blk * p + c, 3 * k * group + l * k + kk])
                                 for l in range(LANES)])
                else:
                    cols.append([int(w[3 * (group * k + kk) + l, blk * p + c])
                                 for l in range(LANES)])
            elif bp:
                cols.append([int(w[blk * p + c, group * k + kk, u, v]) for v in range(3)])
            else:
                cols.append([int(w[group * k + kk, blk * p + c, u, v]) for v in range(3)])
        out.append(cols)
    return out


def reads(w, bp, group, blk, u, cfg):
    """The (bank, address) pairs one read touches: every bank at most once (checked)."""
    w = np.asarray(w)
    k, p = cfg.clusters, cfg.pe_cols
    blocks = w.shape[1] // p
    k1 = w.ndim == 2
    want = set()
    for kk in range(k):
        for c in range(p):
            for l in range(LANES):
                if k1:
                    o, ci = ((blk * p + c, 3 * k * group + l * k + kk) if bp
                             else (3 * (group * k + kk) + l, blk * p + c))
                    want.add(bank_of(o, ci // p, 0, 0, True, blocks, cfg))
                else:
                    o, ci = ((blk * p + c, group * k + kk) if bp else (group * k + kk,
                                                                       blk * p + c))
                    want.add(bank_of(o, ci // p, u, l, False, blocks, cfg))
    banks = [b for b, _ in want]
    if len(set(banks)) != len(banks):
        raise AssertionError(f"bank conflict: {sorted(banks)}")
    return want
