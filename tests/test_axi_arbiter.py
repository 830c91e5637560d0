# amaranth: UnusedElaboratable=no
"""The AXI4 read and write arbiters: several cocotbext-axi masters through one port into an
AXI RAM, with random pauses everywhere."""

import pytest

from hw.axi import AxiReadArbiter, AxiWriteArbiter
from sim.runner import run_cocotb


def test_axi_read_arbiter():
    run_cocotb(AxiReadArbiter(3, 32, 64), "axi_read_arbiter", "sim.tb.tb_axi_arbiter",
               testcase="reads")


def test_axi_write_arbiter():
    run_cocotb(AxiWriteArbiter(3, 32, 64, depth=4), "axi_write_arbiter",
               "sim.tb.tb_axi_arbiter", testcase="writes")


def test_arbiters_check_their_parameters():
    with pytest.raises(ValueError, match="2 to 16 clients"):
        AxiReadArbiter(1, 32, 64)
    with pytest.raises(ValueError, match="depth"):
        AxiWriteArbiter(2, 32, 64, depth=0)
