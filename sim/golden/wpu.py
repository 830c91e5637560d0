"""How a small layer runs on one WPU: which row each PE sees, which weights it holds, and
where each result lands. The expected values come from sim.golden.conv, not from here.

A plan has `weights[r][c]` (three codes per PE), `beats` (WPU beats: per-PE data, shared
flags) and `place(transfers)`, which scatters the WPU's output transfers into the layer's
output tensor (int64, exact sums; saturation is the caller's).
"""

import numpy as np

from hw.isa.modes import LANES, Phase
from . import conv, pe

__all__ = ["Plan", "plan_layer"]


class Plan:
    def __init__(self, weights, beats, shape, places):
        self.weights, self.beats, self.shape, self._places = weights, beats, shape, places

    @property
    def transfers(self):
        """How many output transfers the WPU makes for this plan."""
        return len(self._places)

    def place(self, transfers):
        """transfers: list of [r][c][lane] values -> the output tensor."""
        if len(transfers) != len(self._places):
            raise ValueError(f"expected {len(self._places)} transfers, got {len(transfers)}")
        out = np.zeros(self.shape, np.int64)
        for t, spots in zip(transfers, self._places):
            for (r, c, lane), index in spots:
                out[index] = t[r][c][lane]
        return out


def _merge(rows_of_beats, rows, cols):
    """Per-PE beat lists (all the same length) -> WPU beats."""
    n = len(rows_of_beats[0][0])
    out = []
    for i in range(n):
        b0 = rows_of_beats[0][0][i]
        out.append({
            "x": [[rows_of_beats[r][c][i]["x"] for c in range(cols)] for r in range(rows)],
            "e": [[rows_of_beats[r][c][i]["e"] for c in range(cols)] for r in range(rows)],
            "row": b0["row"], "first": b0["first"], "last": b0["last"],
        })
    return out


def plan_layer(mode, x, w=None, e=None, pad=1, rows=3, cols=2):
    """A plan for one output channel (3x3 FP/BP; all kernel entries of one output channel
    for WG) or three output channels (1x1), codes in, with `cols` input channels.

    FP: x [cols, H, W], w [1, cols, 3, 3]. BP: e (as x) [cols, He, We] errors of `cols`
    output channels, w [cols, 1, 3, 3]; output dx [1, H, W] with H = s(He-1)+3-2pad.
    WG 3x3: x [cols, H, W], e [1, He, We]. 1x1 FP: x [cols, H, W], w [3, cols]; 1x1 WG:
    x [cols, H, W], e [3*rows, H, W].
    """
    ph, s, k = mode
    if np.shape(x)[0] != cols:
        raise ValueError(f"the WPU has {cols} columns; give it exactly {cols} channels "
                         f"(pad with zero channels), not {np.shape(x)[0]}")
    zero_row = lambda n: [0] * n
    if k == 1 and ph != Phase.WG:
        # A 1x1 layer is a stream of pixels: each PE row takes a third of the map, flattened,
        # so no row is left idle whatever the map's height.
        c_, h, wd = x.shape
        weights = [[[int(w[l, c]) for l in range(LANES)] for c in range(cols)]
                   for _ in range(rows)]
        n = h * wd
        chunk = -(-n // rows)
        flat = np.pad(x.reshape(c_, n), ((0, 0), (0, rows * chunk - n)))
        per_pe = [[pe.beats_for(mode, flat[c, r * chunk:(r + 1) * chunk]) for c in range(cols)]
                  for r in range(rows)]
        places = []
        for j in range(chunk):
            places.append([((r, 0, l), (l, (r * chunk + j) // wd, (r * chunk + j) % wd))
                           for r in range(rows) if r * chunk + j < n for l in range(LANES)])
        return Plan(weights, _merge(per_pe, rows, cols), (LANES, h, wd), places)
    if k == 1:
        c_, h, wd = x.shape
        weights = [[[0] * LANES for _ in range(cols)] for _ in range(rows)]
        per_rows = []
        for i in range(h):
            per_rows.append([[pe.beats_for(mode, x[c, i], e[LANES * r:LANES * (r + 1), i],
                                           i == 0, i == h - 1)
                              for c in range(cols)] for r in range(rows)])
        beats = [b for pr in per_rows for b in _merge(pr, rows, cols)]
        places = [[((r, c, l), (LANES * r + l, c)) for r in range(rows) for c in range(cols)
                   for l in range(LANES)]]
        return Plan(weights, beats, (LANES * rows, cols), places)
    if ph == Phase.FP:
        xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))
        weights = [[[int(v) for v in w[0, c, r]] for c in range(cols)] for r in range(rows)]
        oh = conv.out_size(x.shape[1], 3, s, pad)
        ow = conv.out_size(x.shape[2], 3, s, pad)
        beats, places = [], []
        for i in range(oh):
            per_pe = [[pe.beats_for(mode, xp[c, s * i + r]) for c in range(cols)]
                      for r in range(rows)]
            beats += _merge(per_pe, rows, cols)
            places += [[((0, 0, 0), (i, j))] for j in range(ow)]
        return Plan(weights, beats, (oh, ow), places)
    if ph == Phase.BP:
        c_, he, we = x.shape
        weights = [[[int(v) for v in w[c, 0, r]] for c in range(cols)] for r in range(rows)]
        hp = s * (he - 1) + 3                      # padded output rows
        wp = s * (we - 1) + 3
        row = lambda c, i: x[c, i] if 0 <= i < he else zero_row(we)
        beats, places = [], []
        if s == 1:
            # Only the layer's rows and columns: padding rows are skipped, and the error
            # rows get k-1-pad zeros each side instead of k-1.
            for p in range(pad, hp - pad):
                per_pe = [[pe.beats_for(mode, row(c, p - r), bp_pad=2 - pad)
                           for c in range(cols)] for r in range(rows)]
                beats += _merge(per_pe, rows, cols)
                places += [[((0, 0, 0), (p - pad, q))] for q in range(wp - 2 * pad)]
            return Plan(weights, beats, (hp - 2 * pad, wp - 2 * pad), places)
        else:
            for i in range((hp + 1) // 2):
                src = (i, i, i - 1)                # PE rows 0, 2 -> even row, 1 -> odd row
                per_pe = [[pe.beats_for(mode, row(c, src[r])) for c in range(cols)]
                          for r in range(rows)]
                beats += _merge(per_pe, rows, cols)
                for n in range(we + 1):
                    spots = []
                    for g, p in ((0, 2 * i), (1, 2 * i + 1)):
                        for lane in range(2):
                            q = 2 * n + lane
                            if p < hp and q < wp:
                                spots.append(((g, 0, lane), (p, q)))
                    places.append(spots)
        return Plan(weights, beats, (hp, wp), places)
    # 3x3 WG: one accumulation over every output row.
    xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))
    weights = [[[0] * LANES for _ in range(cols)] for _ in range(rows)]
    he = e.shape[1]
    beats = []
    for i in range(he):
        per_pe = [[pe.beats_for(mode, xp[c, s * i + r], e[0, i], i == 0, i == he - 1)
                   for c in range(cols)] for r in range(rows)]
        beats += _merge(per_pe, rows, cols)
    places = [[((r, c, v), (c, r, v)) for r in range(rows) for c in range(cols)
               for v in range(LANES)]]
    return Plan(weights, beats, (cols, rows, 3), places)
