"""cocotb: the A-Core's result streams (`hw.results`) through five DMA writers and the write
arbiter into cocotbext-axi's AXI RAM (random pauses on AW, W, B with random stalls). Runs of
every program a run starts, each writing what the compiler has it write (and runs writing
less), several images and groups from (i0, g0), odd N (flag bytes that start inside a
lane): random element results and emitted words go in; the whole RAM afterwards equals
`Machine.write_results` of the same values on the same background, one `done` per run."""

import cocotb
import numpy as np
from amaranth.hdl import signed
from amaranth.lib import data
from cocotb.triggers import Combine, FallingEdge, ReadOnly, RisingEdge

from hw.acore import acore_out_layout
from hw.isa.apu import EMITS, Program
from hw.isa.program import ACoreRun, Fmt, Op, encode, layout, line_bytes
from hw.isa.regs import ErrorCode
from sim.golden import dram
from sim.golden.machine import Machine
from sim.tb.common import StreamPort, config, pack, pauses, rngs, send, start

SIZE = 1 << 18


# What each run writes: program, outputs (out1 with its format).
WRITES = [
    (Program.FRN_FP, ("code0", ("out1", Fmt.CODE), "fl_out", "emit")),
    (Program.FRN_BP, ("code0", "emit")),
    (Program.SUM, ("emit",)),
    (Program.SGD, ("raw0", "code0", ("out1", Fmt.I32))),
    (Program.ADD, ("raw0",)),
    (Program.COPY, ("code0",)),
    (Program.FRN_FP, (("out1", Fmt.CODE), "emit")),
    (Program.ADD, ("code0", "fl_out")),
]


def runs(cfg, rnd):
    lb = line_bytes(cfg)
    free = [1]                      # the next free line: every tensor its own

    def alloc(nbytes):
        at = free[0]
        free[0] += -(-nbytes // lb) + rnd.randint(0, 2)
        return at

    out = []
    for prog, outs in WRITES:
        img_total, grp_total = rnd.randint(1, 3), rnd.randint(1, 3)
        images, groups = rnd.randint(1, img_total), rnd.randint(1, grp_total)
        n = rnd.choice([1, 3, 5, 7, 16, 40])
        f = dict(n=n, images=images, groups=groups, i0=rnd.randint(0, img_total - images),
                 g0=rnd.randint(0, grp_total - groups), img_total=img_total,
                 grp_total=grp_total, chans=grp_total * cfg.apus)
        sets = img_total * grp_total
        for o in outs:
            name, fmt = o if isinstance(o, tuple) else (o, None)
            if name == "emit":
                words = len(EMITS[prog])
                f["emit"] = alloc(dram.emit_bytes(words, grp_total, img_total, cfg.apus, lb))
            elif name == "fl_out":
                f["fl_out"] = alloc(sets * n * dram.flag_bytes(cfg.apus))
            else:
                eb = 4 if name == "raw0" or fmt == Fmt.I32 else 1
                f[name] = alloc(sets * n * cfg.apus * eb)
                if fmt is not None:
                    f["out1_fmt"] = fmt
        out.append(ACoreRun(prog, **f))
    assert free[0] * lb < SIZE
    return out


def values(cfg, rng, d):
    """Random results of run d: element fields [sets, apus, N] and emits [words][sets, apus]."""
    sets, shape = d.images * d.groups, (d.images * d.groups, cfg.apus, d.n)
    wide = lambda bits, shp: rng.integers(-(1 << (bits - 1)), 1 << (bits - 1), shp,
                                          dtype=np.int64)
    v = {"out0": wide(cfg.acc_bits, shape), "out1": wide(cfg.acc_bits, shape),
         "fl": rng.integers(0, 2, shape), "code0": rng.integers(0, 256, shape),
         "code1": rng.integers(0, 256, shape)}
    v["emits"] = [wide(cfg.acore.word_bits, (sets, cfg.apus))
                  for _ in EMITS.get(d.prog, ())]
    return v


@cocotb.test(timeout_time=2, timeout_unit="ms")
@cocotb.parametrize(stalls=["none", "random"])
async def results(dut, stalls):
    from cocotbext.axi import AxiRamWrite, AxiWriteBus
    cfg = config()
    rnd, rng = rngs(stalls == "random")
    ram = AxiRamWrite(AxiWriteBus.from_prefix(dut, "m_axi"), dut.clk, dut.rst, size=SIZE)
    background = rng.integers(0, 256, SIZE, dtype=np.uint8)
    ram.write(0, background.tobytes())
    if stalls == "random":
        for ch in (ram.aw_channel, ram.w_channel, ram.b_channel):
            ch.set_pause_generator(pauses(rnd, 0.3))
    await start(dut)
    golden = Machine(cfg, SIZE)
    golden.dram[:] = background
    todo = runs(cfg, rnd)
    beats, words = [], []
    out_lay = acore_out_layout(cfg)
    r_lay = data.ArrayLayout(signed(cfg.acore.word_bits), cfg.apus)
    for d in todo:
        v = values(cfg, rng, d)
        sets = d.images * d.groups
        if d.prog != Program.SUM:
            for s in range(sets):
                for e in range(d.n):
                    beats.append(pack(out_lay, {
                        "raw": [{"out0": int(v["out0"][s, k, e]),
                                 "out1": int(v["out1"][s, k, e]),
                                 "fl": int(v["fl"][s, k, e])} for k in range(cfg.apus)],
                        "code0": [int(v["code0"][s, k, e]) for k in range(cfg.apus)],
                        "code1": [int(v["code1"][s, k, e]) for k in range(cfg.apus)]}))
        for s in range(sets):
            for j in range(len(v["emits"])):
                words.append(pack(r_lay, [int(x) for x in v["emits"][j][s]]))
        elements = d.prog != Program.SUM
        out1 = v["code1"] if d.out1_fmt == Fmt.CODE else v["out1"]
        golden.write_results(-1, d, v["out0"] if elements else None,
                             v["code0"] if elements else None,
                             out1 if elements else None, v["fl"] if elements else None,
                             v["emits"] or None)
    dones = []

    async def count():
        while True:
            await RisingEdge(dut.clk)
            await ReadOnly()
            dones.append(int(dut.done.value))
    watcher = cocotb.start_soon(count())
    word = layout(cfg, Op.ACORE)
    idle = "random" if stalls == "random" else "none"
    feeds = [cocotb.start_soon(send(dut, StreamPort(dut, "run"),
                                    [encode(cfg, d) & ((1 << word.size) - 1) for d in todo],
                                    idle, rnd)),
             cocotb.start_soon(send(dut, StreamPort(dut, "o"), beats, idle, rnd)),
             cocotb.start_soon(send(dut, StreamPort(dut, "r"), words, idle, rnd))]
    await Combine(*feeds)
    for _ in range(100000):
        await RisingEdge(dut.clk)
        if sum(dones) == len(todo):
            break
    # `done` means written: the RAM is read at once (an early `done` fails here).
    watcher.cancel()
    assert sum(dones) == len(todo), f"{sum(dones)} done pulses for {len(todo)} runs"
    assert dut.write_error.value == 0
    got = np.frombuffer(ram.read(0, SIZE), np.uint8)
    bad = np.flatnonzero(got != golden.dram)
    assert bad.size == 0, (f"{bad.size} bytes differ, first at {bad[0]:#x} "
                           f"({got[bad[0]]:#x} != {golden.dram[bad[0]]:#x})")


@cocotb.test(timeout_time=1, timeout_unit="ms")
async def refused(dut):
    """A program no run starts, and a run of no channel set: an ACORE error each, nothing
    written; the next run is written and done."""
    from cocotbext.axi import AxiRamWrite, AxiWriteBus
    cfg = config()
    ram = AxiRamWrite(AxiWriteBus.from_prefix(dut, "m_axi"), dut.clk, dut.rst, size=SIZE)
    await start(dut)
    word = layout(cfg, Op.ACORE)
    for bad in (ACoreRun(Program.FRN_STATS, 4, code0=1),
                ACoreRun(Program.COPY, 4, images=0, code0=1)):
        await FallingEdge(dut.clk)
        dut.run__valid.value = 1
        dut.run__payload.value = encode(cfg, bad) & ((1 << word.size) - 1)
        await ReadOnly()
        assert dut.error.value == 1 and dut.code.value == ErrorCode.ACORE.value
        await FallingEdge(dut.clk)
        dut.run__valid.value = 0
    good = ACoreRun(Program.COPY, 2, code0=2)
    dones = []

    async def count():
        while True:
            await RisingEdge(dut.clk)
            await ReadOnly()
            dones.append(int(dut.done.value))
            assert not dut.error.value
    watcher = cocotb.start_soon(count())
    beat = pack(acore_out_layout(cfg), {
        "raw": [{"out0": 0, "out1": 0, "fl": 0}] * cfg.apus,
        "code0": [0x5A] * cfg.apus, "code1": [0] * cfg.apus})
    await Combine(cocotb.start_soon(send(dut, StreamPort(dut, "run"),
                                         [encode(cfg, good) & ((1 << word.size) - 1)])),
                  cocotb.start_soon(send(dut, StreamPort(dut, "o"), [beat, beat])))
    for _ in range(200):
        await RisingEdge(dut.clk)
    watcher.cancel()
    assert sum(dones) == 1
    base = 2 * line_bytes(cfg)
    assert ram.read(base, 2 * cfg.apus) == bytes([0x5A]) * (2 * cfg.apus)
