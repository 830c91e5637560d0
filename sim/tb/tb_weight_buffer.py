"""cocotb: the weight buffer loaded with 3x3 and 1x1 layers, every FP (direct) and BP
(transposed) read of them against the golden network's view, under stalls."""

import cocotb
from amaranth.lib import data

from hw.cluster import weights_layout
from hw.weight_buffer import wbuf_read_layout, wbuf_write_layout
from sim.golden import weight_buffer as golden
from sim.tb.common import (STALLS, StreamPort, config, load_banks, pack, rngs, run_stream,
                           start, unpack)


def requests(w, cfg):
    """Every read of the layer: (bp, group, blk, u)."""
    k, p = cfg.clusters, cfg.pe_cols
    k1 = w.ndim == 2
    cout, cin = w.shape[:2]
    out = []
    for bp in (0, 1):
        per = 3 * k if k1 else k
        groups = (cin if bp else cout) // per
        blks = (cout if bp else cin) // p
        for g in range(groups):
            for b in range(blks):
                for u in ([0] if k1 else range(3)):
                    out.append((bp, g, b, u))
    return out


@cocotb.test()
@cocotb.parametrize(stalls=STALLS)
async def every_read(dut, stalls):
    cfg = config()
    rnd, rng = rngs(STALLS.index(stalls))
    k, p = cfg.clusters, cfg.pe_cols
    await start(dut)
    out_layout = data.ArrayLayout(weights_layout(cfg), k)
    code = lambda d: pack(weights_layout(cfg).elem_shape.elem_shape, d)
    for shape, base in [((2 * k, 3 * p, 3, 3), 5), ((6 * k, 6 * k), 0)]:
        w = rng.integers(0, 256, shape)
        await load_banks(dut, wbuf_write_layout(cfg), golden.image(w, cfg, base))
        reqs = requests(w, cfg)
        blocks = w.shape[1] // p
        items = [pack(wbuf_read_layout(cfg), {"k1": int(w.ndim == 2), "bp": bp, "group": g,
                                              "blk": b, "u": u, "blocks": blocks,
                                              "base": base})
                 for bp, g, b, u in reqs]
        got = await run_stream(dut, StreamPort(dut, "rd"), StreamPort(dut, "o"), items,
                               len(items), stalls, stalls, rnd)
        for (bp, g, b, u), bits in zip(reqs, got):
            golden.reads(w, bp, g, b, u, cfg)          # every bank at most once
            want = golden.view(w, bp, g, b, u, cfg)
            have = [[[code(x) for x in col] for col in clus]
                    for clus in unpack(out_layout, bits)]
            assert have == want, f"{shape} bp={bp} group={g} blk={b} u={u}: {have} != {want}"
