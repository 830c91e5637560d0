"""cocotb: a cluster (WPUs sharing weights) and the C-Core array (clusters sharing inputs)
run small layers of every pattern, each WPU on its own window, under random stalls."""

import os

import cocotb

from hw.array import array_beat_layout, array_result_layout
from hw.cluster import cluster_beat_layout, cluster_result_layout, decoded_weights_layout
from sim.golden import pe
from sim.tb.common import (StreamPort, config, decoded, decoded_beat, pack, rngs, run_stream,
                           start, unpack)
from sim.tb.tb_wpu import (check_output, layer_inputs, load_weights, mode_word,
                           plan_and_expect)


async def load(dut, cfg, weights, per_cluster):
    """weights[k][r] for each cluster k (one cluster: the cluster's own port)."""
    layout = decoded_weights_layout(cfg)
    one = lambda k, r: pack(layout, decoded(weights[k][r], cfg.pint))
    await load_weights(dut, cfg, None, lambda r: one(0, r) if not per_cluster
                       else sum(one(k, r) << (k * layout.size) for k in range(len(weights))))


@cocotb.test()
@cocotb.parametrize(mode=pe.MODES, stalls=[("none", "none"), ("random", "random")])
async def layers(dut, mode, stalls):
    cfg = config()
    is_array = os.environ["ETA_LEVEL"] == "array"
    clusters = cfg.clusters if is_array else 1
    rnd, rng = rngs(pe.MODES.index(mode) * 2 + (stalls[0] == "random"))
    await start(dut)
    dut.mode.value = mode_word(mode)
    h, wd = int(rng.integers(3, 7)), int(rng.integers(3, 8))
    # Inputs shared by the clusters, one window per WPU; weights per cluster, errors per both.
    per_wpu = [layer_inputs(rng, mode, cfg, h, wd) for _ in range(cfg.wpus)]
    per_cluster = [layer_inputs(rng, mode, cfg, h, wd) for _ in range(clusters)]
    jobs = [[plan_and_expect(mode, cfg, per_wpu[v][0], per_cluster[k][1],
                             per_wpu[v][2] if k == 0 else
                             (None if per_wpu[v][2] is None else
                              layer_inputs(rng, mode, cfg, h, wd)[2]))
             for v in range(cfg.wpus)] for k in range(clusters)]
    await load(dut, cfg, [jobs[k][0][0].weights for k in range(clusters)], is_array)
    n_beats = len(jobs[0][0][0].beats)
    beats = []
    for t in range(n_beats):
        b = jobs[0][0][0].beats[t]
        x = [jobs[0][v][0].beats[t]["x"] for v in range(cfg.wpus)]
        e = [[jobs[k][v][0].beats[t]["e"] for v in range(cfg.wpus)] for k in range(clusters)]
        for k in range(clusters):           # the clusters really share their inputs
            assert all(jobs[k][v][0].beats[t]["x"] == x[v] for v in range(cfg.wpus))
        beats.append({"x": x, "e": e if is_array else e[0], "row": b["row"],
                      "first": b["first"], "last": b["last"]})
    layout = array_beat_layout(cfg) if is_array else cluster_beat_layout(cfg)
    results = array_result_layout(cfg) if is_array else cluster_result_layout(cfg)
    got = await run_stream(dut, StreamPort(dut, "i"), StreamPort(dut, "o"),
                           [pack(layout, decoded_beat(b, cfg.pint)) for b in beats],
                           jobs[0][0][0].transfers,
                           *stalls, rnd)
    out = [unpack(results, bits) for bits in got]
    for k in range(clusters):
        for v in range(cfg.wpus):
            plan, want, trim = jobs[k][v]
            check_output(mode, plan, [o[k][v] if is_array else o[v] for o in out], want, trim)
