"""The A-Core's Division under Verilator against the golden op_div, whole operand range."""

from hw.config import small
from hw.divider import Divider
from sim.runner import run_cocotb

CFG = small()


def test_divider_full_range():
    run_cocotb(Divider(CFG), "divider", "sim.tb.tb_divider", CFG)
