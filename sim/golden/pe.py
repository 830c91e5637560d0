"""The PE's view of a row: how a row is presented as beats, and what must come out (Fig. 6).

A beat is one accepted input transfer: x lanes (two adjacent coordinates of the input row),
e lanes (errors, WG patterns only), and flags row (a new row starts), first (new sums start:
WG), last (emit the sums after this beat: WG). `beats_*` build the beat streams; the
expected outputs come from sim.golden.conv's row functions, never from the PE's schedule.
"""

import numpy as np

from hw.isa.modes import LANES, MODES, Mode, Phase
from . import conv

__all__ = ["Phase", "Mode", "MODES", "Beat", "beats_for", "expected_for", "LANES"]


def Beat(x0=0, x1=0, e=(0, 0, 0), row=0, first=0, last=0):
    return {"x": [int(x0), int(x1)], "e": [int(v) for v in e], "row": row, "first": first,
            "last": last}


def _mark(beats, first, last):
    beats[0]["row"] = 1
    if first:
        beats[0]["first"] = 1
    if last:
        beats[-1]["last"] = 1
    return beats


def beats_for(mode, row, e=None, first=True, last=True, bp_pad=None):
    """Beats presenting one row (codes). FP: the padded input row; BP: the error row (the
    kernel taps reach it as in Fig. 6); WG: the padded input row with its error row e; 1x1 WG:
    e is [3, n], one error row per output channel.

    BP stride 1 feeds the error row with `bp_pad` zeros each side (k-1, the default, gives
    every output of the full correlation; k-1-pad gives just the layer's unpadded row)."""
    row = [int(v) for v in row]
    ph, s, k = mode
    if k == 1:
        if ph == Phase.WG:
            return _mark([Beat(v, e=[e[o][i] for o in range(LANES)]) for i, v in enumerate(row)],
                         first, last)
        return _mark([Beat(v) for v in row], first, last)
    if ph == Phase.FP and s == 1:
        return _mark([Beat(v) for v in row], first, last)
    if ph == Phase.BP and s == 1:
        z = [0] * (k - 1 if bp_pad is None else bp_pad)
        return _mark([Beat(v) for v in z + row + z], first, last)
    if ph == Phase.FP and s == 2:
        pairs = row + [0] * (len(row) % 2)
        return _mark([Beat(pairs[i], pairs[i + 1]) for i in range(0, len(pairs), 2)],
                     first, last)
    if ph == Phase.BP and s == 2:
        # One trailing beat drains the last even output (its w2 tap).
        return _mark([Beat(v) for v in row + [0]], first, last)
    e = [int(v) for v in e]
    if s == 1:
        ev = e + [0] * (len(row) - len(e))
        return _mark([Beat(v, e=(ev[i], 0, 0)) for i, v in enumerate(row)], first, last)
    pairs = row + [0] * (len(row) % 2)
    n = len(pairs) // 2
    ev = e + [0] * (n - len(e))
    return _mark([Beat(pairs[2 * i], pairs[2 * i + 1], e=(ev[i], 0, 0)) for i in range(n)],
                 first, last)


def expected_for(mode, t_row, t_w=None, t_e=None, bp_pad=None):
    """Expected output lanes (exact integers) for one row in decoded values, one list per
    output transfer. FP/BP: one value (two for BP stride 2) per transfer; 1x1 FP/BP: the three
    output channels per pixel; WG: one transfer with the three sums."""
    ph, s, k = mode
    if k == 1:
        if ph == Phase.WG:
            return [[int(np.dot(t_e[o], t_row)) for o in range(LANES)]]
        return [[int(t_w[o] * v) for o in range(LANES)] for v in t_row]
    if ph == Phase.FP:
        return [[int(v)] for v in conv.row_fp(t_row, t_w, s)]
    if ph == Phase.BP:
        n = len(t_row)
        full = conv.row_bp(t_row, t_w, s, s * (n - 1) + k)
        if s == 1:
            cut = k - 1 - (k - 1 if bp_pad is None else bp_pad)
            return [[int(v)] for v in full[cut:len(full) - cut]]
        full = np.append(full, 0)                     # the drain beat's odd output
        return [[int(full[2 * i]), int(full[2 * i + 1])] for i in range(len(full) // 2)]
    return [[int(v) for v in conv.row_wg(t_row, t_e, s, k)]]
