"""sim.resources: the whole accelerator cut into units for out-of-context synthesis (no yosys
needed: what is checked is the cut and the instance counts)."""

import re

from hw.config import small
from hw.top import Top
from hw.verilog import to_verilog
from sim.resources import cell_counts, luts, modules, units


def test_units_of_the_small_top():
    cfg = small()
    text = to_verilog(Top(cfg), "top")
    cut = {re.sub(r"_[0-9a-f]{8}$", "", root): (verilog, boxes, times)
           for root, verilog, boxes, times in units(text, "top")}
    expected = {
        "top": 1, "ccore": 1, "acore_unit": 1, "controller": 1, "dma_hub": 1,
        "load_unit": 1, "store_unit": 1, "tile_unit": 1, "weight_buffer": 1,
        "psum_buffer": 1, "ccore_array": 1,
        "input_buffer": 2,                                  # inputs and errors
        "cluster": cfg.clusters, "wpu": cfg.clusters * cfg.wpus,
        "pe": cfg.clusters * cfg.wpus * cfg.pe_rows * cfg.pe_cols,
        "apu": cfg.apus, "pint_converter": 2 * cfg.apus,    # two converters per lane
    }
    assert {name: times for name, (_, _, times) in cut.items()} == expected
    # Every unit holds its own modules once, and a black box for each shared one it uses.
    every = modules(text)
    for name, (verilog, boxes, _) in cut.items():
        own = modules(verilog)
        assert set(boxes) <= set(own)
        for box in boxes:
            assert own[box].startswith("(* blackbox *)") and box in every
        for n, body in own.items():
            if n not in boxes:
                assert body == every[n], (name, n)
    verilog, boxes, _ = cut["wpu"]
    assert [re.sub(r"_[0-9a-f]{8}$", "", b) for b in boxes] == ["pe"]
    assert "input " in modules(verilog)[boxes[0]] and "always" not in modules(verilog)[boxes[0]]


def test_cell_counts_take_the_last_stat_and_count_lutram_as_luts():
    log = ("Printing statistics.\n     LUT6     99\n"            # an earlier stat: ignored
           "Printing statistics.\n=== m ===\n   Number of cells: 20\n"
           "     CARRY4   3\n     FDRE     5\n     FDSE     1\n     LUT2     4\n     LUT6     2\n"
           "     RAM32M   2\n     RAM64X1D 1\n     SRLC32E  3\n     RAMB18E1 1\n     BUFG 1\n")
    counts = cell_counts(log)
    assert counts == {"CARRY4": 3, "FD": 6, "LUT": 6, "LUTRAM": 2 * 4 + 2 + 3, "RAMB18E1": 1}
    assert luts(counts) == 6 + 13
