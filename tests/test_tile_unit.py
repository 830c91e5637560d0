# amaranth: UnusedElaboratable=no
"""The TILE unit in front of the C-Core."""

import json

from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import Out

from hw.ccore import CCore
from hw.config import Configured, small
from hw.tile_unit import TileUnit
from sim.runner import HIERARCHICAL, run_cocotb

LAYERS = [
    [(0, 1, 3), 5, 3, 7, 6], [(1, 1, 3), 3, 5, 7, 6], [(2, 1, 3), 3, 3, 7, 6],
    [(0, 2, 3), 5, 3, 9, 9], [(1, 2, 3), 3, 5, 10, 9], [(0, 1, 1), 7, 5, 5, 4],
    [(1, 1, 1), 5, 7, 5, 4],
]


class TilePath(Configured, wiring.Component):
    """A TILE unit feeding a C-Core: buffer write ports, descriptors in, sums out."""

    def __init__(self, cfg):
        def members(cfg):
            self._unit, self._core = TileUnit(cfg), CCore(cfg)
            core = self._core.signature.members
            unit = self._unit.signature.members
            return {"wr_x": core["wr_x"], "wr_e": core["wr_e"], "wr_w": core["wr_w"],
                    "o": core["o"], "desc": unit["desc"], "done": Out(1), "error": Out(1),
                    "code": Out(8),
                    # Every tile the C-Core accepts, for the testbench to compare.
                    "tap": Out(unit["tile"].signature.members["payload"].shape),
                    "tap_valid": Out(1)}
        super().__init__(cfg, members)

    def elaborate(self, platform):
        m = Module()
        m.submodules.unit, m.submodules.core = u, c = self._unit, self._core
        for name in ("wr_x", "wr_e", "wr_w"):
            wiring.connect(m, wiring.flipped(getattr(self, name)), getattr(c, name))
        wiring.connect(m, c.o, wiring.flipped(self.o))
        wiring.connect(m, wiring.flipped(self.desc), u.desc)
        wiring.connect(m, u.tile, c.tile)
        m.d.comb += [u.retired.eq(c.retired), u.refused.eq(c.error), u.emitted.ready.eq(1),
                     self.done.eq(u.done), self.error.eq(u.error), self.code.eq(u.code),
                     self.tap.eq(u.tile.payload),
                     self.tap_valid.eq(u.tile.valid & u.tile.ready)]
        return m


def test_tile_unit():
    cfg = small()
    run_cocotb(TilePath(cfg), "tile_path", "sim.tb.tb_tile_unit", cfg,
               env={"ETA_CCORE_LAYERS": json.dumps(LAYERS)}, build_args=HIERARCHICAL)
