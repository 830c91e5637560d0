"""cocotb: the DMA's read side against cocotbext-axi's AXI RAM (which refuses bursts that
cross 4 KiB), with random pauses on AR and R and backpressure on the output: every command's
bytes in order, words packed from lane 0, `last` on each command's end; misaligned commands
and SLVERR set `error` with the command's address."""

import os

import cocotb
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge
from cocotbext.axi import AxiRamRead, AxiReadBus, AxiSlaveRead

from hw.dma import dma_cmd_layout, dma_word_layout
from sim.tb.common import StreamPort, config, pack, pauses, rngs, run_stream, start, unpack

SIZE = 1 << 16


def lane_bytes(cfg):
    """The lane the DMA moves: $ETA_DMA_LANE bytes (a writer built with that `lane_bytes`),
    else the configuration's pe_cols."""
    return int(os.environ.get("ETA_DMA_LANE", "0")) or cfg.pe_cols


def commands(cfg, rnd, n):
    """(addr, bytes), lane-aligned: short ones, ones across 4 KiB, ones over 256 beats."""
    unit, B = lane_bytes(cfg), cfg.axi_bytes
    out = []
    for i in range(n):
        kind = i % 4
        if kind == 0:
            length = unit * rnd.randint(1, 3 * B // unit)
        elif kind == 1:
            length = unit * rnd.randint(B // unit, 40 * B // unit)
        elif kind == 2:
            length = unit * rnd.randint(256 * B // unit, 300 * B // unit)
        else:
            length = unit * rnd.randint(1, 2)
        length = min(length, SIZE // 2)
        if kind == 1:
            addr = 4096 * rnd.randint(1, 10) - unit * rnd.randint(1, 20)
        else:
            addr = unit * rnd.randrange(0, (SIZE - length) // unit)
        out.append((addr, length))
    return out


def words_to_commands(cfg, got, cmds):
    """Check the output words against the commands; returns the bytes per command."""
    lay = dma_word_layout(cfg, lane_bytes(cfg))
    unit = lane_bytes(cfg)
    out, cur = [], b""
    for bits in got:
        w = unpack(lay, bits)
        raw = (w["data"] & ((1 << cfg.axi_data_bits) - 1)).to_bytes(cfg.axi_bytes, "little")
        cur += raw[:w["units"] * unit]
        if w["last"]:
            out.append(cur)
            cur = b""
        else:
            assert w["units"] == cfg.axi_bytes // unit, "a full word before the last"
    assert cur == b"" and len(out) == len(cmds), (len(out), len(cmds))
    return out


@cocotb.test()
@cocotb.parametrize(stalls=["none", "random"])
async def reads(dut, stalls):
    cfg = config()
    rnd, rng = rngs(stalls == "random")
    ram = AxiRamRead(AxiReadBus.from_prefix(dut, "m_axi"), dut.clk, dut.rst, size=SIZE)
    ram.write(0, bytes(rng.integers(0, 256, SIZE, dtype="uint8")))
    if stalls == "random":
        ram.ar_channel.set_pause_generator(pauses(rnd, 0.3))
        ram.r_channel.set_pause_generator(pauses(rnd, 0.3))
    dut.clear.value = 0
    await start(dut)
    cmds = commands(cfg, rnd, 24)
    lay = dma_cmd_layout(cfg)
    items = [pack(lay, {"addr": a, "bytes": n}) for a, n in cmds]
    # Words come packed from lane 0: ceil(bytes / bus bytes) per command, fewer than the
    # beats read where a command starts mid-beat.
    want = sum(-(-n // cfg.axi_bytes) for a, n in cmds)
    # A reader with a buffer (ETA_DMA_BUFFER beats) asks only for bursts it has room for:
    # it never holds R back, however its output stalls, and no burst is longer.
    buffer = int(os.environ.get("ETA_DMA_BUFFER", "0"))
    held = []

    def never_holds_r(cycle):
        if buffer:
            if dut.m_axi_rvalid.value and not dut.m_axi_rready.value:
                held.append(cycle)
            if dut.m_axi_arvalid.value:
                assert int(dut.m_axi_arlen.value) < buffer // 2, "a burst over half the buffer"
    got = await run_stream(dut, StreamPort(dut, "cmd"), StreamPort(dut, "o"), items, want,
                           stalls, stalls, rnd, timeout=5000, before_edge=never_holds_r)
    assert not held, f"R held back at cycles {held[:5]}"
    for (a, n), data in zip(cmds, words_to_commands(cfg, got, cmds)):
        assert data == ram.read(a, n), f"command at {a:#x}, {n} bytes"
    await ReadOnly()
    assert dut.error.value == 0 and dut.idle.value == 1


class Faulty:
    """A memory whose reads fail from `bad` on."""

    def __init__(self, bad):
        self.bad = bad

    async def read(self, address, length):
        if address + length > self.bad:
            raise IOError("bad address")
        return bytes(length)


@cocotb.test()
async def errors(dut):
    cfg = config()
    rnd, _ = rngs(7)
    AxiSlaveRead(AxiReadBus.from_prefix(dut, "m_axi"), dut.clk, dut.rst, target=Faulty(8192))
    dut.clear.value = 0
    await start(dut)
    lay = dma_cmd_layout(cfg)
    unit = lane_bytes(cfg)

    async def send(addr, n, words):
        return await run_stream(dut, StreamPort(dut, "cmd"), StreamPort(dut, "o"),
                                [pack(lay, {"addr": addr, "bytes": n})], words)

    await send(unit * 3, unit * 5, -(-unit * 5 // cfg.axi_bytes))
    await ReadOnly()
    assert dut.error.value == 0
    if unit > 1:
        await FallingEdge(dut.clk)
        await send(unit * 3 + 1, unit, 0)                 # not lane-aligned: refused
        await ReadOnly()
        assert dut.error.value == 1 and dut.error_addr.value == unit * 3 + 1
        await FallingEdge(dut.clk)
        dut.clear.value = 1
        await FallingEdge(dut.clk)
        dut.clear.value = 0
        await ReadOnly()
        assert dut.error.value == 0
    await FallingEdge(dut.clk)
    await send(8192 - unit * 2, unit * 4, -(-unit * 4 // cfg.axi_bytes))      # SLVERR
    await ReadOnly()
    assert dut.error.value == 1 and dut.error_addr.value == 8192 - unit * 2
    await RisingEdge(dut.clk)


def words_of(cfg, payload, rnd):
    """A command's bytes as input words packed from lane 0; sometimes a word carries fewer
    lanes than it could (a producer's short word), the rest following."""
    unit, U = lane_bytes(cfg), cfg.axi_bytes // lane_bytes(cfg)
    lanes = [payload[i:i + unit] for i in range(0, len(payload), unit)]
    out = []
    while lanes:
        k = min(len(lanes), U if rnd.random() < 0.7 else rnd.randint(1, U))
        chunk, lanes = lanes[:k], lanes[k:]
        out.append((b"".join(chunk), k, int(not lanes)))
    return out


@cocotb.test()
@cocotb.parametrize(stalls=["none", "random"])
async def writes(dut, stalls):
    """Commands and their words in; the RAM afterwards holds exactly them (bytes around
    each command untouched)."""
    from cocotbext.axi import AxiRamWrite, AxiWriteBus
    cfg = config()
    rnd, rng = rngs(10 + (stalls == "random"))
    ram = AxiRamWrite(AxiWriteBus.from_prefix(dut, "m_axi"), dut.clk, dut.rst, size=SIZE)
    background = bytes(rng.integers(0, 256, SIZE, dtype="uint8"))
    ram.write(0, background)
    if stalls == "random":
        for ch in (ram.aw_channel, ram.w_channel, ram.b_channel):
            ch.set_pause_generator(pauses(rnd, 0.3))
    dut.clear.value = 0
    await start(dut)
    # Commands that do not overlap, so the expected image is the background with each
    # command's bytes in place.
    cmds, taken = [], []
    for addr, n in commands(cfg, rnd, 40):
        if all(addr + n <= a or a + m <= addr for a, m in taken):
            taken.append((addr, n))
            cmds.append((addr, n))
    want = bytearray(background)
    words = []
    for addr, n in cmds:
        payload = bytes(rng.integers(0, 256, n, dtype="uint8"))
        want[addr:addr + n] = payload
        words += words_of(cfg, payload, rnd)
    cmd_lay, word_lay = dma_cmd_layout(cfg), dma_word_layout(cfg, lane_bytes(cfg))
    unit = lane_bytes(cfg)

    async def feed_cmds():
        for addr, n in cmds:
            dut.cmd__valid.value = 1
            dut.cmd__payload.value = pack(cmd_lay, {"addr": addr, "bytes": n})
            while True:
                await RisingEdge(dut.clk)
                if dut.cmd__ready.value:
                    break
            dut.cmd__valid.value = 0
            while stalls == "random" and rnd.random() < 0.3:
                await RisingEdge(dut.clk)

    async def feed_words():
        for raw, k, last in words:
            value = int.from_bytes(raw, "little")
            dut.i__valid.value = 1
            dut.i__payload.value = pack(word_lay, {"data": value, "units": k, "last": last})
            while True:
                await RisingEdge(dut.clk)
                if dut.i__ready.value:
                    break
            dut.i__valid.value = 0
            while stalls == "random" and rnd.random() < 0.3:
                await RisingEdge(dut.clk)

    written, gaps = [], []
    # With a buffer (store and forward), an AW goes out only with all its beats stored:
    # once a burst's W beats start they never pause for data, however the input idles.
    buffer = int(os.environ.get("ETA_DMA_BUFFER", "0"))

    async def count_written():
        inside, cycle = False, 0            # between a burst's first W beat and its last
        while True:
            await RisingEdge(dut.clk)
            await ReadOnly()
            cycle += 1
            if dut.written.value:
                written.append(1)
            if not buffer:
                continue
            if dut.m_axi_awvalid.value:
                assert int(dut.m_axi_awlen.value) < buffer // 2, "a burst over half the buffer"
            if inside and not dut.m_axi_wvalid.value:
                gaps.append(cycle)
            if dut.m_axi_wvalid.value and dut.m_axi_wready.value:
                inside = not dut.m_axi_wlast.value

    dut.cmd__valid.value = 0
    dut.i__valid.value = 0
    await FallingEdge(dut.clk)
    counter = cocotb.start_soon(count_written())
    c = cocotb.start_soon(feed_cmds())
    wd = cocotb.start_soon(feed_words())
    await c
    await wd
    for _ in range(20000):
        await RisingEdge(dut.clk)
        await ReadOnly()
        if dut.idle.value:
            break
    assert dut.idle.value == 1, "the writer never became idle"
    assert dut.error.value == 0
    counter.cancel()
    # Long commands cross 4 KiB and 256 beats: `written` once per command, not per burst.
    assert len(written) == len(cmds), f"{len(written)} written pulses, {len(cmds)} commands"
    assert not gaps, f"W paused inside a burst, cycles {gaps[:5]}"
    got = ram.read(0, SIZE)
    bad = [i for i in range(SIZE) if got[i] != want[i]]
    assert not bad, f"{len(bad)} bytes differ, first at {bad[0]:#x} ({unit}-byte lanes)"


class FaultyWrite:
    """A memory whose writes fail from `bad` on."""

    def __init__(self, bad):
        self.bad = bad

    async def write(self, address, data):
        if address + len(data) > self.bad:
            raise IOError("bad address")


@cocotb.test()
async def write_errors(dut):
    from cocotbext.axi import AxiSlaveWrite, AxiWriteBus
    cfg = config()
    AxiSlaveWrite(AxiWriteBus.from_prefix(dut, "m_axi"), dut.clk, dut.rst,
                  target=FaultyWrite(8192))
    dut.clear.value = 0
    dut.cmd__valid.value = 0
    dut.i__valid.value = 0
    await start(dut)
    unit, B = lane_bytes(cfg), cfg.axi_bytes
    cmd_lay, word_lay = dma_cmd_layout(cfg), dma_word_layout(cfg, lane_bytes(cfg))

    async def write(addr, n):
        await FallingEdge(dut.clk)
        dut.cmd__valid.value = 1
        dut.cmd__payload.value = pack(cmd_lay, {"addr": addr, "bytes": n})
        await FallingEdge(dut.clk)
        dut.cmd__valid.value = 0
        for k, (raw, units, last) in enumerate(words_of(cfg, bytes(n), rngs(1)[0])):
            dut.i__valid.value = 1
            dut.i__payload.value = pack(word_lay, {"data": 0, "units": units, "last": last})
            while True:
                await RisingEdge(dut.clk)
                if dut.i__ready.value:
                    break
            await FallingEdge(dut.clk)
            dut.i__valid.value = 0
        for _ in range(200):
            await RisingEdge(dut.clk)

    await write(4096, 2 * B)
    await ReadOnly()
    assert dut.error.value == 0
    await write(8192 - unit, 2 * unit)      # the second lane is the next 4 KiB's: it fails
    await ReadOnly()
    assert dut.error.value == 1 and dut.error_addr.value == 8192   # that burst's address
