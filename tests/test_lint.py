"""Every generated module passes `verilator --lint-only -Wall` with sim/waivers.vlt alone."""

import pytest

from hw.config import PRESETS
from hw.generate import MODULES
from sim.runner import lint, to_verilog


# Modules whose full-size Verilog is linted elsewhere or as its parts: linting them whole at
# that size would only repeat minutes of work. The VC709 array is linted by the VC709 smoke
# test, from the Verilog it builds; the C-Core and the top are linted as their parts at full
# size (their own glue is the same at every size and is linted on the small preset).
INSIDE = {("ccore_array", "vc709"): "the VC709 smoke test (tests/test_smoke_vc709.py)",
          ("ccore", "vc709"): "its array and buffers, and the small C-Core",
          ("top", "vc709"): "its units, and the small top"}


@pytest.mark.parametrize("preset", sorted(PRESETS))
@pytest.mark.parametrize("name", sorted(MODULES))
def test_lint_clean(name, preset, tmp_path):
    if (name, preset) in INSIDE:
        pytest.skip(f"linted as part of {INSIDE[name, preset]}")
    ok, messages = lint(to_verilog(MODULES[name](PRESETS[preset]()), name), name, tmp_path)
    assert ok, messages


def test_lint_catches_real_problems(tmp_path):
    """The waivers must not hide everything: an undriven output still fails."""
    bad = "module bad(input wire clk, output wire [3:0] y);\nendmodule\n"
    ok, messages = lint(bad, "bad", tmp_path)
    assert not ok and "UNDRIVEN" in messages
