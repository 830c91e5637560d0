# amaranth: UnusedElaboratable=no
"""PINT detector, decoder and multiplier RTL under Verilator, exhaustive."""

import pytest

from hw.config import EtaConfig, PintFormat
from hw.pint import PintDecoder, PintDetector, PintMultiplier
from sim.runner import run_cocotb

CFG = EtaConfig()


@pytest.mark.parametrize("fmt", [PintFormat(8, 3), PintFormat(6, 2)], ids=str)
def test_detector(fmt):
    cfg = CFG.replace(pint=fmt)
    run_cocotb(PintDetector(fmt), "pint_detector", "sim.tb.tb_pint", cfg,
               testcase="detector_all_v")


def test_decoder():
    run_cocotb(PintDecoder(CFG.pint), "pint_decoder", "sim.tb.tb_pint", CFG,
               testcase="decoder_all_inputs")


def test_multiplier_all_65536_pairs():
    run_cocotb(PintMultiplier(CFG.pint), "pint_multiplier", "sim.tb.tb_pint", CFG,
               testcase="multiplier_all_pairs")


def test_bad_format_is_rejected():
    with pytest.raises(TypeError, match=r"'fmt' must be a PintFormat, not 8"):
        PintMultiplier(8)
