"""cocotb: the LFSR's draws, loads and holds, against the golden sequence."""

import cocotb
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge

from sim.golden import lfsr
from sim.tb.common import config, rngs, start


@cocotb.test()
async def lfsr_sequence(dut):
    cfg = config()
    rnd, _ = rngs()
    await start(dut)
    await FallingEdge(dut.clk)
    state = 1                                   # the reset state
    for i in range(5000):
        load = rnd.random() < 0.01
        seed = rnd.choice([0, rnd.randrange(1 << 32)])
        nxt = rnd.random() < 0.7
        dut.load.value, dut.seed.value, dut.next.value = int(load), seed, int(nxt)
        await ReadOnly()
        expect_state, expect_rnd = lfsr.draw(state, cfg.round_bits)
        assert dut.state.value.to_unsigned() == state, f"cycle {i}: state"
        assert dut.rnd.value.to_unsigned() == expect_rnd, f"cycle {i}: rnd"
        if load:
            state = seed or 1
        elif nxt:
            state = expect_state
        await RisingEdge(dut.clk)
        await FallingEdge(dut.clk)
