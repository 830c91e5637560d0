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


def test_golden_mac_saturates_exactly():
    big = 0b0011_1111                      # v = 63, flag 0: 63 * 64 = 4032
    neg = 0b0100_0000                      # v = -64, flag 0: -4096
    n = 200
    acc, ovf = mac.mac_stream([big] * n, [big] * n, [1] * n, [1] + [0] * (n - 1))
    assert acc[-1] == (1 << 31) - 1 and ovf[-1] and not ovf[0]
    assert np.all(np.diff(acc) >= 0)
    # Past the rail and back: the running sum is exact, so the result is right again.
    acc, ovf = mac.mac_stream([big] * 2 * n, [big] * n + [neg] * n, [1] * 2 * n,
                              [1] + [0] * (2 * n - 1))
    assert acc[-1] == n * 4032 * 4032 - n * 4032 * 4096 and not ovf[-1] and ovf[n]


def test_golden_mac_wraps_only_past_max_terms():
    cfg = EtaConfig()
    assert cfg.max_terms == 1 << 23
    assert mac.wrap((1 << 47) + 5, 48) == -(1 << 47) + 5


def test_mac_rejects_bad_config():
    with pytest.raises(TypeError, match=r"'cfg' must be an EtaConfig, not None"):
        PintMac(None)
