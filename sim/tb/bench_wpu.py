"""cocotb bench: whole layer tiles through one WPU without stalls; cycles per tile.

Reads the tiles from $ETA_BENCH_TILES (JSON), writes results to $ETA_BENCH_OUT (JSON).
Every tile's result is also checked against the golden model, so a fast wrong answer
cannot pass as a result.
"""

import json
import os

import cocotb

from hw.wpu import wpu_beat_layout, wpu_result_layout
from sim.golden import pe
from sim.tb.common import (StreamPort, config, decoded_beat, pack, rngs, run_stream, start,
                           unpack)
from sim.tb.tb_wpu import (check_output, layer_inputs, load_weights, mode_word,
                           plan_and_expect)


@cocotb.test()
async def bench(dut):
    cfg = config()
    _, rng = rngs()
    tiles = json.loads(os.environ["ETA_BENCH_TILES"])
    await start(dut)
    results = []
    for tile in tiles:
        mode = pe.Mode(*tile["mode"])
        dut.mode.value = mode_word(mode)
        x, w, e = layer_inputs(rng, mode, cfg, tile["h"], tile["w"])
        plan, want, trim = plan_and_expect(mode, cfg, x, w, e)
        await load_weights(dut, cfg, plan.weights)
        stats = {}
        got = await run_stream(dut, StreamPort(dut, "i"), StreamPort(dut, "o"),
                               [pack(wpu_beat_layout(cfg), decoded_beat(b, cfg.pint))
                                for b in plan.beats],
                               plan.transfers, stats=stats)
        check_output(mode, plan, [unpack(wpu_result_layout(cfg), b) for b in got], want,
                     trim)
        results.append({**tile, "cycles": stats["cycles"], "beats": len(plan.beats)})
    with open(os.environ["ETA_BENCH_OUT"], "w") as f:
        json.dump(results, f)
