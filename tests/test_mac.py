# amaranth: UnusedElaboratable=no
"""PINT MAC RTL under Verilator: long random streams, saturation both ways, sticky overflow."""

import numpy as np
import pytest

from hw.config import EtaConfig, small
from hw.mac import PintMac
from sim.golden import mac
from sim.runner import run_cocotb


@pytest.mark.parametrize("cfg", [EtaConfig(), small().replace(acc_bits=28)], ids=lambda c: f"acc{c.acc_bits}")
def test_mac_streams(cfg):
    run_cocotb(PintMac(cfg), "pint_mac", "sim.tb.tb_mac", cfg)


def test_golden_mac_saturates_and_flags():
    big = 0b0011_1111                      # v = 63, flag 0: 63 * 64 = 4032
    n = 200
    acc, ovf = mac.mac_stream([big] * n, [big] * n, [1] * n, [1] + [0] * (n - 1))
    assert acc[-1] == (1 << 31) - 1 and ovf[-1] and not ovf[0]
    assert np.all(np.diff(acc) >= 0)
    acc, ovf = mac.mac_stream([big, big], [big, big], [1, 1], [1, 1])
    assert acc.tolist() == [4032 * 4032] * 2 and not ovf.any()


def test_mac_rejects_bad_config():
    with pytest.raises(TypeError, match=r"'cfg' must be an EtaConfig, not None"):
        PintMac(None)
