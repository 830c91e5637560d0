# amaranth: UnusedElaboratable=no
"""The A-Core's operand streams: ACORE runs' operand tensors from an AXI RAM through four DMA
readers and the read arbiter, zipped into A-Core beats, against the golden machine."""

import pytest
from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import Out

from hw.axi import join_axi, AxiReadArbiter, axi4_read_master
from hw.config import Configured, small, vc709
from hw.dma import DmaReader
from hw.operands import OPERANDS, OperandStreams
from sim.runner import run_cocotb


class OperandPath(Configured, wiring.Component):
    """OperandStreams with a DMA reader per operand, the readers behind one AXI4 port."""

    def __init__(self, cfg):
        def members(cfg):
            self._ops = OperandStreams(cfg)
            ops = self._ops.signature.members
            hi = (len(OPERANDS) - 1).bit_length()
            return {"run": ops["run"], "beats": ops["beats"], "done": Out(1),
                    "error": Out(1), "code": Out(8), "read_error": Out(1),
                    **axi4_read_master("m_axi", cfg.dram_addr_bits, cfg.axi_data_bits,
                                       1 + hi)}
        super().__init__(cfg, members)

    def elaborate(self, platform):
        m = Module()
        cfg = self._cfg
        m.submodules.ops = ops = self._ops
        m.submodules.arb = arb = AxiReadArbiter(len(OPERANDS), cfg.dram_addr_bits,
                                                cfg.axi_data_bits)
        wiring.connect(m, wiring.flipped(self.run), ops.run)
        wiring.connect(m, ops.beats, wiring.flipped(self.beats))
        errors = []
        for i, name in enumerate(OPERANDS):
            m.submodules[f"rd_{name}"] = rd = DmaReader(cfg, buffer=16)
            wiring.connect(m, getattr(ops, f"{name}_cmd"), rd.cmd)
            wiring.connect(m, rd.o, getattr(ops, f"{name}_words"))
            m.d.comb += rd.clear.eq(0)
            errors.append(rd.error)
            join_axi(m, rd, "m_axi", arb, f"s{i}_axi")
        join_axi(m, arb, "m_axi", self, "m_axi")
        m.d.comb += [self.done.eq(ops.done), self.error.eq(ops.error), self.code.eq(ops.code),
                     self.read_error.eq(sum(errors) != 0)]
        return m


# The VC709 one (a minute, most of it the build) runs in `make test-slow` with the VC709
# A-Core unit that holds it; its Verilog is linted in the suite.
@pytest.mark.parametrize("cfg", [small(), pytest.param(vc709(), marks=pytest.mark.slow)],
                         ids=["small", "vc709"])
def test_operand_streams(cfg):
    run_cocotb(OperandPath(cfg), "operand_path", "sim.tb.tb_operands", cfg)


def test_operand_streams_check_the_config():
    with pytest.raises(ValueError, match="apus"):
        OperandStreams(small().replace(apus=4))
