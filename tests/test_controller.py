# amaranth: UnusedElaboratable=no
"""The controller fetching a compiled step through the DMA reader, the units played by the
testbench."""

import json

from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import Out

from hw.config import Configured, small
from hw.controller import Controller
from hw.dma import DmaReader
from hw.isa.program import encode
from sim.compiler.step import compile_step
from sim.runner import HIERARCHICAL, run_cocotb
from sim.train.net import DIGITS_NET


class ControllerPath(Configured, wiring.Component):
    """The controller and a DMA reader for its fetches."""

    def __init__(self, cfg):
        def members(cfg):
            self._ctl, self._dma = Controller(cfg, watchdog=4096), DmaReader(cfg)
            ctl = self._ctl.signature.members
            dma = self._dma.signature.members
            return {**{k: v for k, v in ctl.items() if k not in ("fetch", "words")},
                    **{k: v for k, v in dma.items() if k.startswith("m_axi")}}
        super().__init__(cfg, members)

    def elaborate(self, platform):
        m = Module()
        m.submodules.ctl, m.submodules.dma = c, d = self._ctl, self._dma
        wiring.connect(m, c.fetch, d.cmd)
        wiring.connect(m, d.o, c.words)
        for name, member in self.signature.members.items():
            inner = getattr(d if name.startswith("m_axi") else c, name)
            if member.is_port:
                outward = member.flow == Out
                m.d.comb += (getattr(self, name).eq(inner) if outward
                             else inner.eq(getattr(self, name)))
            else:
                wiring.connect(m, inner, wiring.flipped(getattr(self, name)))
        return m


def test_controller(tmp_path):
    cfg = small()
    step = compile_step(DIGITS_NET, (1, 8, 8), 2, cfg)
    path = tmp_path / "program.json"
    path.write_text(json.dumps([hex(encode(cfg, d)) for d in step.descs]))
    run_cocotb(ControllerPath(cfg), "controller_path", "sim.tb.tb_controller", cfg,
               env={"ETA_PROGRAM": str(path)}, build_args=HIERARCHICAL)
