"""LFSR RTL under Verilator against the golden sequence (loads, holds, draws)."""

from hw.config import EtaConfig
from hw.lfsr import Lfsr
from sim.runner import run_cocotb


def test_lfsr_rtl_matches_golden():
    cfg = EtaConfig()
    run_cocotb(Lfsr(cfg), "lfsr", "sim.tb.tb_lfsr", cfg)
