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


def test_host_register_values_are_checked():
    from hw.isa.apu import N_REG, checked, frn_bp_regs, frn_fp_regs
    with pytest.raises(ValueError, match="N = 0"):
        checked({N_REG: 0})
    with pytest.raises(ValueError, match="E2 = 300"):
        checked({10: 300})
    with pytest.raises(ValueError, match="R1"):
        checked({1: 1 << 60})
    with pytest.raises(ValueError, match="eps"):
        frn_fp_regs(4, 0, 1, 0, 0)
    with pytest.raises(ValueError, match="e_max"):
        frn_bp_regs(4, 1, 1 << 16, -20, -21)
