"""cocotb: the divider against `op_div` over the whole operand range (every bit length of
both operands, and the extremes), one division at a time as the APU issues them: `done`
exactly `latency` cycles after `valid`, for one cycle, with random idle cycles between."""

import cocotb
import numpy as np
from cocotb.triggers import ReadOnly, RisingEdge

from hw.divider import Divider
from sim.golden import acore
from sim.tb.common import config, rngs, start


def _pairs(cfg, rng):
    w = cfg.acore.word_bits - 1
    top = (1 << w) - 1
    pairs = [(1, 1), (top, 1), (1, top), (top, top), (top, top - 1), (1 << (w - 1), 3)]
    for la in range(1, w + 1):
        for ld in range(1, w + 1):
            pairs.append((int(rng.integers(1 << (la - 1), 1 << la)),
                          int(rng.integers(1 << (ld - 1), 1 << ld))))
    return pairs


@cocotb.test()
async def full_range(dut):
    cfg = config()
    _, rng = rngs()
    pairs = _pairs(cfg, rng)
    a = np.array([p[0] for p in pairs], np.int64)
    d = np.array([p[1] for p in pairs], np.int64)
    want_q, want_e = acore.op_div(a, d, cfg)
    latency = Divider(cfg).latency
    await start(dut)
    bad = []
    for i in range(len(pairs)):
        # A division that is abandoned by a new `valid` mid-way must not disturb the next.
        if rng.random() < 0.1:
            dut.valid.value, dut.a.value, dut.d.value = 1, int(a[-1 - i]), 1
            await RisingEdge(dut.clk)
            dut.valid.value = 0
            for _ in range(int(rng.integers(0, latency - 1))):
                await RisingEdge(dut.clk)
        dut.valid.value, dut.a.value, dut.d.value = 1, int(a[i]), int(d[i])
        await RisingEdge(dut.clk)
        dut.valid.value = 0
        dut.a.value, dut.d.value = int(rng.integers(1, 1 << 20)), int(rng.integers(1, 1 << 20))
        for cycle in range(1, latency + 2):
            await ReadOnly()
            done = dut.done.value == 1
            # (the old pipeline's timing, which the APU's cycle counts and the cycle model keep)
            assert done == (cycle == latency), \
                f"division {i}: done={int(done)} {cycle} cycles after the edge that took it"
            if done:
                got = (dut.q.value.to_unsigned(), dut.e.value.to_signed())
                if got != (want_q[i], want_e[i]):
                    bad.append((i, got))
            await RisingEdge(dut.clk)
        for _ in range(int(rng.integers(0, 3))):
            await RisingEdge(dut.clk)
    assert not bad, f"{len(bad)} wrong, first a={a[bad[0][0]]} d={d[bad[0][0]]}: got " \
                    f"{bad[0][1]} want {(want_q[bad[0][0]], want_e[bad[0][0]])}"
