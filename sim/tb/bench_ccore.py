"""cocotb bench: layer tiles through the whole C-Core (buffers, array, partial sums) with no
stalls; cycles from the first descriptor taken to the last sum out, per layer tile.

Reads the layers from $ETA_BENCH_TILES (JSON: label, [phase, stride, k], cin, cout, h, w),
writes results to $ETA_BENCH_OUT (JSON). Every result is checked against the golden model.
"""

import json
import os

import cocotb

from sim.golden import ccore
from sim.tb.common import config, rngs, start
from sim.tb.tb_ccore import check, expected, layer_data, load, run_layer


@cocotb.test()
async def bench(dut):
    cfg = config()
    rnd, rng = rngs()
    await start(dut)
    results = []
    for spec in json.loads(os.environ["ETA_BENCH_TILES"]):
        layer = ccore.Layer(spec["mode"], spec["cin"], spec["cout"], spec["h"], spec["w"], cfg)
        x, w, e = layer_data(rng, layer)
        await load(dut, layer, x, w, e, None)
        tiles = ccore.tiles(layer)
        stats = {}
        emitted = await run_layer(dut, layer, tiles, "none", rnd, stats)
        check(layer, emitted, expected(layer, x, w, e))
        results.append({**spec, "cycles": stats["cycles"], "tiles": len(tiles)})
        dut._log.info(f"{spec['label']}: {stats['cycles']} cycles")
    with open(os.environ["ETA_BENCH_OUT"], "w") as f:
        json.dump(results, f)
