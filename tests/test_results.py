# amaranth: UnusedElaboratable=no
"""The A-Core's result streams: element beats and emitted words of ACORE runs into an AXI
RAM through five DMA writers and the write arbiter, against the golden machine's
placement."""

import pytest
from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import Out

from hw.axi import join_axi, AxiWriteArbiter, axi4_write_master
from hw.config import Configured, small, vc709
from hw.dma import DmaWriter
from hw.results import OUTPUTS, ResultStreams
from sim.runner import run_cocotb


class ResultPath(Configured, wiring.Component):
    """ResultStreams with a DMA writer per output, the writers behind one AXI4 port."""

    def __init__(self, cfg):
        def members(cfg):
            self._res = ResultStreams(cfg)
            res = self._res.signature.members
            hi = (len(OUTPUTS) - 1).bit_length()
            return {"run": res["run"], "o": res["o"], "r": res["r"], "done": Out(1),
                    "error": Out(1), "code": Out(8), "write_error": Out(1),
                    **axi4_write_master("m_axi", cfg.dram_addr_bits, cfg.axi_data_bits,
                                        1 + hi)}
        super().__init__(cfg, members)

    def elaborate(self, platform):
        m = Module()
        cfg = self._cfg
        m.submodules.res = res = self._res
        m.submodules.arb = arb = AxiWriteArbiter(len(OUTPUTS), cfg.dram_addr_bits,
                                                 cfg.axi_data_bits)
        for name in ("run", "o", "r"):
            wiring.connect(m, wiring.flipped(getattr(self, name)), getattr(res, name))
        errors = []
        for i, name in enumerate(OUTPUTS):
            m.submodules[f"wr_{name}"] = wr = DmaWriter(
                cfg, lane_bytes=1 if name == "fl" else None, buffer=16)
            wiring.connect(m, getattr(res, f"{name}_cmd"), wr.cmd)
            wiring.connect(m, getattr(res, f"{name}_words"), wr.i)
            m.d.comb += [getattr(res, f"{name}_written").eq(wr.written), wr.clear.eq(0)]
            errors.append(wr.error)
            join_axi(m, wr, "m_axi", arb, f"s{i}_axi")
        join_axi(m, arb, "m_axi", self, "m_axi")
        m.d.comb += [self.done.eq(res.done), self.error.eq(res.error), self.code.eq(res.code),
                     self.write_error.eq(sum(errors) != 0)]
        return m


# The VC709 one (a minute, most of it the build) runs in `make test-slow` with the VC709
# A-Core unit that holds it; its Verilog is linted in the suite.
@pytest.mark.parametrize("cfg", [small(), pytest.param(vc709(), marks=pytest.mark.slow)],
                         ids=["small", "vc709"])
def test_result_streams(cfg):
    run_cocotb(ResultPath(cfg), "result_path", "sim.tb.tb_results", cfg)
