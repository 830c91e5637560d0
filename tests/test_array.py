# amaranth: UnusedElaboratable=no
"""A PE cluster and the C-Core array under Verilator: small layers of every pattern."""

import pytest

from hw.array import CCoreArray
from hw.cluster import Cluster
from hw.config import small
from sim.runner import HIERARCHICAL, run_cocotb


def test_cluster_layers():
    cfg = small()
    run_cocotb(Cluster(cfg), "cluster", "sim.tb.tb_array", cfg, env={"ETA_LEVEL": "cluster"},
               build_args=HIERARCHICAL)


def test_array_layers():
    cfg = small()
    run_cocotb(CCoreArray(cfg), "ccore_array", "sim.tb.tb_array", cfg,
               env={"ETA_LEVEL": "array"}, build_args=HIERARCHICAL)


def test_array_rejects_bad_config():
    with pytest.raises(TypeError, match=r"'cfg' must be an EtaConfig, not 'small'"):
        CCoreArray("small")
