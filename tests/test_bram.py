"""The BRAM budget's block counting against the 7-series block RAM aspect ratios."""

import pytest

from hw.config import vc709
from sim.bram import budget, ramb36


@pytest.mark.parametrize("depth,width,want", [
    (512, 72, 1), (512, 73, 1.5),          # one RAMB36 at 512 x 72, then a RAMB18 more
    (512, 36, 0.5), (64, 16, 0.5),         # a RAMB18 at 512 x 36
    (1024, 128, 4), (1024, 64, 2),         # 1K x 36
    (4096, 67, 8), (512, 49, 1),           # 4K x 9; 49 bits: a RAMB36 or two RAMB18s
])
def test_blocks_per_memory(depth, width, want):
    assert ramb36(depth, width) == want


def test_vc709_banks():
    """24 weight banks of 1K x 64 bits (two RAMB36 each); 216 partial-sum lanes of 512 x 36
    bits (one RAMB18 each)."""
    rows = dict((name, n) for name, _, n in budget(vc709()))
    assert rows["weight buffer"] == 24 * 2 and rows["partial-sum buffer"] == 108
