# amaranth: UnusedElaboratable=no
"""The A-Core's unit: every ACORE run of a compiled training step, from an AXI RAM through a
DmaHub, against the golden machine; runs it must refuse."""

import pytest
from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import Out

from hw.acore_unit import READ_PORTS, WRITE_PORTS, ACoreUnit
from hw.config import Configured, small, vc709
from hw.dma_hub import DmaHub
from sim.runner import run_cocotb


class ACorePath(Configured, wiring.Component):
    """The unit with its DMA clients behind one AXI4 port (as in the top)."""

    def __init__(self, cfg):
        def members(cfg):
            self._unit = ACoreUnit(cfg)
            self._hub = DmaHub(cfg, READ_PORTS,
                               {n: ACoreUnit.write_lanes(n) for n in WRITE_PORTS})
            unit, hub = self._unit.signature.members, self._hub.signature.members
            keep = ("desc", "done", "error", "code", "busy", "s_addr", "s_rdata", "s_wdata",
                    "s_we", "seed_lane", "seed_data", "seed_we")
            return {**{k: unit[k] for k in keep}, "dma_error": Out(1),
                    **{k: v for k, v in hub.items() if k.startswith("m_axi_")}}
        super().__init__(cfg, members)

    def elaborate(self, platform):
        m = Module()
        m.submodules.unit = unit = self._unit
        m.submodules.hub = hub = self._hub
        for name, member in unit.signature.members.items():
            if name in ("desc", "done", "error", "code", "busy", "s_addr", "s_rdata",
                        "s_wdata", "s_we", "seed_lane", "seed_data", "seed_we"):
                ours, theirs = getattr(self, name), getattr(unit, name)
                if name == "desc":
                    wiring.connect(m, wiring.flipped(ours), theirs)
                elif member.flow == Out:
                    m.d.comb += ours.eq(theirs)
                else:
                    m.d.comb += theirs.eq(ours)
        for name in READ_PORTS + WRITE_PORTS:
            wiring.connect(m, getattr(unit, f"{name}_cmd"), getattr(hub, f"{name}_cmd"))
            if name in READ_PORTS:
                wiring.connect(m, getattr(hub, f"{name}_words"), getattr(unit, f"{name}_words"))
            else:
                wiring.connect(m, getattr(unit, f"{name}_words"), getattr(hub, f"{name}_words"))
                m.d.comb += getattr(unit, f"{name}_written").eq(getattr(hub, f"{name}_written"))
        for name in hub.signature.members:
            if name.startswith("m_axi_"):
                mine, member = getattr(self, name), hub.signature.members[name]
                m.d.comb += mine.eq(getattr(hub, name)) if member.flow == Out else \
                    getattr(hub, name).eq(mine)
        m.d.comb += [self.dma_error.eq(hub.bus_error.any() | hub.window_error.any()),
                     hub.clear.eq(0), hub.hold.eq(0), hub.dram_base.eq(0),
                     hub.dram_size.eq(-1)]
        return m


# The VC709 unit takes about six minutes to build and run: outside `make test`
# (`make test-slow`); its Verilog is linted inside the suite.
@pytest.mark.parametrize("cfg", [small(), pytest.param(vc709(), marks=pytest.mark.slow)],
                         ids=["small", "vc709"])
def test_acore_unit(cfg):
    # The VC709 unit is several times slower to simulate: the first three runs of each
    # program there (every run on the small preset).
    env = {"ETA_PER_PROGRAM": "3"} if cfg.name == "vc709" else None
    run_cocotb(ACorePath(cfg), "acore_path", "sim.tb.tb_acore_unit", cfg, env=env)


def test_acore_unit_checks_the_config():
    with pytest.raises(ValueError, match="apus"):
        ACoreUnit(small().replace(apus=4))
