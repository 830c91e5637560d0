"""cocotb: the TILE unit in front of the C-Core: a layer's tiles grouped into TILE
descriptors of consecutive channel blocks (as the compiler makes them), every pattern, under
stalls; the sums reassembled and compared with the golden convolutions as tb_ccore does, one
`done` per descriptor; a refused tile is a TILE_REFUSED error."""

import json
import os

import cocotb
from amaranth.lib import data
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge

from hw.isa.program import Op, TileOp, encode, layout
from hw.isa.regs import ErrorCode
from hw.psum_buffer import psum_lane_layout
from hw.ccore import ccore_lanes
from sim.golden import ccore
from sim.tb.common import StreamPort, config, rngs, run_stream, start, unpack
from sim.tb.tb_ccore import check, expected, layer_data, load

LAYERS = json.loads(os.environ.get("ETA_CCORE_LAYERS", "[]"))


def grouped(tiles, cfg):
    """Consecutive tiles one TILE descriptor can make -> that TileOp (as the compiler groups
    them; WG sums then land pe_cols apart in the partial-sum buffer)."""
    def same(a, b):
        return a.replace(pbase=0) == b.replace(pbase=0)
    ops = []
    for t in tiles:
        if ops:
            prev = ops[-1]
            cand = TileOp(prev.tile.replace(emit=t.emit), prev.nblk + 1)
            if all(map(same, cand.tiles(cfg), prev.tiles(cfg) + [t])):
                try:
                    ccore.check_tile(cand.tile, cfg, cand.nblk)
                    ops[-1] = cand
                    continue
                except ValueError:
                    pass
        ops.append(TileOp(t, 1))
    made = [x for op in ops for x in op.tiles(cfg)]
    assert len(made) == len(tiles) and all(map(same, made, tiles))
    return ops


@cocotb.test()
@cocotb.parametrize(spec=LAYERS, stalls=["none", "random"])
async def layer(dut, spec, stalls):
    cfg = config()
    n = LAYERS.index(spec)
    rnd, rng = rngs(2 * n + (stalls == "random"))
    await start(dut)
    lay = ccore.Layer(spec[0], *spec[1:], cfg)
    x, w, e = layer_data(rng, lay)
    await load(dut, lay, x, w, e, None)
    tiles = ccore.tiles(lay)
    ops = grouped(tiles, cfg)
    assert any(op.nblk > 1 for op in ops) or len(tiles) == 1, "no descriptor groups tiles"
    tiles = [x for op in ops for x in op.tiles(cfg)]
    word = layout(cfg, Op.TILE)
    items = [encode(cfg, op) & ((1 << word.size) - 1) for op in ops]
    emitting = [t for t in tiles if t.emit]
    counts = [ccore.transfers(t, cfg) for t in emitting]
    dones, taken = [], []
    overlapped = 0                        # descriptors taken while an earlier one retires
    owed = 0

    async def watch():
        nonlocal overlapped, owed
        while True:
            await RisingEdge(dut.clk)
            await ReadOnly()
            dones.append(int(dut.done.value))
            owed -= int(dut.done.value)
            if dut.desc__valid.value and dut.desc__ready.value:
                overlapped += owed > 0
                owed += 1
            if dut.tap_valid.value:
                taken.append(int(dut.tap.value))
    task = cocotb.start_soon(watch())
    got = await run_stream(dut, StreamPort(dut, "desc"), StreamPort(dut, "o"), items,
                           sum(counts), stalls, stalls, rnd, timeout=20000)
    for _ in range(50):
        await RisingEdge(dut.clk)
    task.cancel()
    assert sum(dones) == len(ops), f"{sum(dones)} done pulses for {len(ops)} descriptors"
    if stalls == "none" and len(ops) > 1:
        assert overlapped, "no descriptor was taken before the previous one retired"
    want = [t.pack(cfg) for t in tiles]
    assert taken == want, "the tiles handed to the C-Core differ from TileOp.tiles"
    out_layout = data.ArrayLayout(psum_lane_layout(cfg), ccore_lanes(cfg))
    rows = [[(lane["value"], lane["ovf"]) for lane in unpack(out_layout, b)] for b in got]
    emitted, at = [], 0
    for t, k in zip(emitting, counts):
        emitted.append((t, rows[at:at + k]))
        at += k
    check(lay, emitted, expected(lay, x, w, e))
    assert dut.error.value == 0


@cocotb.test()
async def refused(dut):
    cfg = config()
    await start(dut)
    lay = ccore.Layer((0, 1, 3), 2, 2, 4, 4, cfg)
    bad = TileOp(ccore.tiles(lay)[0].replace(cb=5), 1)
    word = layout(cfg, Op.TILE)
    await FallingEdge(dut.clk)
    dut.desc__valid.value = 1
    dut.desc__payload.value = encode(cfg, bad) & ((1 << word.size) - 1)
    await FallingEdge(dut.clk)
    dut.desc__valid.value = 0
    seen = 0
    for _ in range(10):
        await RisingEdge(dut.clk)
        await ReadOnly()
        if dut.error.value:
            seen += 1
            assert dut.code.value == ErrorCode.TILE_REFUSED.value
    assert seen == 1, "one error pulse for the refused tile"
    assert dut.done.value == 0
    # nblk = 0 fits the word but names no tile: refused at once, not waited on forever.
    await FallingEdge(dut.clk)
    dut.rst.value = 1                     # the refused tile keeps the unit busy until reset
    for _ in range(2):
        await RisingEdge(dut.clk)
    dut.rst.value = 0
    await FallingEdge(dut.clk)
    nblk = word["nblk"]
    empty = encode(cfg, TileOp(ccore.tiles(lay)[0], 1)) & ((1 << word.size) - 1)
    empty &= ~(((1 << nblk.width) - 1) << nblk.offset)
    dut.desc__valid.value = 1
    dut.desc__payload.value = empty
    await ReadOnly()
    assert dut.desc__ready.value == 1 and dut.error.value == 1
    assert dut.code.value == ErrorCode.TILE_REFUSED.value
    await FallingEdge(dut.clk)
    dut.desc__valid.value = 0
    for _ in range(5):
        await RisingEdge(dut.clk)
        await ReadOnly()
        assert dut.error.value == 0 and dut.done.value == 0
