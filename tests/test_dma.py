# amaranth: UnusedElaboratable=no
"""The DMA's read side under cocotbext-axi's AXI RAM, both presets' bus widths."""

import pytest

from hw.config import small, vc709
from hw.dma import DmaReader, DmaWriter
from sim.runner import run_cocotb


@pytest.mark.parametrize("cfg", [small(), vc709()], ids=["small", "vc709"])
def test_dma_reader(cfg):
    run_cocotb(DmaReader(cfg), "dma_reader", "sim.tb.tb_dma", cfg, testcase="(reads|errors)")


@pytest.mark.parametrize("cfg", [small(), vc709()], ids=["small", "vc709"])
def test_dma_reader_with_a_buffer(cfg):
    run_cocotb(DmaReader(cfg, buffer=8), "dma_reader", "sim.tb.tb_dma", cfg,
               testcase="(reads|errors)", env={"ETA_DMA_BUFFER": "8"})


@pytest.mark.parametrize("cfg", [small(), vc709()], ids=["small", "vc709"])
def test_dma_writer_with_a_buffer(cfg):
    run_cocotb(DmaWriter(cfg, buffer=8), "dma_writer", "sim.tb.tb_dma", cfg,
               testcase="(writes|write_errors)", env={"ETA_DMA_BUFFER": "8"})


@pytest.mark.parametrize("cfg", [small(), vc709()], ids=["small", "vc709"])
def test_dma_writer(cfg):
    run_cocotb(DmaWriter(cfg), "dma_writer", "sim.tb.tb_dma", cfg,
               testcase="(writes|write_errors)")


@pytest.mark.parametrize("lane", [1, 4])
def test_dma_writer_lanes(lane):
    """The A-Core's flag writer (1-byte lanes) and the STORE's (4): 64 and 16 lanes a word
    on the VC709 bus, every rotation of the lane placement."""
    cfg = vc709()
    run_cocotb(DmaWriter(cfg, lane_bytes=lane, buffer=16), "dma_writer", "sim.tb.tb_dma", cfg,
               testcase="(writes|write_errors)",
               env={"ETA_DMA_BUFFER": "16", "ETA_DMA_LANE": str(lane)})


def test_dma_reader_needs_whole_lanes():
    with pytest.raises(ValueError, match="whole 3-byte lanes"):
        DmaReader(small().replace(pe_cols=3, clusters=3))
