# amaranth: UnusedElaboratable=no
"""A-Core under Verilator: APUs in step plus PINT conversion, against the golden A-Core."""

import pytest

from hw.acore import ACore
from hw.config import small
from sim.runner import run_cocotb

CFG = small()


@pytest.mark.parametrize("case", ["frn_then_backward", "sgd_and_add"])
def test_acore(case):
    run_cocotb(ACore(CFG), "acore", "sim.tb.tb_acore", CFG, testcase=case)


def test_acore_rejects_bad_config():
    with pytest.raises(TypeError, match=r"'cfg' must be an EtaConfig"):
        ACore("small")
