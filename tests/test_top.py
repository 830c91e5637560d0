# amaranth: UnusedElaboratable=no
"""The accelerator's top through the runtime's RTL backend: a compiled training step from
DRAM, bit-identical with the golden machine."""

from hw.config import small
from hw.top import Top
from sim.runner import run_cocotb


def test_training_step_from_dram():
    cfg = small()
    run_cocotb(Top(cfg), "top", "sim.tb.tb_top", cfg, testcase="training_step")


def test_errors_stop_and_recover():
    cfg = small()
    run_cocotb(Top(cfg), "top", "sim.tb.tb_top", cfg, testcase="errors")
