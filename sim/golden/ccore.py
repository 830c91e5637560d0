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

from hw.isa.modes import LANES, Mode, Phase, psum_lane
from hw.isa.tile import Tile
from sim.golden import conv
from sim.golden import input_buffer as ibuf
from sim.golden import weight_buffer as wbuf

__all__ = ["Layer", "Tile", "wg1x1_as_fp", "wg1x1_result", "step", "beats_per_row",
           "row_transfers", "groups_for", "slot_row", "beat_cols", "tiles", "transfers",
           "beats", "places", "tile_places", "out_rows", "assemble", "lane", "lanes"]


lane = psum_lane         # the one definition, shared with the STORE unit


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


def out_rows(mode, h, oh):
    """The rows a layer's groups must cover: output rows (FP, WG 3x3), the map's rows (1x1,
    BP stride 1), or error rows plus one (BP stride 2: error row i makes output rows 2i - 1,
    2i; h is the FP input's)."""
    ph, s, k = mode
    if ph == Phase.BP:
        return h // 2 + 1 if s == 2 else h
    return oh if k == 3 else h


def groups_for(mode, rows, cfg):
    """Row groups that cover `rows` rows."""
    return -(-rows // step(mode, cfg))


def _groups(layer):
    return groups_for(layer.mode, out_rows(layer.mode, layer.h, layer.oh), layer.cfg)


def tiles(layer, pbase=0):
    """The tile descriptors (`Tile`) of a whole layer held in the buffers (from entry 0), in
    the order they run; raises ValueError naming what does not fit."""
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
    if pbase + (P if ph == Phase.WG else band * per_row) > depth:
        raise ValueError(f"partial sums from {pbase} overrun the buffer's {depth}")
    base = dict(mode=layer.mode, h=h, w=w, blocks=blocks, pbase=pbase)
    out = []
    if ph == Phase.WG:
        for og in range(layer.cout_p // K):
            for cb in range(blocks):
                for b0, nb in bands:
                    out.append(Tile(**base, cb=cb, row0=b0 * step(layer.mode, cfg), groups=nb,
                                    eh=layer.oh, ew=layer.ow, eblocks=layer.cout_p // P, eb=og,
                                    first=int(b0 == 0), emit=int(b0 + nb == n)))
        return out
    outer = (layer.cout_p if ph == Phase.FP else layer.cin_p) // (K * (LANES if k == 1 else 1))
    wblocks = layer.cin_p // P
    for g in range(outer):
        for b0, nb in bands:
            for cb in range(blocks):
                out.append(Tile(**base, cb=cb, row0=b0 * step(layer.mode, cfg), groups=nb,
                                wgroup=g, wblk=cb, wblocks=wblocks,
                                first=int(cb == 0), emit=int(cb == blocks - 1)))
    return out


def transfers(tile, cfg):
    """Partial-sum addresses a tile writes (and an emitting tile reads out)."""
    if tile.mode.phase == Phase.WG:
        return cfg.pe_cols
    return tile.groups * row_transfers(tile.mode, tile.w)


def beats(tile):
    """Beats the tile streams through the array (one per cycle when nothing stalls)."""
    return tile.groups * beats_per_row(tile.mode, tile.w)


def places(layer, tile):
    """{(address, lane): index in the output tensor (padded channels)} for an emitting tile.
    WG: address c holds column c's dw entries, the WPUs' partial sums added, in WPU 0's
    lanes."""
    out_h, out_w = (layer.oh, layer.ow) if layer.mode.phase == Phase.FP else \
        (layer.h, layer.w)
    return tile_places(tile, out_h, out_w, layer.cfg)


def tile_places(tile, out_h, out_w, cfg):
    """`places` for a tile whose rows and channels are the output's own (`row0`, `wgroup`,
    `cb`, `eb` absolute), with the output map out_h x out_w: outputs beyond it are dropped."""
    ph, s, k = tile.mode
    K, P, W = cfg.clusters, cfg.pe_cols, cfg.wpus
    st = step(tile.mode, cfg)
    out = {}
    if ph == Phase.WG:
        og, cb = tile.eb, tile.cb
        for c in range(P):
            for kk in range(K):
                for r in range(cfg.pe_rows):
                    for l in range(LANES):
                        out[(c, lane(cfg, kk, 0, r, l))] = (og * K + kk, cb * P + c, r, l)
        return out
    per_row = row_transfers(tile.mode, tile.w)
    g_of = tile.wgroup
    for g in range(tile.groups):
        base = tile.row0 + g * st
        for j in range(per_row):
            t = g * per_row + j
            for kk in range(K):
                for w in range(W):
                    if k == 1:
                        for r in range(cfg.pe_rows):
                            row = base + LANES * w + r
                            if row >= out_h:
                                continue
                            for l in range(LANES):
                                ch = (LANES * (g_of * K + kk) + l if ph == Phase.FP
                                      else LANES * K * g_of + l * K + kk)
                                out[(t, lane(cfg, kk, w, r, l))] = (ch, row, j)
                    elif ph == Phase.FP:
                        if base + w < out_h:
                            out[(t, lane(cfg, kk, w, 0, 0))] = (g_of * K + kk, base + w, j)
                    elif s == 1:
                        if base + w < out_h:
                            out[(t, lane(cfg, kk, w, 0, 0))] = (g_of * K + kk, base + w, j)
                    else:
                        i = base + w
                        for r, p in ((0, 2 * i), (1, 2 * i + 1)):
                            for l in range(2):
                                y, x = p - 1, 2 * j + l - 1
                                if 0 <= y < out_h and 0 <= x < out_w:
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
    h = tile.h
    out = []
    for g in range(tile.groups):
        base = tile.row0 + g * step(mode, cfg)
        rows = {(w, r): slot_row(mode, base, w, r) for w in range(cfg.wpus)
                for r in range(cfg.pe_rows)}
        for _ in range(beats_per_row(mode, tile.w)):
            out.append({sl: row for sl, row in rows.items() if 0 <= row < h})
    return out


def weight_top(tile, cfg, nblk=1):
    """The largest weight-buffer address (from `wbase`) a tile's weight reads touch (of the
    last of `nblk` tiles whose weight block advances)."""
    g, b, cb = tile.wgroup, tile.wblk + nblk - 1, tile.wblocks
    bp = tile.mode.phase == Phase.BP
    if tile.mode.k == 1:
        return b * (cb // LANES) + g if bp else (LANES * g + LANES - 1) * (cb // LANES) + b // LANES
    return ((b * cb + g) if bp else (g * cb + b)) * 3 + 2


def check_tile(tile, cfg, nblk=1):
    """Raise ValueError naming why the C-Core would refuse the tile (its `error`); with
    nblk, the same for the run of `nblk` tiles a TILE descriptor makes of it (channel block
    advancing; WG: pbase too, by pe_cols)."""
    if nblk > 1:
        check_tile(tile, cfg)
        last = tile.cb + nblk - 1
        if last >= tile.blocks:
            raise ValueError(f"channel block {last} of a map with {tile.blocks}")
        ph = tile.mode.phase
        if ph == Phase.WG and tile.pbase + nblk * cfg.pe_cols > 1 << cfg.psum_bits:
            raise ValueError(f"sums from {tile.pbase} overrun the partial-sum buffer")
        if ph != Phase.WG:
            inner = tile.wblk + nblk - 1 if ph == Phase.FP else \
                (LANES * tile.wgroup + LANES - 1 if tile.mode.k == 1 else tile.wgroup)
            if inner >= tile.wblocks or \
                    tile.wbase + weight_top(tile, cfg, nblk) >= 1 << cfg.wbuf_bits:
                raise ValueError("the weight read is outside the layer or the weight buffer")
        return
    ph, s, k = tile.mode
    depth, wd, pd = 1 << cfg.ibuf_bits, 1 << cfg.wbuf_bits, 1 << cfg.psum_bits
    if k == 1 and ph == Phase.WG:
        raise ValueError("1x1 WG runs as 1x1 FP on transposed operands")
    if min(tile.h, tile.w, tile.groups, tile.blocks) == 0:
        raise ValueError("a tile with no rows, columns, groups or channel blocks")
    if tile.cb >= tile.blocks:
        raise ValueError(f"channel block {tile.cb} of a map with {tile.blocks}")
    if tile.xbase + ibuf.entries(tile.h, tile.w, tile.blocks, cfg) > depth:
        raise ValueError(f"the map from entry {tile.xbase} overruns the input buffer")
    if tile.pbase + transfers(tile, cfg) > pd:
        raise ValueError(f"sums from {tile.pbase} overrun the partial-sum buffer ({pd})")
    if ph == Phase.WG:
        if min(tile.eh, tile.ew) == 0 or tile.eb >= tile.eblocks:
            raise ValueError("WG error map empty, or its block out of range")
        if tile.ebase + ibuf.entries(tile.eh, tile.ew, tile.eblocks, cfg) > depth:
            raise ValueError(f"the error map from entry {tile.ebase} overruns the error buffer")
    else:
        inner = (LANES * tile.wgroup + LANES - 1 if k == 1 else tile.wgroup) \
            if ph == Phase.BP else tile.wblk
        if inner >= tile.wblocks or tile.wbase + weight_top(tile, cfg) >= wd:
            raise ValueError("the weight read is outside the layer or the weight buffer")
        if k == 1 and tile.wblocks % LANES:
            raise ValueError("1x1 weights come in blocks of 3")


def band_rows(mode, g0, g1, rows, cfg):
    """The rows a band of groups [g0, g1) reads from its streamed map of `rows` rows:
    (base, y0, y1): the band's map holds rows [y0, y1) and its first group's base row is
    `base` in that map's rows (group g's base is base + (g - g0) step). A band after the
    first keeps one row of halo above it (two for stride 2, keeping rows even), so its base
    is 1; 1x1 needs no halo."""
    ph, s, k = mode
    st = step(mode, cfg)
    o0, o_last = g0 * st, g1 * st - 1
    if k == 1:
        return 0, o0, min(rows, o_last + 1)
    base = min(o0, 1)
    if ph == Phase.BP:
        reach = o_last + 2 if s == 1 else o_last + 1
        return base, o0 - base, min(rows, reach)
    return base, s * (o0 - base), min(rows, s * o_last + 2)


def wg_error_rows(g0, g1, eh, cfg):
    """WG: the error rows a band of output-row groups reads: [y0, y1), in step with
    `band_rows`'s x map (one row above from the second band on)."""
    o0 = g0 * cfg.wpus
    base = min(o0, 1)
    return o0 - base, min(eh, g1 * cfg.wpus)
