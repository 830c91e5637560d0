# amaranth: UnusedElaboratable=no
"""C-Core top: the tile schedule's properties, and whole layers of every pattern in RTL."""

import json

import pytest

from hw.ccore import CCore
from hw.config import small, vc709
from sim.golden import ccore
from sim.golden import input_buffer as ibuf
from sim.golden.pe import MODES, Phase
from sim.runner import HIERARCHICAL, run_cocotb

# (mode, cin, cout, h, w): every pattern, channel counts that are not multiples of the
# array's, maps whose rows do not fill the last group, bands (the partial-sum buffer of the
# small preset holds 32 sums), FC as 1x1 on a batch of 7 laid out as a 7 x 1 map, and 1x1 /
# FC WG as 1x1 FP on transposed operands.
LAYERS = [
    [(0, 1, 3), 3, 3, 7, 6], [(0, 1, 3), 2, 2, 13, 8],
    [(1, 1, 3), 3, 3, 7, 6], [(2, 1, 3), 3, 3, 7, 6],
    [(0, 2, 3), 3, 3, 9, 9], [(1, 2, 3), 3, 3, 10, 9], [(2, 2, 3), 3, 3, 9, 8],
    [(0, 1, 1), 5, 7, 5, 4], [(1, 1, 1), 7, 5, 5, 4],
    [(0, 1, 1), 6, 5, 7, 1], [(1, 1, 1), 5, 6, 7, 1],
    [(2, 1, 1), 5, 7, 5, 4], [(2, 1, 1), 6, 5, 7, 1],
]


def _layer(spec, cfg):
    return ccore.Layer(spec[0], *spec[1:], cfg)


@pytest.mark.parametrize("cfg", [small(), vc709()], ids=["small", "vc709"])
def test_outputs_covered_once_and_reads_conflict_free(cfg):
    """Every output of a layer lands at exactly one (address, lane) of one emitting tile
   , and no beat of any tile wants one input-buffer bank twice."""
    shapes = [(3, 3, 7, 6), (9, 10, 13, 17), (3, 4, 1, 1), (2, 2, 28, 28)]
    ran = 0
    for mode in MODES:
        if mode.phase == Phase.WG and mode.k == 1:
            continue
        for shape in shapes:
            layer = ccore.Layer(tuple(mode), *shape, cfg)
            try:
                tiles = ccore.tiles(layer)
            except ValueError:
                assert cfg.name == "small"        # the VC709 buffers hold every shape here
                continue
            ran += 1
            emitted = [(t, [[(1, 0)] * (cfg.clusters * cfg.wpus * cfg.pe_rows * 3)]
                        * ccore.transfers(t, cfg)) for t in tiles if t.emit]
            ccore.assemble(layer, emitted)            # raises on a missed or double output
            for t in tiles:
                for rows in ccore.tile_reads(layer, t):
                    ibuf.bank_reads(rows, t.h, cfg)
    assert ran >= 15


def test_layers_that_cannot_run_are_named():
    cfg = small()
    with pytest.raises(ValueError, match="split it into tiles"):
        ccore.tiles(ccore.Layer((0, 1, 3), 2, 2, 200, 200, cfg))
    with pytest.raises(ValueError, match="split the map's columns"):
        ccore.tiles(ccore.Layer((0, 1, 3), 2, 2, 2, 40, cfg))
    with pytest.raises(ValueError, match="wg1x1_as_fp"):
        ccore.Layer((2, 1, 1), 2, 2, 4, 4, cfg)
    with pytest.raises(ValueError, match="cin must be a positive int"):
        ccore.Layer((0, 1, 3), 0, 2, 4, 4, cfg)


def test_ccore_rejects_bad_config():
    with pytest.raises(ValueError, match="clusters == pe_cols, not 2 and 4"):
        CCore(small().replace(pe_cols=4))


def test_ccore_layers_rtl():
    cfg = small()
    run_cocotb(CCore(cfg), "ccore", "sim.tb.tb_ccore", cfg,
               env={"ETA_CCORE_LAYERS": json.dumps(LAYERS)}, build_args=HIERARCHICAL)
