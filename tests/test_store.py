# amaranth: UnusedElaboratable=no
"""The STORE unit: emitted tiles' sums from a C-Core (behind the TILE unit) into an AXI RAM
through the DMA writer, placed as the golden STORE places them."""

import json

import pytest
from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hw.ccore import CCore
from hw.config import Configured, small
from hw.axi import axi4_write_master, join_axi
from hw.dma import DmaWriter
from hw.store import WORD, StoreUnit
from hw.tile_unit import TileUnit
from sim.runner import HIERARCHICAL, run_cocotb

# [mode, cin, cout, h, w, how the STORE places the sums]
LAYERS = [
    [(0, 1, 3), 5, 3, 7, 6, "map"], [(0, 1, 3), 5, 3, 7, 6, "off"],
    [(1, 1, 3), 3, 5, 7, 6, "map"], [(0, 2, 3), 5, 3, 9, 9, "map"],
    [(1, 2, 3), 3, 5, 10, 9, "map"], [(0, 1, 1), 7, 5, 5, 4, "map"],
    [(0, 1, 1), 7, 5, 5, 4, "off"], [(1, 1, 1), 5, 7, 5, 4, "map"],
    [(1, 1, 1), 5, 7, 5, 4, "up2"], [(2, 1, 3), 3, 3, 7, 6, "wimg"],
    [(2, 1, 3), 5, 3, 7, 6, "wimg_c"], [(2, 2, 3), 3, 5, 9, 9, "wimg_off"],
]


class StorePath(Configured, wiring.Component):
    """TILE unit -> C-Core -> STORE unit -> DMA writer (4-byte lanes) -> AXI4 write master."""

    def __init__(self, cfg):
        def members(cfg):
            self._unit, self._core = TileUnit(cfg), CCore(cfg)
            self._store, self._writer = StoreUnit(cfg), DmaWriter(cfg, lane_bytes=WORD)
            core = self._core.signature.members
            a = cfg.dram_addr_bits
            return {"wr_x": core["wr_x"], "wr_e": core["wr_e"], "wr_w": core["wr_w"],
                    "tile_desc": self._unit.signature.members["desc"],
                    "store_desc": self._store.signature.members["desc"],
                    **axi4_write_master("m_axi", a, cfg.axi_data_bits),
                    "dram_base": In(a), "dram_size": In(a),
                    "tile_done": Out(1), "store_done": Out(1), "error": Out(1),
                    "code": Out(8), "write_error": Out(1)}
        super().__init__(cfg, members)

    def elaborate(self, platform):
        m = Module()
        m.submodules.unit, m.submodules.core = u, c = self._unit, self._core
        m.submodules.store, m.submodules.writer = s, w = self._store, self._writer
        for name in ("wr_x", "wr_e", "wr_w"):
            wiring.connect(m, wiring.flipped(getattr(self, name)), getattr(c, name))
        wiring.connect(m, wiring.flipped(self.tile_desc), u.desc)
        wiring.connect(m, wiring.flipped(self.store_desc), s.desc)
        wiring.connect(m, u.tile, c.tile)
        wiring.connect(m, u.emitted, s.tiles)
        wiring.connect(m, c.o, s.o)
        wiring.connect(m, s.cmd, w.cmd)
        wiring.connect(m, s.words, w.i)
        join_axi(m, w, "m_axi", self, "m_axi")
        m.d.comb += [u.retired.eq(c.retired), u.refused.eq(c.error),
                     s.written.eq(w.written), s.dram_base.eq(self.dram_base),
                     s.dram_size.eq(self.dram_size),
                     self.tile_done.eq(u.done), self.store_done.eq(s.done),
                     self.error.eq(s.error | u.error), self.code.eq(s.code),
                     self.write_error.eq(w.error), w.clear.eq(0)]
        return m


def test_store():
    cfg = small()
    run_cocotb(StorePath(cfg), "store_path", "sim.tb.tb_store", cfg,
               env={"ETA_STORE_LAYERS": json.dumps(LAYERS)}, build_args=HIERARCHICAL)


def test_store_refuses_configs():
    with pytest.raises(ValueError, match="acc_bits"):
        StoreUnit(small().replace(acc_bits=40, mac_bits=40, psum_sum_bits=40))
    with pytest.raises(ValueError, match="apus == clusters == pe_cols"):
        StoreUnit(small().replace(apus=4))
