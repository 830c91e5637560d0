# amaranth: UnusedElaboratable=no
"""INT32 -> PINT conversion unit under Verilator: exhaustive sweeps and stalled streams."""

import pytest

from hw.config import EtaConfig
from hw.convert import PintConverter
from sim.runner import run_cocotb

CFG = EtaConfig()


@pytest.mark.parametrize("case", ["every_value_every_shift", "random_values_under_stalls",
                                  "tracker_tracks_and_clears"])
def test_converter(case):
    run_cocotb(PintConverter(CFG), "pint_converter", "sim.tb.tb_convert", CFG, testcase=case)


def test_converter_rejects_bad_config():
    with pytest.raises(TypeError, match=r"'cfg' must be an EtaConfig, not 'vc709'"):
        PintConverter("vc709")
