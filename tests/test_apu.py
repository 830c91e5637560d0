# amaranth: UnusedElaboratable=no
"""APU under Verilator: every workload program bit-exact against the golden A-Core."""

import pytest

from hw.apu import Apu
from hw.config import small
from sim.runner import run_cocotb

CFG = small()


@pytest.mark.parametrize("case", ["workloads", "bad_lengths_stop_with_error"])
def test_apu(case):
    run_cocotb(Apu(CFG), "apu", "sim.tb.tb_apu", CFG, testcase=case)


def test_apu_rejects_bad_config():
    with pytest.raises(TypeError, match=r"'cfg' must be an EtaConfig"):
        Apu(None)
