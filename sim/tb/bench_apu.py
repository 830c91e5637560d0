"""cocotb bench: every APU program on channels of given sizes, no stalls; cycles per run.

Reads the sizes from $ETA_BENCH_SIZES (JSON list), writes [(program, N, cycles)] to
$ETA_BENCH_OUT. The workloads are the regression's, so every result is also checked against
the golden model.
"""

import json
import os

import cocotb

from sim.tb.common import config, rngs, start
from sim.tb.tb_apu import WORKLOADS, ApuTB


@cocotb.test()
async def bench(dut):
    cfg = config()
    rnd, rng = rngs()
    await start(dut)
    tb = ApuTB(dut, cfg, rnd)
    for n in json.loads(os.environ["ETA_BENCH_SIZES"]):
        for run in WORKLOADS.values():
            await run(tb, cfg, rng, [n])
    with open(os.environ["ETA_BENCH_OUT"], "w") as f:
        json.dump(tb.log, f)
