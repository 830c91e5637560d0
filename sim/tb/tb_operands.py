"""cocotb: the A-Core's operand streams (`hw.operands`) behind four DMA readers and the read
arbiter, reading cocotbext-axi's AXI RAM (random pauses on AR and R with random stalls).
Runs of every program a run starts, with every operand format (PINT codes decoded, 32-bit,
64-bit saturated to a word), flag bitmaps whose sets start inside a lane (odd N), several
images and groups from (i0, g0) of larger tensors: every beat equals
`Machine.operands` on the same DRAM, one `done` per run; a program no run starts is an
ACORE error, and the next run still streams."""

import cocotb
import numpy as np
from amaranth.lib import data
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge

from hw.apu import apu_in_layout
from hw.isa.apu import Program
from hw.isa.program import ACoreRun, Fmt, Op, encode, layout, line_bytes
from hw.isa.regs import ErrorCode
from sim.golden.machine import Machine
from sim.tb.common import StreamPort, config, pauses, rngs, run_stream, start, unpack

SIZE = 1 << 17


def runs(cfg, rnd):
    """Runs of every program, their tensors anywhere in the RAM (reads may overlap)."""
    lines = SIZE // line_bytes(cfg)

    def line(nbytes):
        return rnd.randrange(1, lines - -(-nbytes // line_bytes(cfg)) - 1)

    def shape():
        img_total, grp_total = rnd.randint(1, 4), rnd.randint(1, 3)
        images, groups = rnd.randint(1, img_total), rnd.randint(1, grp_total)
        return dict(n=rnd.choice([1, 3, 5, 7, 9, 16, 40]), images=images, groups=groups,
                    i0=rnd.randint(0, img_total - images), g0=rnd.randint(0, grp_total - groups),
                    img_total=img_total, grp_total=grp_total)

    def size(s, eb):
        return s["img_total"] * s["grp_total"] * s["n"] * cfg.apus * eb

    out = []
    for prog, ops in [(Program.FRN_FP, {"x0": Fmt.I32}),
                      (Program.FRN_BP, {"x0": Fmt.I32, "x1": Fmt.CODE, "fl_in": None}),
                      (Program.SUM, {"x0": Fmt.I64}),
                      (Program.SGD, {"x0": Fmt.I64, "x1": Fmt.I32, "x2": Fmt.I32}),
                      (Program.SGD, {"x0": Fmt.I32, "x1": Fmt.I32, "x2": Fmt.I32}),
                      (Program.ADD, {"x0": Fmt.CODE, "x1": Fmt.CODE}),
                      (Program.ADD, {"x0": Fmt.I32, "x1": Fmt.CODE}),
                      (Program.COPY, {"x0": Fmt.I32}),
                      (Program.FRN_BP, {"x0": Fmt.I32, "x1": Fmt.CODE, "fl_in": None})]:
        s = shape()
        f = dict(s)
        for name, fmt in ops.items():
            eb = 1 if fmt is None else fmt.bytes
            f[name] = line(size(s, eb))
            if name in ("x0", "x1"):
                f[f"{name}_fmt"] = fmt
        out.append(ACoreRun(prog, chans=s["grp_total"] * cfg.apus, **f))
    return out


def beats_of(cfg, ops, d):
    """The golden beats of run d, in stream order: [(x0, x1, x2, fl) per APU]."""
    sets = d.images * d.groups
    out = []
    for s in range(sets):
        for e in range(d.n):
            out.append([tuple(int(ops[name][s, k, e]) if name in ops else 0
                              for name in ("x0", "x1", "x2", "fl"))
                        for k in range(cfg.apus)])
    return out


@cocotb.test(timeout_time=2, timeout_unit="ms")
@cocotb.parametrize(stalls=["none", "random"])
async def streams(dut, stalls):
    from cocotbext.axi import AxiRamRead, AxiReadBus
    cfg = config()
    rnd, rng = rngs(stalls == "random")
    ram = AxiRamRead(AxiReadBus.from_prefix(dut, "m_axi"), dut.clk, dut.rst, size=SIZE)
    image = rng.integers(0, 256, SIZE, dtype=np.uint8)
    ram.write(0, image.tobytes())
    if stalls == "random":
        for ch in (ram.ar_channel, ram.r_channel):
            ch.set_pause_generator(pauses(rnd, 0.3))
    await start(dut)
    golden = Machine(cfg, SIZE)
    golden.dram[:] = image
    todo = runs(cfg, rnd)
    want = []
    for d in todo:
        want += beats_of(cfg, golden.operands(d), d)
    dones = []

    async def count():
        while True:
            await RisingEdge(dut.clk)
            await ReadOnly()
            dones.append(int(dut.done.value))
    watcher = cocotb.start_soon(count())
    word = layout(cfg, Op.ACORE)
    items = [encode(cfg, d) & ((1 << word.size) - 1) for d in todo]
    got = await run_stream(dut, StreamPort(dut, "run"), StreamPort(dut, "beats"), items,
                           len(want), stalls, stalls, rnd, timeout=5000)
    for _ in range(5):
        await RisingEdge(dut.clk)
    watcher.cancel()
    beat = data.ArrayLayout(apu_in_layout(cfg), cfg.apus)
    for i, (raw, w) in enumerate(zip(got, want)):
        lanes = [(v["x0"], v["x1"], v["x2"], v["fl"]) for v in unpack(beat, raw)]
        assert lanes == w, f"beat {i}: {lanes} != {w}"
    assert sum(dones) == len(todo), f"{sum(dones)} done pulses for {len(todo)} runs"
    assert dut.error.value == 0 and dut.read_error.value == 0


@cocotb.test(timeout_time=2, timeout_unit="ms")
async def refused(dut):
    from cocotbext.axi import AxiRamRead, AxiReadBus
    cfg = config()
    AxiRamRead(AxiReadBus.from_prefix(dut, "m_axi"), dut.clk, dut.rst, size=SIZE)
    await start(dut)
    word = layout(cfg, Op.ACORE)
    bad = ACoreRun(Program.FRN_STATS, 4, x0=1, x0_fmt=Fmt.I32)
    await FallingEdge(dut.clk)
    dut.run__valid.value = 1
    dut.run__payload.value = encode(cfg, bad) & ((1 << word.size) - 1)
    await ReadOnly()
    assert dut.error.value == 1 and dut.code.value == ErrorCode.ACORE.value
    await FallingEdge(dut.clk)
    dut.run__valid.value = 0
    good = ACoreRun(Program.COPY, 3, x0=1, x0_fmt=Fmt.I32)
    got = await run_stream(dut, StreamPort(dut, "run"), StreamPort(dut, "beats"),
                           [encode(cfg, good) & ((1 << word.size) - 1)], 3, timeout=2000)
    assert len(got) == 3 and dut.error.value == 0
