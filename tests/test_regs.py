# amaranth: UnusedElaboratable=no
"""The register slave under cocotbext-axi, and the register map's generated document."""

from pathlib import Path

from hw.config import small
from hw.regs import Regs
from sim.registers import text
from sim.runner import run_cocotb

ROOT = Path(__file__).resolve().parents[1]


def test_registers_rtl():
    cfg = small()
    run_cocotb(Regs(cfg), "regs", "sim.tb.tb_regs", cfg)


def test_docs_registers_is_generated_from_the_definition():
    assert (ROOT / "docs/registers.md").read_text() == text(), \
        "docs/registers.md is stale: run python -m sim.registers"
