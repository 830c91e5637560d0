"""Suite ordering: the longest tests first, so that under pytest-xdist (`make test`, 2
workers) no worker is left running one of them alone at the end (the VC709 array's smoke test
started last added several minutes to the suite). Shared modules' Verilog is kept on disk for
every worker."""

import os
from pathlib import Path

# Shared modules converted once for every worker (hw.reuse), as under `make test`.
os.environ.setdefault("ETA_REUSE_CACHE",
                      str(Path(__file__).resolve().parents[1] / "build" / "reused"))

# The longest tests, longest first (seconds on one core, from `pytest --durations`).
LONGEST = (
    "tests/test_top.py::test_vc709_training_step_from_dram",  # ~420
    "tests/test_top.py::test_train_rtl_one_step",  # ~140 with the small top's build
    "tests/test_board.py",                        # ~150 (the VC709 plan, the board core)
    "tests/test_ccore.py",                        # ~85
    "tests/test_store.py",                        # ~70
    "tests/test_tile_unit.py",                    # ~65
    "tests/test_convert.py",                      # ~55
    "tests/test_array.py",                        # ~50 each
    "tests/test_controller.py",                   # ~45
)


def pytest_collection_modifyitems(config, items):
    def rank(item):
        for i, prefix in enumerate(LONGEST):
            if item.nodeid.startswith(prefix):
                return i
        return len(LONGEST)
    items.sort(key=rank)           # (stable: the rest keep their order)
