"""cocotb: whole layers of every pattern through the C-Core top: buffers loaded over their
write ports (random order and gaps), tile descriptors in, partial sums out, all under
stalls; the outputs reassembled and compared with the golden convolutions bit for bit.

Layers come from $ETA_CCORE_LAYERS (JSON: [[phase, stride, k], cin, cout, h, w]).
"""

import json
import os

import cocotb
import numpy as np
from amaranth.lib import data
from cocotb.triggers import FallingEdge, ReadOnly

from hw.ccore import ccore_lanes
from hw.input_buffer import ibuf_write_layout
from hw.isa.tile import ccore_tile_layout
from hw.psum_buffer import psum_lane_layout
from hw.weight_buffer import wbuf_write_layout
from sim.golden import ccore, conv, pint
from sim.golden import input_buffer as ibuf
from sim.golden import weight_buffer as wbuf
from sim.golden.pe import Phase
from sim.tb.common import StreamPort, config, pack, rngs, run_stream, start, unpack
from sim.tb.common import load_banks


def layer_data(rng, layer):
    """Random codes (x, w, e) for the layer; unused ones None."""
    ph, s, k = layer.mode
    codes = lambda *shape: rng.integers(0, 1 << layer.cfg.pint.k, shape)
    wshape = (layer.cout, layer.cin) + ((3, 3) if k == 3 else ())
    x = codes(layer.cin, layer.h, layer.w)
    e = codes(layer.cout, layer.oh, layer.ow)
    return (x, codes(*wshape), None) if ph == Phase.FP else \
        (None, codes(*wshape), e) if ph == Phase.BP else (x, None, e)


def expected(layer, x, w, e):
    """The layer's exact output (golden convolutions on decoded values), unpadded."""
    ph, s, k = layer.mode
    dec = lambda a: pint.decode(a, layer.cfg.pint)
    pad = 0 if k == 1 else 1
    w4 = None if w is None else (dec(w) if k == 3 else dec(w)[:, :, None, None])
    if ph == Phase.FP:
        return conv.conv_fp(dec(x)[None], w4, s, pad)[0]
    if ph == Phase.BP:
        return conv.conv_bp(dec(e)[None], w4, (1, layer.cin, layer.h, layer.w), s, pad)[0]
    return conv.conv_wg(dec(x)[None], dec(e)[None], k, s, pad)


def top_bases(layer, tiles):
    """Bases that put the maps, the weights and the sums at the top end of their buffers
    (the address adders must then be right to the last entry)."""
    cfg = layer.cfg
    c, h, w = layer.streamed
    xbase = (1 << cfg.ibuf_bits) - ibuf.entries(h, w, -(-c // cfg.pe_cols), cfg)
    ebase = (1 << cfg.ibuf_bits) - ibuf.entries(layer.oh, layer.ow, layer.cout_p // cfg.pe_cols,
                                                cfg)
    wbase = (1 << cfg.wbuf_bits) - wbuf.entries(layer.cout_p, layer.cin_p, layer.mode.k == 1,
                                                cfg)
    pbase = (1 << cfg.psum_bits) - max(ccore.transfers(t, cfg) for t in tiles)
    return {"xbase": xbase, "ebase": ebase if layer.mode.phase == Phase.WG else 0,
            "wbase": wbase if layer.mode.phase != Phase.WG else 0, "pbase": pbase}


async def load(dut, layer, x, w, e, rnd, bases=None):
    cfg = layer.cfg
    b = bases or {"xbase": 0, "ebase": 0, "wbase": 0}
    c_stream = layer.streamed[0]
    if layer.mode.phase == Phase.BP:
        await load_banks(dut, ibuf_write_layout(cfg),
                         ibuf.image(layer.pad_c(e, c_stream), cfg, b["xbase"]), "wr_x", rnd)
    else:
        await load_banks(dut, ibuf_write_layout(cfg),
                         ibuf.image(layer.pad_c(x, c_stream), cfg, b["xbase"]), "wr_x", rnd)
    if layer.mode.phase == Phase.WG:
        await load_banks(dut, ibuf_write_layout(cfg),
                         ibuf.image(layer.pad_c(e, layer.cout_p), cfg, b["ebase"]), "wr_e", rnd)
    else:
        await load_banks(dut, wbuf_write_layout(cfg),
                         wbuf.image(layer.pad_w(w), cfg, b["wbase"]), "wr_w", rnd)


async def run_layer(dut, layer, tiles, stalls, rnd, stats=None):
    """Send the tiles, collect what the emitting ones read out: [(tile, rows)]."""
    cfg = layer.cfg
    emitting = [t for t in tiles if t.emit]
    counts = [ccore.transfers(t, cfg) for t in emitting]
    got = await run_stream(dut, StreamPort(dut, "tile"), StreamPort(dut, "o"),
                           [t.pack(cfg) for t in tiles], sum(counts),
                           stalls, stalls, rnd, timeout=20000, stats=stats)
    out_layout = data.ArrayLayout(psum_lane_layout(cfg), ccore_lanes(cfg))
    rows = [[(lane["value"], lane["ovf"]) for lane in unpack(out_layout, b)] for b in got]
    emitted, at = [], 0
    for t, n in zip(emitting, counts):
        emitted.append((t, rows[at:at + n]))
        at += n
    return emitted


def check(layer, emitted, want, reshape=None):
    """The emitted sums placed into the output (reshape: how that output becomes the
    layer's), against the exact `want` saturated as the MACs saturate."""
    vals, ovf = ccore.assemble(layer, emitted)
    if reshape is not None:
        vals, ovf = reshape(vals), reshape(ovf)
    crop = tuple(slice(0, n) for n in want.shape)
    vals, ovf = vals[crop], ovf[crop]
    sat, clamped = conv.saturate(want, layer.cfg.acc_bits)
    assert (ovf == clamped).all(), f"{layer.mode}: overflow flags differ"
    bad = np.argwhere(vals != sat)
    assert bad.size == 0, (f"{layer.mode}: {len(bad)} of {sat.size} wrong, first at "
                           f"{bad[0].tolist()}: {vals[tuple(bad[0])]} != {sat[tuple(bad[0])]}")


async def reset(dut):
    await FallingEdge(dut.clk)
    dut.rst.value = 1
    await FallingEdge(dut.clk)
    dut.rst.value = 0


LAYERS = json.loads(os.environ.get("ETA_CCORE_LAYERS", "[]"))


@cocotb.test()
@cocotb.parametrize(spec=LAYERS, stalls=["none", "random"])
async def layer(dut, spec, stalls):
    cfg = config()
    n = LAYERS.index(spec)
    rnd, rng = rngs(2 * n + (stalls == "random"))
    await start(dut)
    load_rnd = rnd if stalls == "random" else None
    # Under random stalls, everything is stored at the top end of its buffer.
    at_top = stalls == "random"
    if tuple(spec[0]) == (Phase.WG, 1, 1):
        # 1x1 WG (FC WG) as 1x1 FP on transposed operands (sim.golden.ccore.wg1x1_as_fp).
        cin, cout, h, w = spec[1:]
        x, e = (rng.integers(0, 1 << cfg.pint.k, shape) for shape in ((cin, h, w),
                                                                        (cout, h, w)))
        lay, xt, et = ccore.wg1x1_as_fp(cin, cout, h, w, x, e, cfg)
        tiles = ccore.tiles(lay)
        bases = top_bases(lay, tiles) if at_top else None
        await load(dut, lay, xt, et, None, load_rnd, bases)
        emitted = await run_layer(dut, lay, [t.replace(**bases) for t in tiles] if bases
                                  else tiles, stalls, rnd)
        dec = lambda a: pint.decode(a, cfg.pint)
        want = conv.conv_wg(dec(x)[None], dec(e)[None], 1, 1, 0)[:, :, 0, 0]
        check(lay, emitted, want, lambda y: ccore.wg1x1_result(y, cin))
    else:
        lay = ccore.Layer(spec[0], *spec[1:], cfg)
        x, w, e = layer_data(rng, lay)
        tiles = ccore.tiles(lay)
        bases = top_bases(lay, tiles) if at_top else None
        await load(dut, lay, x, w, e, load_rnd, bases)
        emitted = await run_layer(dut, lay, [t.replace(**bases) for t in tiles] if bases
                                  else tiles, stalls, rnd)
        check(lay, emitted, expected(lay, x, w, e))
    await ReadOnly()
    assert dut.conflicts.value.to_unsigned() == 0, "an input-buffer bank conflict"
    assert dut.error.value == 0


@cocotb.test()
@cocotb.parametrize(sign=[1, -1])
async def wg_sums_clamp(dut, sign):
    """WG sums far past acc_bits inside each PE (a 20 x 20 map of the largest-magnitude
    codes, products of one sign): the PEs hand them over unsaturated and the C-Core's WG
    drain saturates them, so every output is its rail with its flag."""
    cfg = config()
    rnd, rng = rngs(200 + (sign < 0))
    await start(dut)
    lay = ccore.Layer((Phase.WG, 1, 3), cfg.pe_cols, cfg.clusters, 20, 20, cfg)
    t = pint.decode(np.arange(1 << cfg.pint.k), cfg.pint)
    big, small = int(np.argmin(t)), int(np.argmax(t))
    x = np.full((lay.cin, lay.h, lay.w), big)
    e = np.full((lay.cout, lay.oh, lay.ow), big if sign > 0 else small)
    tiles = ccore.tiles(lay)
    await load(dut, lay, x, None, e, rnd)
    emitted = await run_layer(dut, lay, tiles, "random", rnd)
    want = expected(lay, x, None, e)
    assert (np.abs(want) >> (cfg.acc_bits - 1)).all(), "the test needs sums past acc_bits"
    check(lay, emitted, want)


@cocotb.test()
async def bad_tiles_are_refused(dut):
    """Descriptors the buffers cannot serve raise `error` and are dropped; a good tile after
    them still runs."""
    cfg = config()
    rnd, rng = rngs(99)
    lay = ccore.Layer((0, 1, 3), 2, 2, 4, 4, cfg)
    await start(dut)
    x, w, e = layer_data(rng, lay)
    await load(dut, lay, x, w, e, None)
    tiles = ccore.tiles(lay)
    good = tiles[0].as_dict()
    top = lambda bits: (1 << bits) - 1
    bads = [dict(good, groups=0), dict(good, cb=good["blocks"]),
            dict(good, groups=1 << cfg.psum_bits),          # more sums than the buffer holds
            dict(good, h=cfg.pe_rows * cfg.wpus << cfg.ibuf_bits),   # more than the buffer
            dict(good, wgroup=1 << cfg.wbuf_bits),          # weights past the buffer
            dict(good, mode={"phase": 0, "stride2": 1, "k1": 1}),
            "phase 3",
            dict(good, xbase=top(cfg.ibuf_bits)),           # the map runs past the end
            dict(good, wbase=top(cfg.wbuf_bits)),           # the weights run past the end
            dict(good, pbase=top(cfg.psum_bits))]           # the sums run past the end
    layout = ccore_tile_layout(cfg)
    for bad in bads:
        await reset(dut)
        dut.tile__valid.value = 1
        if bad == "phase 3":            # no such phase: strict packing refuses to write it
            at = layout["mode"].offset
            bits = pack(layout, good) | (3 << at)
        else:
            bits = pack(layout, bad)
        dut.tile__payload.value = bits
        await FallingEdge(dut.clk)
        dut.tile__valid.value = 0
        for _ in range(5):
            await FallingEdge(dut.clk)
        assert dut.error.value == 1, f"accepted {bad}"
        assert dut.o__valid.value == 0
    await reset(dut)
    emitted = await run_layer(dut, lay, tiles, "none", rnd)
    check(lay, emitted, expected(lay, x, w, e))
