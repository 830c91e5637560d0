# amaranth: UnusedElaboratable=no
"""The accelerator's top through the runtime's RTL backend: a compiled training step from
DRAM, bit-identical with the golden machine."""

from hw.config import small
from hw.top import Top
from sim.runner import run_cocotb


def test_training_step_from_dram():
    cfg = small()
    run_cocotb(Top(cfg), "top", "sim.tb.tb_top", cfg, testcase="training_step")


def test_errors_stop_and_recover():
    cfg = small()
    run_cocotb(Top(cfg), "top", "sim.tb.tb_top", cfg, testcase="errors")


def test_train_rtl_one_step(tmp_path):
    """One step of `make train-rtl` (batch 1): the RTL's DRAM image against the golden
    machine's, its state against the whole-tensor model's, the progress line written."""
    import json
    cfg = small()
    out = tmp_path / "progress.jsonl"
    run_cocotb(Top(cfg), "top", "sim.tb.tb_train_rtl", cfg, testcase="train",
               env={"ETA_STEPS": "1", "ETA_BATCH": "1", "ETA_OUT": str(out)})
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 1 and rows[0]["checked"] > 0 and 0 <= rows[0]["test_acc"] <= 1
