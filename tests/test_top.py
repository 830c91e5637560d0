# amaranth: UnusedElaboratable=no
"""The accelerator's top through the runtime's RTL backend: a compiled training step from
DRAM, bit-identical with the golden machine."""

from hw.config import small, vc709
from hw.top import Top
from sim.runner import LARGE, lint, run_cocotb, to_verilog


def test_training_step_from_dram():
    cfg = small()
    run_cocotb(Top(cfg), "top", "sim.tb.tb_top", cfg, testcase="training_step")


def test_counters_match_cycle_model():
    """The same step against a RAM that never pauses: the CYCLES counter within 5% of the
    cycle model's total for it (`make bench-top` shows the same per descriptor)."""
    cfg = small()
    run_cocotb(Top(cfg), "top", "sim.tb.tb_top", cfg, testcase="training_step",
               env={"ETA_PAUSE": "0", "ETA_MODEL_TOLERANCE": "5"})


def test_vc709_training_step_from_dram(tmp_path):
    """One training step of `TINY_NET` (a conv layer: FP with L1-FRN + TLU, BP, WG, SGD; the
    FC) on the VC709 top, bit-identical with the golden machine: the whole VC709 accelerator
    (1728 MACs) at its real size, from DRAM; then again against a RAM that never pauses,
    the CYCLES counter within 5% of the cycle model. The same Verilog is linted here
    (`test_lint` leaves the VC709 top, C-Core and array to this test)."""
    cfg = vc709()
    verilog = to_verilog(Top(cfg), "top", jobs=2)
    ok, messages = lint(verilog, "top", tmp_path)
    assert ok, messages
    for env in ({}, {"ETA_PAUSE": "0", "ETA_MODEL_TOLERANCE": "5"}):
        run_cocotb(Top(cfg), "top", "sim.tb.tb_top", cfg, testcase="training_step",
                   env={"ETA_NET": "tiny", **env}, build_args=LARGE, cxx_opt="-O0",
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
