"""The STORE unit's chunks (`hw.store`): how one transfer of C-Core sums is written, one
chunk (one DMA write command) per cycle, whether or not it lands inside the map."""

from .modes import LANES, Phase, psum_lane

__all__ = ["WORD", "CLASSES", "chunks", "chunk_class", "store_cycles"]

WORD = 4                # bytes of a stored sum

# Chunk classes: how a transfer's lanes map to (block, row, column) or weight positions.
FP3, BP3S2, FP1, BP1, WG, WG_CENTRE = range(6)
CLASSES = (FP3, BP3S2, FP1, BP1, WG, WG_CENTRE)


def chunks(cfg, cls):
    """The chunks of one transfer of class `cls`: (lanes, params). MAP32 classes: block =
    bm wgroup + ba, row = ym base + ya, column = xm j + xa (bm, ym, xm per class); WG: one
    lane, params (k, u, v) of the weight it holds (the unit gathers that lane from a tile's P
    beats: P words); WG_CENTRE: those with (u, v) = (1, 1)."""
    K, W, R = cfg.clusters, cfg.wpus, cfg.pe_rows
    out = []
    if cls == FP3:          # 3x3 FP (any stride), 3x3 BP stride 1: column 0 of each WPU
        for w in range(W):
            out.append(([psum_lane(cfg, q, w, 0, 0) for q in range(K)], (0, w, 0)))
    elif cls == BP3S2:      # 3x3 BP stride 2: each PE's 2 x 2 outputs
        for w in range(W):
            for r in range(2):
                for c in range(2):
                    out.append(([psum_lane(cfg, q, w, r, c) for q in range(K)],
                                (0, 2 * w + r - 1, c - 1)))
    elif cls == FP1:        # 1x1 FP: channel LANES (g K + k) + l: LANES blocks per group
        for w in range(W):
            for r in range(R):
                for h in range(LANES):
                    es = [h * K + q for q in range(K)]
                    out.append(([psum_lane(cfg, e // LANES, w, r, e % LANES) for e in es],
                                (h, LANES * w + r, 0)))
    elif cls == BP1:        # 1x1 BP: channel LANES K g + l K + k
        for w in range(W):
            for r in range(R):
                for c in range(LANES):
                    out.append(([psum_lane(cfg, q, w, r, c) for q in range(K)],
                                (c, LANES * w + r, 0)))
    else:                   # WG: output channel k, tap (u, v) of this beat's input channel
        for k in range(K):
            for u in range(R):
                for v in range(LANES):
                    if cls == WG or (u, v) == (1, 1):
                        out.append(([psum_lane(cfg, k, 0, u, v)], (k, u, v)))
    return out


def chunk_class(mode, centre=False):
    """The class of a tile's transfers, as the STORE unit picks it from the tile's mode
    (`centre`: a WIMG32_C store)."""
    if mode.phase == Phase.WG:
        return WG_CENTRE if centre else WG
    if mode.k == 1:
        return BP1 if mode.phase == Phase.BP else FP1
    return BP3S2 if mode.phase == Phase.BP and mode.stride == 2 else FP3


def store_cycles(cfg, mode, transfers, up2=False, centre=False):
    """Cycles the STORE unit spends on one tile at best: a cycle per transfer it gathers
    (WG: the tile's P beats) and a cycle per chunk, inside the map or not (up2: each of a
    chunk's 4 quadrants)."""
    cls = chunk_class(mode, centre)
    n = len(chunks(cfg, cls))
    if cls in (WG, WG_CENTRE):
        return transfers + n
    return transfers * n * (4 if up2 else 1)
