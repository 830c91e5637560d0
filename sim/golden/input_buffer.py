"""The input buffer's layout and the rows one cluster beat reads (paper Fig. 8).

An entry holds two adjacent coordinates (2 cp, 2 cp + 1) of one map row for P = pe_cols
channels (cb P .. cb P + P): [2][P] codes. Row r lives in bank r mod B, B = pe_rows x wpus, at
address ((r div B) CP + cp) CB + cb (CP coordinate pairs per row, CB channel blocks).

A cluster's WPUs work on neighbouring windows, so one beat reads at most B consecutive rows
(`rows_for`), each from its own bank, once, whatever the pattern:
  3x3 FP, WG s1:  WPU w, PE row r <- input row i + w + r          (wpus + 2 rows)
  3x3 FP, WG s2:  input row 2 (i + w) + r                          (2 wpus + 1 rows)
  3x3 BP s1:      error row i + w - r                              (wpus + 2 rows)
  3x3 BP s2:      error row (i + w, i + w, i + w - 1)[r]           (wpus + 1 rows)
  1x1:            PE row 3 w + r streams map row i + 3 w + r        (3 wpus rows)
Rows outside the map are padding: no read, zeros.
"""

import numpy as np

from sim.golden.pe import Phase

__all__ = ["banks", "entries", "image", "rows_for", "bank_reads"]


def banks(cfg):
    return cfg.pe_rows * cfg.wpus


def _address(row, cp, cb, pairs, blocks, cfg):
    return ((row // banks(cfg)) * pairs + cp) * blocks + cb


def entries(h, w, blocks, cfg):
    """Entries per bank a map of h rows, w columns and `blocks` channel blocks occupies."""
    return -(-h // banks(cfg)) * -(-w // 2) * blocks


def image(x, cfg, base=0):
    """{(bank, address): [[P codes] for the two coordinates]} for one map x [C, H, W] stored
    from entry `base` of every bank."""
    x = np.asarray(x)
    c, h, w = x.shape
    p = cfg.pe_cols
    pairs, blocks = -(-w // 2), -(-c // p)
    xp = np.zeros((blocks * p, h, 2 * pairs), x.dtype)
    xp[:c, :, :w] = x
    depth = 1 << cfg.ibuf_bits
    if base + entries(h, w, blocks, cfg) > depth:
        raise ValueError(f"a {c}x{h}x{w} map from entry {base} needs more than the {depth} "
                         f"entries per bank: split it into tiles")
    out = {}
    for r in range(h):
        for cp in range(pairs):
            for cb in range(blocks):
                out[(r % banks(cfg), base + _address(r, cp, cb, pairs, blocks, cfg))] = [
                    [int(v) for v in xp[cb * p:cb * p + p, r, 2 * cp + j]] for j in range(2)]
    return out


def rows_for(mode, i, cfg):
    """[(w, r) -> row] for the beat of output-row group i (rows may lie outside the map)."""
    ph, s, k = mode
    out = {}
    for w in range(cfg.wpus):
        for r in range(cfg.pe_rows):
            if k == 1:
                out[(w, r)] = i + 3 * w + r
            elif ph == Phase.BP:
                out[(w, r)] = i + w - r if s == 1 else (i + w, i + w, i + w - 1)[r]
            else:
                out[(w, r)] = s * (i + w) + r
    return out


def bank_reads(rows, h, cfg):
    """{bank: row} the beat reads (rows inside the map only); raises on a bank conflict."""
    reads = {}
    for row in sorted(set(rows.values())):
        if 0 <= row < h:
            b = row % banks(cfg)
            if b in reads:
                raise AssertionError(f"bank {b} wanted by rows {reads[b]} and {row}")
            reads[b] = row
    return reads
