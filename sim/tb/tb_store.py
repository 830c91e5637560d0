"""cocotb: the STORE unit behind a C-Core and the TILE unit, writing through the DMA writer
into cocotbext-axi's AXI RAM (random pauses on AW, W and B with random stalls). A layer's
tiles run as TILE descriptors; STOREs of one to three tiles place the emitted sums; the
whole RAM afterwards equals the background with `sim.golden.store.writes` of the golden
sums in place, bit for bit. Layouts: MAP32 (with offsets, and up2 for a 1x1 BP), WIMG32,
WIMG32_C (with offsets). Errors: a window overrun (ADDRESS), a layout that does not fit the
tile (BAD_STORE).

Layers come from $ETA_STORE_LAYERS (JSON: [[phase, stride, k], cin, cout, h, w, variant]).
"""

import collections
import dataclasses
import json
import os

import cocotb
import numpy as np
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge

from hw.isa.program import Op, Store, StoreLayout, encode, layout
from hw.isa.regs import ErrorCode
from sim.golden import ccore, conv, store
from sim.golden.pe import Phase
from sim.tb.common import StreamPort, config, pauses, rngs, send, start
from sim.tb.tb_ccore import expected, layer_data, load
from sim.tb.tb_tile_unit import grouped

LAYERS = json.loads(os.environ.get("ETA_STORE_LAYERS", "[]"))
SIZE = 1 << 17
AHEAD = {}                  # (layer, stalls) -> the most STOREs taken and not done at once
BASE = 4096 + 64          # where the stored tensor starts


def golden_rows(lay, tile, padded, clamped):
    """The golden sums of an emitting tile, as the C-Core's rows: [address][lane]; lanes
    that place nothing in the layer's output read 0."""
    cfg = lay.cfg
    rows = [[(0, 0)] * ccore.lanes(cfg) for _ in range(ccore.transfers(tile, cfg))]
    for (a, lane), idx in ccore.places(lay, tile).items():
        rows[a][lane] = (int(padded[idx]), int(clamped[idx]))
    return rows


def stores(lay, variant, tiles, rnd):
    """STORE descriptors for the emitting tiles (one to three tiles each)."""
    G, P, K = lay.cfg.apus, lay.cfg.pe_cols, lay.cfg.clusters
    ph = lay.mode.phase
    out = []
    at = 0
    while at < len(tiles):
        n = min(rnd.randint(1, 3), len(tiles) - at)
        if ph == Phase.WG:
            shift = variant == "wimg_off"
            lay_ = StoreLayout.WIMG32_C if variant == "wimg_c" else StoreLayout.WIMG32
            # A block offset beyond the tile's own cb field (a 1x1 layer of hundreds of
            # blocks places its dw so), where the image fits the RAM.
            cb_off = int(shift)
            far = 2 << lay.cfg.ibuf_bits
            if shift and (lay.cout_p + K) * (lay.cin_p + far * P) * 36 < SIZE - BASE:
                cb_off = far
            d = Store(lay_, BASE, out_c=0, out_h=lay.cout_p + K * shift, out_w=0,
                      eb_off=int(shift), cb_off=cb_off,
                      cblocks=lay.cin_p // P + cb_off, count=n)
        else:
            c, h, w = (lay.cout, lay.oh, lay.ow) if ph == Phase.FP else (lay.cin, lay.h, lay.w)
            up2 = variant == "up2"
            off = variant == "off"
            if up2:
                h, w = 2 * h - 1, 2 * w
            cc = c + (group_step(lay) if off else 0)
            s_col = 4 * G
            s_row, s_blk = s_col * w, s_col * w * h
            d = Store(StoreLayout.MAP32, BASE, out_c=cc, out_h=h, out_w=w,
                      row_off=int(off), group_off=int(off), s_blk=s_blk, s_row=s_row,
                      s_col=s_col, up2=int(up2), count=n)
        out.append(d)
        at += n
    return out


def group_step(lay):
    """Channels one wgroup step moves: K (3x3), LANES K (1x1)."""
    return lay.cfg.clusters * (3 if lay.mode.k == 1 else 1)


async def setup(dut, rnd, stalls):
    from cocotbext.axi import AxiRamWrite, AxiWriteBus
    ram = AxiRamWrite(AxiWriteBus.from_prefix(dut, "m_axi"), dut.clk, dut.rst, size=SIZE)
    if stalls == "random":
        for ch in (ram.aw_channel, ram.w_channel, ram.b_channel):
            ch.set_pause_generator(pauses(rnd, 0.3))
    for name in ("tile_desc", "store_desc"):
        getattr(dut, f"{name}__valid").value = 0
    dut.dram_base.value = 0
    dut.dram_size.value = SIZE
    await start(dut)
    return ram


async def pulses(dut, name, into):
    while True:
        await RisingEdge(dut.clk)
        await ReadOnly()
        if getattr(dut, name).value:
            into.append(1)


@cocotb.test(timeout_time=2, timeout_unit="ms")
@cocotb.parametrize(spec=LAYERS, stalls=["none", "random"])
async def layer(dut, spec, stalls):
    cfg = config()
    n = LAYERS.index(spec)
    rnd, rng = rngs(2 * n + (stalls == "random"))
    ram = await setup(dut, rnd, stalls)
    background = bytes(rng.integers(0, 256, SIZE, dtype="uint8"))
    ram.write(0, background)
    lay = ccore.Layer(spec[0], *spec[1:5], cfg)
    x, w, e = layer_data(rng, lay)
    await load(dut, lay, x, w, e, None)
    ops = grouped(ccore.tiles(lay), cfg)
    emitting = [t for op in ops for t in op.tiles(cfg) if t.emit]
    descs = stores(lay, spec[5], emitting, rnd)
    # The golden sums in the output's padded shape, saturated as the MACs saturate.
    sat, clamped = conv.saturate(expected(lay, x, w, e), cfg.acc_bits)
    padded = np.zeros(lay.out_shape, np.int64)
    flags = np.zeros(lay.out_shape, bool)
    padded[tuple(slice(0, m) for m in sat.shape)] = sat
    flags[tuple(slice(0, m) for m in sat.shape)] = clamped
    want = bytearray(background)
    at, words = 0, 0
    for d in descs:
        for t in emitting[at:at + d.count]:
            addrs, vals, _ = store.writes(d, t, golden_rows(lay, t, padded, flags), cfg)
            for a, v in zip(addrs, vals):
                want[a:a + 4] = int(v).to_bytes(4, "little", signed=True)
            words += len(addrs)
        at += d.count
    assert words, "the STOREs write nothing"

    tdone, sdone = [], []
    ahead = [0]                     # the most STOREs taken and not yet done at once

    async def overlap():
        taken = 0
        while True:
            await FallingEdge(dut.clk)      # `send` drives here; sample before the edge
            await ReadOnly()
            taken += int(dut.store_desc__valid.value) & int(dut.store_desc__ready.value)
            ahead[0] = max(ahead[0], taken - len(sdone))
    watchers = [cocotb.start_soon(pulses(dut, "tile_done", tdone)),
                cocotb.start_soon(pulses(dut, "store_done", sdone)),
                cocotb.start_soon(overlap())]
    tword, sword = layout(cfg, Op.TILE), layout(cfg, Op.STORE)
    idle = "random" if stalls == "random" else "none"
    feeds = [cocotb.start_soon(send(dut, StreamPort(dut, "tile_desc"),
                                    [encode(cfg, op) & ((1 << tword.size) - 1) for op in ops],
                                    idle, rnd)),
             cocotb.start_soon(send(dut, StreamPort(dut, "store_desc"),
                                    [encode(cfg, d) & ((1 << sword.size) - 1) for d in descs],
                                    idle, rnd))]
    for _ in range(200000):
        await RisingEdge(dut.clk)
        if len(sdone) == len(descs) and len(tdone) == len(ops):
            break
    for f in feeds + watchers:
        f.cancel()
    assert len(tdone) == len(ops), f"{len(tdone)} of {len(ops)} TILE descriptors done"
    assert len(sdone) == len(descs), f"{len(sdone)} of {len(descs)} STOREs done"
    assert dut.error.value == 0 and dut.write_error.value == 0
    AHEAD[n, stalls] = ahead[0]
    got = ram.read(0, SIZE)
    bad = [i for i in range(SIZE) if got[i] != want[i]]
    assert not bad, (f"{len(bad)} bytes differ, first at {bad[0]:#x} "
                     f"({got[bad[0]]:#x} != {want[bad[0]]:#x}); {words} words stored")


@cocotb.test(timeout_time=1, timeout_unit="ms")
async def stores_overlap(dut):
    """After the layers: somewhere the next STORE was taken while the writer still answered
    the last one's commands (it may not wait for them)."""
    assert AHEAD, "run after the layer tests"
    assert max(AHEAD.values()) >= 2, f"STOREs never overlapped: {AHEAD}"


async def one_store(dut, cfg, lay, d, count=None):
    """A layer's TILE descriptors and one STORE -> the error code seen (0: none), after a
    reset."""
    await FallingEdge(dut.clk)
    dut.rst.value = 1
    await FallingEdge(dut.clk)
    dut.rst.value = 0
    x, w, e = layer_data(np.random.default_rng(0), lay)
    await load(dut, lay, x, w, e, None)
    tword = layout(cfg, Op.TILE)
    ops = grouped(ccore.tiles(lay), cfg)
    feeds = [cocotb.start_soon(send(dut, StreamPort(dut, "tile_desc"),
                                    [encode(cfg, op) & ((1 << tword.size) - 1) for op in ops])),
             cocotb.start_soon(send(dut, StreamPort(dut, "store_desc"),
                                    [with_count(cfg, d, count)]))]
    seen, code, done = 0, 0, 0
    for _ in range(3000):
        await RisingEdge(dut.clk)
        await ReadOnly()
        if dut.error.value:
            seen += 1
            code = int(dut.code.value)
        done += int(dut.store_done.value)
    for f in feeds:
        f.cancel()
    assert seen <= 1, "one error pulse"
    assert done == (seen == 0), "a STORE is done or refused"
    return code


def with_count(cfg, d, count):
    """STORE d's word, its `count` field overwritten (None: as it is; 0 fits the field)."""
    word = layout(cfg, Op.STORE)
    bits = encode(cfg, d) & ((1 << word.size) - 1)
    if count is None:
        return bits
    f = word["count"]
    return (bits & ~(((1 << f.width) - 1) << f.offset)) | (count << f.offset)


@cocotb.test(timeout_time=2, timeout_unit="ms")
async def errors(dut):
    cfg = config()
    await setup(dut, rngs(99)[0], "none")
    G = cfg.apus
    lay = ccore.Layer((0, 1, 3), 5, 3, 7, 6, cfg)
    s_col = 4 * G
    near_top = Store(StoreLayout.MAP32, SIZE - 64, out_c=3, out_h=7, out_w=6,
                     s_blk=s_col * 42, s_row=s_col * 6, s_col=s_col, count=1)
    assert await one_store(dut, cfg, lay, near_top) == ErrorCode.ADDRESS.value
    wrong = Store(StoreLayout.WIMG32, BASE, out_c=0, out_h=lay.cout_p, out_w=0, cblocks=3,
                  count=1)
    assert await one_store(dut, cfg, lay, wrong) == ErrorCode.BAD_STORE.value
    fits = Store(StoreLayout.MAP32, BASE, out_c=3, out_h=7, out_w=6, s_blk=s_col * 42,
                 s_row=s_col * 6, s_col=s_col, count=1)
    assert await one_store(dut, cfg, lay, fits) == 0
    assert await one_store(dut, cfg, lay, fits, count=0) == ErrorCode.BAD_STORE.value
    assert await one_store(dut, cfg, lay, fits) == 0
    # The window's edge to the word: placed so that its highest chunk ends at the window's
    # last byte (the golden placement of the first emitting tile), the STORE fits; one
    # word higher it does not.
    first = next(t for op in grouped(ccore.tiles(lay), cfg) for t in op.tiles(cfg) if t.emit)
    zeros = collections.defaultdict(lambda: collections.defaultdict(lambda: (0, 0)))
    at0 = Store(StoreLayout.MAP32, 0, out_c=3, out_h=7, out_w=6, s_blk=s_col * 42,
                s_row=s_col * 6, s_col=s_col, count=1)
    extent = max(store.writes(at0, first, zeros, cfg)[0]) + 4
    for addr, code in ((SIZE - extent, 0), (SIZE - extent + 4, ErrorCode.ADDRESS.value)):
        d = dataclasses.replace(at0, addr=addr)
        assert await one_store(dut, cfg, lay, d) == code, f"STORE at {addr}, {extent} bytes"
