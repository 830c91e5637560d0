# amaranth: UnusedElaboratable=no
"""The load unit behind the DMA's read side, on a compiler's LOAD descriptors, against the
golden machine."""

import json

import pytest
from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import Out

from hw.config import Configured, small, vc709
from hw.dma import DmaReader
from hw.isa.program import Op, encode
from hw.load import LoadUnit
from sim.compiler.step import compile_step
from sim.runner import HIERARCHICAL, run_cocotb

NET = [("conv", 3, 5, 3, 1), ("conv", 5, 6, 3, 2), ("conv", 6, 7, 1, 2),
       ("fc", 7 * 3 * 4, 10)]


class LoadPath(Configured, wiring.Component):
    """A load unit and its DMA reader: descriptors in, AXI reads out, buffer writes out."""

    def __init__(self, cfg):
        def members(cfg):
            self._unit, self._dma = LoadUnit(cfg), DmaReader(cfg)
            sig = self._unit.signature.members
            dma = self._dma.signature.members
            return {"desc": sig["desc"], "wr_x": sig["wr_x"], "wr_e": sig["wr_e"],
                    "wr_w": sig["wr_w"], "busy": sig["busy"], "done": sig["done"],
                    "error": Out(1),
                    **{k: v for k, v in dma.items() if k.startswith("m_axi")}}
        super().__init__(cfg, members)

    def elaborate(self, platform):
        m = Module()
        m.submodules.unit, m.submodules.dma = u, d = self._unit, self._dma
        wiring.connect(m, u.rd, d.cmd)
        wiring.connect(m, d.o, u.words)
        wiring.connect(m, wiring.flipped(self.desc), u.desc)
        for name in ("wr_x", "wr_e", "wr_w"):
            wiring.connect(m, getattr(u, name), wiring.flipped(getattr(self, name)))
        m.d.comb += [self.busy.eq(u.busy), self.done.eq(u.done),
                     self.error.eq(u.error | d.error)]
        for name in self.signature.members:
            if name.startswith("m_axi"):
                port = getattr(d, name)
                if self.signature.members[name].flow == Out:
                    m.d.comb += getattr(self, name).eq(port)
                else:
                    m.d.comb += port.eq(getattr(self, name))
        return m


def sample_loads(cfg, n=24):
    """LOADs of a compiled step: every kind there is (by buffer and pattern), then more."""
    step = compile_step(NET, (3, 11, 13), 2, cfg)
    loads = [d for d in step.descs if d.op == Op.LOAD]
    kinds = {}
    for d in loads:
        kinds.setdefault((d.buf, d.n0 > 1, d.n1 > 1, d.n2 > 1, d.elem == cfg.pe_cols), d)
    picked = list(kinds.values())
    picked += [d for d in loads[::max(1, len(loads) // n)] if d not in picked][:n]
    return [hex(encode(cfg, d.__class__(**{**d.__dict__, "wait": 0, "signal": 0})))
            for d in picked]


@pytest.mark.parametrize("cfg", [small(), vc709()], ids=["small", "vc709"])
def test_load_unit(cfg):
    run_cocotb(LoadPath(cfg), "load_path", "sim.tb.tb_load", cfg,
               env={"ETA_LOADS": json.dumps(sample_loads(cfg))}, build_args=HIERARCHICAL)
