# amaranth: UnusedElaboratable=no
"""The reconfigurable PE under Verilator: every pattern, random rows, random stalls."""

import pytest

from hw.config import small
from hw.pe import Pe
from sim.runner import run_cocotb


def test_pe_all_patterns():
    cfg = small()
    run_cocotb(Pe(cfg), "pe", "sim.tb.tb_pe", cfg)


def test_pe_rejects_bad_config():
    with pytest.raises(TypeError, match=r"'cfg' must be an EtaConfig, not 3"):
        Pe(3)
