# amaranth: UnusedElaboratable=no
"""The accelerator's top through the runtime's RTL backend: a compiled training step from
DRAM, bit-identical with the golden machine."""

import pytest

from hw.config import small, vc709
from hw.top import Top
from sim.runner import LARGE, run_cocotb, to_verilog


def test_training_step_from_dram():
    cfg = small()
    run_cocotb(Top(cfg), "top", "sim.tb.tb_top", cfg, testcase="training_step")


# On a fresh clone this test (about 8.5 minutes of one worker, most of it the build of a
# 23 MB design even with `LARGE`) took the suite to 22.5 minutes: `make test-slow`.
@pytest.mark.slow
def test_vc709_training_step_from_dram():
    """One training step of `TINY_NET` (a conv layer: FP with L1-FRN + TLU, BP, WG, SGD; the
    FC) on the VC709 top, bit-identical with the golden machine: the whole VC709 accelerator
    (1728 MACs) at its real size, from DRAM."""
    cfg = vc709()
    verilog = to_verilog(Top(cfg), "top", jobs=2)
    run_cocotb(Top(cfg), "top", "sim.tb.tb_top", cfg, testcase="training_step",
               env={"ETA_NET": "tiny"}, build_args=LARGE, cxx_opt="-O0",
               verilog=verilog)


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
