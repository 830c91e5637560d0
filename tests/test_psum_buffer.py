# amaranth: UnusedElaboratable=no
"""Partial-sum buffer under Verilator against its golden model."""

import pytest

from hw.config import small
from hw.psum_buffer import PsumBuffer
from sim.golden.psum_buffer import PsumModel
from sim.runner import run_cocotb


def test_psum_buffer_rtl():
    cfg = small()
    run_cocotb(PsumBuffer(cfg, lanes=3), "psum_buffer", "sim.tb.tb_psum_buffer", cfg)


def test_model_saturates_and_flags():
    cfg = small()
    m = PsumModel(2, cfg)
    top = (1 << 31) - 1
    m.accumulate(1, 3, [(top, 0), (5, 0)])
    m.accumulate(0, 3, [(top, 0), (-5, 1)])
    assert m.read(3) == [(top, 1), (0, 1)]          # clamped on read-out; sticky input flag
    m.accumulate(0, 3, [(-top, 0), (0, 0)])
    assert m.read(3) == [(top, 0), (0, 1)]          # exact sum back in range: not clamped
    assert m.accumulate(1, 3, [(1, 0), (2, 0)], emit=True) == [(1, 0), (2, 0)]
    assert m.read(3) == [(1, 0), (2, 0)]            # `first` restarts sum and flag
    # The sum saturates at psum_sum_bits (35): 8 full-scale tiles are exact, a 9th is not.
    m2 = PsumModel(1, cfg)
    m2.accumulate(1, 0, [(top, 0)])
    for _ in range(7):
        m2.accumulate(0, 0, [(top, 0)])
    assert m2.mem[0] == [(8 * top, 0)] and m2.read(0) == [(top, 1)]
    m2.accumulate(0, 0, [(top, 0)])
    assert m2.mem[0] == [((1 << (cfg.psum_sum_bits - 1)) - 1, 1)]
    with pytest.raises(ValueError, match="beyond"):
        m.accumulate(1, 1 << cfg.psum_bits, [(0, 0), (0, 0)])


def test_bad_lanes():
    with pytest.raises(ValueError, match="lanes"):
        PsumBuffer(small(), lanes=0)
