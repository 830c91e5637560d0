# amaranth: UnusedElaboratable=no
"""The full VC709 C-Core array (8 x 3 x 3x8 PEs, 1728 MACs) elaborates, builds under
Verilator and computes one short layer tile bit-exactly: a smoke test of the real size. The
same Verilog is linted here (`test_lint` leaves the VC709 array and C-Core to this test: one
conversion of the array instead of three)."""

from hw.array import CCoreArray
from hw.config import vc709
from sim.runner import LARGE, lint, run_cocotb, to_verilog


def test_vc709_array_one_tile(tmp_path):
    cfg = vc709()
    verilog = to_verilog(CCoreArray(cfg), "ccore_array")
    ok, messages = lint(verilog, "ccore_array", tmp_path)
    assert ok, messages
    # The model is large: build it without C++ optimization (several times faster to
    # compile, and one short tile needs no speed). mode=0 is 3x3 FP stride 1, no stalls.
    run_cocotb(CCoreArray(cfg), "ccore_array", "sim.tb.tb_array", cfg,
               env={"ETA_LEVEL": "array"}, testcase="layers/mode=0/stalls=0",
               build_args=LARGE, cxx_opt="-O0", verilog=verilog)
