"""The C-Core running a layer tile by tile from its buffers: the tile descriptors, the reads
its sequencer makes for them, and where each result lands (the expected values come from
sim.golden.conv, never from here).

A tile streams a band of row groups of one map (input-channel block `cb`) through the array
with one set of weights. Group g covers `step` output rows from `row0 + g step`: WPU w takes
output row row0 + g step + w (1x1: PE row r of WPU w takes map row row0 + g step + 3w + r).
Each beat reads one entry per (WPU, PE row) slot from the input buffer (`slot_row`, column
pair `beat_cols`); the array's results go to the partial-sum buffer in transfer order:
address t holds the tile's t-th array transfer, lane L = ((k wpus + w) pe_rows + r) 3 + l
being lane l of PE row r, column 0, of WPU w of cluster k. A WG tile makes one transfer; its
column c, summed over the WPUs, goes to address c in WPU 0's lanes. Tiles of one band
accumulate (`first` on the first one); on the last (`emit`) the sums leave as they are
written, in address order.
"""

import numpy as np

from sim.golden import conv
from sim.golden import input_buffer as ibuf
from sim.golden import weight_buffer as wbuf
from sim.golden.pe import LANES, Mode, Phase

__all__ = ["Layer", "wg1x1_as_fp", "wg1x1_result", "step", "beats_per_row", "row_transfers", "slot_row", "beat_cols",
           "tiles", "places", "assemble", "lane"]


def lane(cfg, k, w, r, l):
    return ((k * cfg.wpus + w) * cfg.pe_rows + r) * LANES + l


def lanes(cfg):
    return cfg.clusters * cfg.wpus * cfg.pe_rows * LANES


def step(mode, cfg):
    """Output rows per group."""
    return LANES * cfg.wpus if mode.k == 1 else cfg.wpus


def beats_per_row(mode, w):
    ph, s, k = mode
    if k == 1:
        return w
    if s == 1:
        return w + 2                   # one padding coordinate each side
    return w + 1 if ph == Phase.BP else (w + 3) // 2


def row_transfers(mode, w):
    """Array transfers per group (WG: none until the tile's last beat)."""
    ph, s, k = mode
    if ph == Phase.WG:
        return 0
    if ph == Phase.BP and s == 2:
        return w + 1
    return (w + 1) // 2 if s == 2 else w


def slot_row(mode, base, w, r):
    """Input-buffer row of slot (w, r) in the group whose first output row is `base`
    (outside [0, h): padding, read as zeros)."""
    ph, s, k = mode
    if k == 1:
        return base + LANES * w + r
    if ph == Phase.BP:
        return base + w + 1 - r if s == 1 else base + w - (r == 2)
    return s * (base + w) + r - 1


def beat_cols(mode, q):
    """(input column the beat reads, how its x lanes come from the entries): 'one' takes
    coordinate col of the entry; 'pair' takes the previous entry's odd coordinate (col - 1)
    and this entry's even one (col)."""
    ph, s, k = mode
    if k == 1 or (ph == Phase.BP and s == 2):
        return q, "one"
    if s == 1:
        return q - 1, "one"
    return 2 * q, "pair"


class Layer:
    """A layer as the C-Core runs it: mode, channels, FP input size (h, w). Pad 1 for 3x3,
    0 for 1x1; FC is a 1x1 layer on a batch laid out as a B x 1 map; 1x1 WG runs as a 1x1
    FP layer (`wg1x1_as_fp`)."""

    def __init__(self, mode, cin, cout, h, w, cfg):
        self.mode, self.cfg = Mode(*mode), cfg
        ph, s, k = self.mode
        if ph == Phase.WG and k == 1:
            raise ValueError("1x1 WG (and FC WG) runs as a 1x1 FP layer on transposed "
                             "operands: use ccore.wg1x1_as_fp")
        for name, v in (("cin", cin), ("cout", cout), ("h", h), ("w", w)):
            if not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive int, not {v!r}")
        self.cin, self.cout, self.h, self.w = cin, cout, h, w
        K, P = cfg.clusters, cfg.pe_cols
        pad = 0 if k == 1 else 1
        self.oh, self.ow = conv.out_size(h, k, s, pad), conv.out_size(w, k, s, pad)
        up = lambda v, m: -(-v // m) * m
        if k == 1:
            self.cout_p = up(cout, LANES * K)
            self.cin_p = up(cin, int(np.lcm(P, LANES * K)))
        else:
            self.cout_p, self.cin_p = up(cout, K), up(cin, P)

    def pad_w(self, w):
        """Weights [cout, cin(, 3, 3)] -> zero-padded to the buffer's channel multiples."""
        w = np.asarray(w)
        out = np.zeros((self.cout_p, self.cin_p) + w.shape[2:], w.dtype)
        out[:self.cout, :self.cin] = w
        return out

    def pad_c(self, x, c):
        x = np.asarray(x)
        out = np.zeros((c,) + x.shape[1:], x.dtype)
        out[:x.shape[0]] = x
        return out

    @property
    def streamed(self):
        """(channels, rows, cols) of the map in the input buffer."""
        if self.mode.phase == Phase.BP:
            return self.cout_p, self.oh, self.ow
        return self.cin_p, self.h, self.w

    @property
    def out_shape(self):
        ph, s, k = self.mode
        if ph == Phase.FP:
            return self.cout_p, self.oh, self.ow
        if ph == Phase.BP:
            return self.cin_p, self.h, self.w
        return self.cout_p, self.cin_p, 3, 3


def wg1x1_as_fp(cin, cout, h, w, x, e, cfg):
    """dw[o, c] = sum_p e[o, p] x[c, p] is a 1x1 FP layer whose input channels are the
    pixels p: weights E [cout, h w], input map X^T [h w, H', W'] with input channel c at
    (c div W', c mod W'). Returns (layer, x', w'); its output y'[o, c div W', c mod W'] is
    dw[o, c]. The DMA (or host) writes the operands transposed; the array needs nothing new.
    The map is shaped so one row group (3 wpus rows) covers it where it can."""
    npix = h * w
    wd = -(-cin // (LANES * cfg.wpus))
    hd = -(-cin // wd)
    xt = np.zeros((npix, hd * wd), np.asarray(x).dtype)
    xt[:, :cin] = np.asarray(x).reshape(cin, npix).T
    layer = Layer((Phase.FP, 1, 1), npix, cout, hd, wd, cfg)
    return layer, xt.reshape(npix, hd, wd), np.asarray(e).reshape(cout, npix)


def wg1x1_result(y, cin):
    """y' [cout, H', W'] of wg1x1_as_fp's layer -> dw [cout, cin]."""
    return np.asarray(y).reshape(y.shape[0], -1)[:, :cin]


def _groups(layer):
    """Row groups of the layer, and the rows the groups must cover."""
    ph, s, k = layer.mode
    if ph == Phase.BP:
        rows = layer.h // 2 + 1 if s == 2 else layer.h
    else:
        rows = layer.oh if k == 3 else layer.h
    return -(-rows // step(layer.mode, layer.cfg))


def tiles(layer):
    """The tile descriptors (dicts, the RTL's `ccore_tile_layout`) of a whole layer, in the
    order they run; raises ValueError naming what does not fit."""
    cfg, (ph, s, k) = layer.cfg, layer.mode
    K, P, depth = cfg.clusters, cfg.pe_cols, 1 << cfg.psum_bits
    c, h, w = layer.streamed
    ibuf.image(np.zeros((c, h, w), np.int64), cfg)      # raises if the map does not fit
    wshape = (layer.cout_p, layer.cin_p) + ((3, 3) if k == 3 else ())
    wbuf.image(np.zeros(wshape, np.int64), cfg)         # likewise the weights
    blocks = c // P
    per_row = row_transfers(layer.mode, w)
    if per_row > depth:
        raise ValueError(f"a row of {w} columns makes {per_row} transfers; the partial-sum "
                         f"buffer holds {depth}: split the map's columns")
    n = _groups(layer)
    band = n if ph == Phase.WG else depth // per_row
    bands = [(b, min(band, n - b)) for b in range(0, n, band)]
    mode = {"phase": int(ph), "stride2": int(s == 2), "k1": int(k == 1)}
    base = dict(mode=mode, h=h, w=w, blocks=blocks, eh=0, ew=0, eblocks=0, eb=0)
    out = []
    if ph == Phase.WG:
        for og in range(layer.cout_p // K):
            for cb in range(blocks):
                for b0, nb in bands:
                    out.append(dict(base, cb=cb, row0=b0 * step(layer.mode, cfg), groups=nb,
                                    wgroup=0, wblk=0, wblocks=0, eh=layer.oh, ew=layer.ow,
                                    eblocks=layer.cout_p // P, eb=og,
                                    first=int(b0 == 0), emit=int(b0 + nb == n)))
        return out
    outer = (layer.cout_p if ph == Phase.FP else layer.cin_p) // (K * (LANES if k == 1 else 1))
    wblocks = layer.cin_p // P
    for g in range(outer):
        for b0, nb in bands:
            for cb in range(blocks):
                out.append(dict(base, cb=cb, row0=b0 * step(layer.mode, cfg), groups=nb,
                                wgroup=g, wblk=cb, wblocks=wblocks,
                                first=int(cb == 0), emit=int(cb == blocks - 1)))
    return out


def transfers(tile, cfg):
    """Partial-sum addresses a tile writes (and an emitting tile reads out)."""
    mode = Mode(*_mode(tile))
    if mode.phase == Phase.WG:
        return cfg.pe_cols
    return tile["groups"] * row_transfers(mode, tile["w"])


def _mode(tile):
    m = tile["mode"]
    return Phase(m["phase"]), 2 if m["stride2"] else 1, 1 if m["k1"] else 3


def places(layer, tile):
    """{(address, lane): index in the output tensor (padded channels)} for an emitting tile.
    WG: address c holds column c's dw entries, the WPUs' partial sums added, in WPU 0's
    lanes."""
    cfg, (ph, s, k) = layer.cfg, layer.mode
    K, P, W = cfg.clusters, cfg.pe_cols, cfg.wpus
    st = step(layer.mode, cfg)
    out = {}
    if ph == Phase.WG:
        og, cb = tile["eb"], tile["cb"]
        for c in range(P):
            for kk in range(K):
                for r in range(cfg.pe_rows):
                    for l in range(LANES):
                        out[(c, lane(cfg, kk, 0, r, l))] = (og * K + kk, cb * P + c, r, l)
        return out
    per_row = row_transfers(layer.mode, tile["w"])
    g_of = tile["wgroup"]
    for g in range(tile["groups"]):
        base = tile["row0"] + g * st
        for j in range(per_row):
            t = g * per_row + j
            for kk in range(K):
                for w in range(W):
                    if k == 1:
                        for r in range(cfg.pe_rows):
                            row = base + LANES * w + r
                            if row >= layer.h:
                                continue
                            for l in range(LANES):
                                ch = (LANES * (g_of * K + kk) + l if ph == Phase.FP
                                      else LANES * K * g_of + l * K + kk)
                                out[(t, lane(cfg, kk, w, r, l))] = (ch, row, j)
                    elif ph == Phase.FP:
                        if base + w < layer.oh:
                            out[(t, lane(cfg, kk, w, 0, 0))] = (g_of * K + kk, base + w, j)
                    elif s == 1:
                        if base + w < layer.h:
                            out[(t, lane(cfg, kk, w, 0, 0))] = (g_of * K + kk, base + w, j)
                    else:
                        i = base + w
                        for r, p in ((0, 2 * i), (1, 2 * i + 1)):
                            for l in range(2):
                                y, x = p - 1, 2 * j + l - 1
                                if 0 <= y < layer.h and 0 <= x < layer.w:
                                    out[(t, lane(cfg, kk, w, r, l))] = (g_of * K + kk, y, x)
    return out


def assemble(layer, emitted):
    """emitted: [(tile, [[(value, ovf)] per lane] per address)] -> (values, ovf) tensors in
    the output's shape (padded channels). Checks every output is produced exactly once."""
    vals = np.zeros(layer.out_shape, np.int64)
    ovf = np.zeros(layer.out_shape, bool)
    hits = np.zeros(layer.out_shape, np.int64)
    for tile, rows in emitted:
        for (t, l), idx in places(layer, tile).items():
            v, o = rows[t][l]
            vals[idx] = v
            ovf[idx] = bool(o)
            hits[idx] += 1
    if not (hits == 1).all():
        bad = np.argwhere(hits != 1)[0]
        raise AssertionError(f"output {bad.tolist()} produced {hits[tuple(bad)]} times, "
                             f"not once")
    return vals, ovf


def tile_reads(layer, tile):
    """Per beat, the {slot: row} the input buffer reads (for the bank-conflict checks)."""
    cfg, mode = layer.cfg, layer.mode
    h = tile["h"]
    out = []
    for g in range(tile["groups"]):
        base = tile["row0"] + g * step(mode, cfg)
        rows = {(w, r): slot_row(mode, base, w, r) for w in range(cfg.wpus)
                for r in range(cfg.pe_rows)}
        for _ in range(beats_per_row(mode, tile["w"])):
            out.append({sl: row for sl, row in rows.items() if 0 <= row < h})
    return out
