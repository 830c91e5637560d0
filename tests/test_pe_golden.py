"""The PE's golden view: the beats of a row reproduce the row functions; bad modes and
plans raise."""

import numpy as np
import pytest

from sim.golden import pe, wpu
from sim.golden.pe import Phase


@pytest.mark.parametrize("bad,msg", [
    ((Phase.FP, 1, 5), "kernel must be 1 or 3, not 5"),
    ((Phase.FP, 3, 3), "stride must be 1 or 2, not 3"),
    ((Phase.WG, 2, 1), "a 1x1 pattern runs at stride 1"),
])
def test_bad_modes_raise(bad, msg):
    with pytest.raises(ValueError, match=msg):
        pe.Mode(*bad)


def test_plan_rejects_wrong_channel_count():
    x = np.zeros((3, 4, 4), np.int64)
    with pytest.raises(ValueError, match="the WPU has 2 columns; give it exactly 2 channels"):
        wpu.plan_layer(pe.Mode(Phase.FP, 1, 3), x, np.zeros((1, 3, 3, 3), np.int64), cols=2)


@pytest.mark.parametrize("mode", pe.MODES, ids=repr)
def test_beats_cover_the_row(mode):
    """Every input value of the row appears in the beats, in order, exactly once."""
    row = list(range(1, 12))
    e = list(range(100, 105)) if mode.k == 3 else [list(range(200, 211))] * 3
    beats = pe.beats_for(mode, row, e if mode.phase == Phase.WG else None)
    seen = [v for b in beats for v in b["x"] if v]
    assert seen == row
    assert beats[0]["row"] == 1 and sum(b["row"] for b in beats) == 1
