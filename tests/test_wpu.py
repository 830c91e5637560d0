# amaranth: UnusedElaboratable=no
"""The WPU under Verilator: small 2-D layers of every pattern against the golden convolutions."""

import pytest

from hw.config import small
from hw.wpu import Wpu
from sim.runner import run_cocotb


def test_wpu_layers():
    cfg = small()
    run_cocotb(Wpu(cfg), "wpu", "sim.tb.tb_wpu", cfg)


def test_wpu_rejects_bad_config():
    with pytest.raises(TypeError, match=r"'cfg' must be an EtaConfig, not None"):
        Wpu(None)
