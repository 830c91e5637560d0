"""Every generated module passes `verilator --lint-only -Wall` with sim/waivers.vlt alone."""

import pytest

from hw.config import PRESETS
from hw.generate import MODULES
from sim.runner import lint, to_verilog


# Modules linted elsewhere, whole: linting them again here would only repeat minutes of work.
# The VC709 top's training step lints the Verilog it builds (its C-Core and array inside);
# the board core holds the small top whole.
INSIDE = {("ccore_array", "vc709"): "the VC709 top (tests/test_top.py)",
          ("ccore", "vc709"): "the VC709 top (tests/test_top.py)",
          ("top", "vc709"): "the VC709 top's training step (tests/test_top.py)",
          ("top", "small"): "the small board core (tests/test_board.py)"}


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
