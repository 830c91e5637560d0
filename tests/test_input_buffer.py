"""Input buffer: the layout's conflict freedom over patterns and tile shapes, and the RTL."""

import numpy as np
import pytest

from hw.config import small, vc709
from hw.input_buffer import InputBuffer
from sim.golden import input_buffer as golden
from sim.golden import pe
from sim.runner import run_cocotb


@pytest.mark.parametrize("cfg", [small(), vc709()], ids=["small", "vc709"])
def test_every_pattern_reads_each_bank_once(cfg):
    """Every pattern, every output-row group of maps from 1 to 60 rows: no bank conflict, and
    the rows a beat shares are read once (fewer reads than slots where windows overlap)."""
    for mode in pe.MODES:
        for h in range(1, 61):
            for i in range(-2, h + 1):
                rows = golden.rows_for(mode, i, cfg)
                reads = golden.bank_reads(rows, h, cfg)
                inside = {r for r in rows.values() if 0 <= r < h}
                assert set(reads.values()) == inside


def test_layout_holds_every_entry_once():
    cfg = small()
    x = np.random.default_rng(2).integers(0, 256, (3, 7, 5))
    img = golden.image(x, cfg)
    assert len(img) == 7 * 3 * 2                              # rows x pairs x blocks
    with pytest.raises(ValueError, match="split it into tiles"):
        golden.image(np.zeros((64, 64, 64), int), cfg)


def test_input_buffer_rtl():
    cfg = small()
    run_cocotb(InputBuffer(cfg), "input_buffer", "sim.tb.tb_input_buffer", cfg)
