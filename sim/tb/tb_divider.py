"""cocotb: the pipelined divider against `op_div`, one division per cycle, over the whole
operand range (every bit length of both operands, and the extremes)."""

import cocotb
import numpy as np
from cocotb.triggers import ReadOnly, RisingEdge

from sim.golden import acore
from sim.tb.common import config, rngs, start


@cocotb.test()
async def full_range(dut):
    cfg = config()
    _, rng = rngs()
    w = cfg.acore.word_bits - 1
    top = (1 << w) - 1
    pairs = [(1, 1), (top, 1), (1, top), (top, top), (top, top - 1), (1 << (w - 1), 3)]
    for la in range(1, w + 1):
        for ld in range(1, w + 1):
            for _ in range(2):
                pairs.append((int(rng.integers(1 << (la - 1), 1 << la)),
                              int(rng.integers(1 << (ld - 1), 1 << ld))))
    a = np.array([p[0] for p in pairs], np.int64)
    d = np.array([p[1] for p in pairs], np.int64)
    want_q, want_e = acore.op_div(a, d, cfg)
    await start(dut)
    got = []
    latency = cfg.acore.recip_bits + 2
    for cycle in range(len(pairs) + latency + 2):
        if cycle < len(pairs):
            dut.valid.value, dut.a.value, dut.d.value = 1, int(a[cycle]), int(d[cycle])
        else:
            dut.valid.value = 0
        await ReadOnly()
        if dut.done.value == 1:
            got.append((dut.q.value.to_unsigned(), dut.e.value.to_signed()))
        await RisingEdge(dut.clk)
    assert len(got) == len(pairs), f"{len(got)} results for {len(pairs)} divisions"
    bad = [i for i, (q, e) in enumerate(got) if (q, e) != (want_q[i], want_e[i])]
    assert not bad, f"{len(bad)} wrong, first a={a[bad[0]]} d={d[bad[0]]}: got {got[bad[0]]} " \
                    f"want {(want_q[bad[0]], want_e[bad[0]])}"
