"""cocotb: the A-Core's unit (`hw.acore_unit`) behind a DmaHub, on cocotbext-axi's AXI RAM
with random pauses on every channel, against the golden machine.

`step_runs`: every ACORE descriptor of a compiled training step of an odd network (channel
counts off the lane grid: padding lanes; FRN over several images; SGD with the scale
alignments the compiler sets up), in program order, each run from the golden machine's
DRAM image and scalar table just before it; after each, the whole RAM and scalar table must
equal the golden machine's just after it. The LFSRs are seeded once through the seed port
and carry over from run to run, as in the machine (a subset of the runs reseeds them). `refused`: runs the unit must refuse
with ACORE (and the golden machine too), each followed by a good run."""

import copy
import os

import cocotb
import numpy as np
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge

from hw.isa.apu import Program
from hw.isa.program import SLOTS, ACoreRun, End, Fmt, Op, encode, layout, line_bytes
from hw.isa.regs import ErrorCode
from sim.compiler.step import compile_step
from sim.golden.machine import Machine, MachineError
from sim.tb.common import StreamPort, config, pauses, rngs, send, start
from sim.train import accel
from sim.train.net import ODD_INPUT, ODD_NET

LR, MOMENTUM = 0.05, 0.9


def step_runs(cfg, seed, batch=1):
    """[(run, dram before, S before, LFSR states before, dram after, S after)] of one
    training step."""
    net, x1, y1 = accel.warmed_up(ODD_NET, ODD_INPUT, cfg, seed, batch, LR, MOMENTUM)
    step = compile_step(ODD_NET, ODD_INPUT, batch, cfg)
    acc = accel.accelerator_for(step, net)
    accel.write_state(acc, net, x1, LR, MOMENTUM)
    machine = acc.backend.machine
    runs, plain = [], machine._acore

    def capture(i, d):
        before = (machine.dram.copy(), machine.S.copy(), list(machine.lfsr))
        plain(i, d)
        runs.append((d, *before, machine.dram.copy(), machine.S.copy()))
    machine._acore = capture
    acc.run(host=accel.softmax_host(y1, copy.deepcopy(net.rng)))
    return runs


class Scalars:
    """The controller's scalar table as the unit sees it: reads answered the next cycle."""

    def __init__(self, dut):
        self.dut, self.S = dut, np.zeros(SLOTS, np.int64)

    async def serve(self):
        dut = self.dut
        while True:
            await ReadOnly()
            addr, we = int(dut.s_addr.value), int(dut.s_we.value)
            wdata = dut.s_wdata.value.to_signed()
            await RisingEdge(dut.clk)
            dut.s_rdata.value = int(self.S[addr]) if addr else 0
            if we and addr:
                self.S[addr] = wdata


class UnitTB:
    def __init__(self, dut, cfg, size, rnd, stalls):
        from cocotbext.axi import AxiBus, AxiRam
        self.dut, self.cfg, self.rnd = dut, cfg, rnd
        self.ram = AxiRam(AxiBus.from_prefix(dut, "m_axi"), dut.clk, dut.rst, size=size)
        self.ram.write_if.log.setLevel("WARNING")
        self.ram.read_if.log.setLevel("WARNING")
        if stalls:
            for ch in (self.ram.write_if.aw_channel, self.ram.write_if.w_channel,
                       self.ram.write_if.b_channel, self.ram.read_if.ar_channel,
                       self.ram.read_if.r_channel):
                ch.set_pause_generator(pauses(rnd, 0.3))
        self.scalars = Scalars(dut)
        self.events = []

    async def begin(self, seeds):
        dut = self.dut
        dut.s_rdata.value = 0
        dut.seed_we.value = 0
        await start(dut)
        cocotb.start_soon(self.scalars.serve())
        cocotb.start_soon(self.watch())
        await self.seed(seeds)

    async def seed(self, seeds):
        dut = self.dut
        await FallingEdge(dut.clk)
        for lane, s in enumerate(seeds):
            dut.seed_lane.value, dut.seed_data.value, dut.seed_we.value = lane, s, 1
            await FallingEdge(dut.clk)
        dut.seed_we.value = 0

    async def watch(self):
        dut = self.dut
        while True:
            await RisingEdge(dut.clk)
            await ReadOnly()
            if dut.done.value == 1:
                self.events.append("done")
            if dut.error.value == 1:
                self.events.append(("error", int(dut.code.value)))
            assert dut.dma_error.value == 0, "a DMA error"

    async def run(self, d, limit=200_000):
        """Send run d; returns 'done' or ('error', code)."""
        word = layout(self.cfg, Op.ACORE)
        self.events.clear()
        await send(self.dut, StreamPort(self.dut, "desc"),
                   [encode(self.cfg, d) & ((1 << word.size) - 1)])
        for _ in range(limit):
            if self.events:
                break
            await RisingEdge(self.dut.clk)
        assert self.events, f"{d.prog.name}: neither done nor error in {limit} cycles"
        for _ in range(3):          # a second event would show here
            await RisingEdge(self.dut.clk)
        assert len(self.events) == 1, f"{d.prog.name}: {self.events}"
        return self.events[0]


def _diff(name, got, want):
    bad = np.flatnonzero(got != want)
    assert bad.size == 0, (f"{name}: {bad.size} differ, first at {bad[0]:#x} "
                           f"({int(got[bad[0]]):#x} != {int(want[bad[0]]):#x})")


@cocotb.test(timeout_time=200, timeout_unit="ms")
@cocotb.parametrize(stalls=[False, True])
async def step_runs_test(dut, stalls):
    cfg = config()
    rnd, rng = rngs(int(stalls))
    runs = step_runs(cfg, int(rng.integers(0, 1000)))
    size = runs[0][1].size
    tb = UnitTB(dut, cfg, size, rnd, stalls)
    await tb.begin(runs[0][3])
    kinds = set()
    # $ETA_RUNS ("4,7": a debugging aid) or $ETA_PER_PROGRAM (the first n runs of each
    # program) pick runs; a run that does not follow the last one run gets the golden
    # machine's LFSR states first (otherwise they carry over, as in the machine).
    only = os.environ.get("ETA_RUNS")
    per = int(os.environ.get("ETA_PER_PROGRAM", "0"))
    picked, seen = [], {}
    for k, run in enumerate(runs):
        seen[run[0].prog] = seen.get(run[0].prog, 0) + 1
        if (not only or str(k) in only.split(",")) and (not per or seen[run[0].prog] <= per):
            picked.append(k)
    last = -1
    for k in picked:
        d, dram0, s0, lfsr0, dram1, s1 = runs[k]
        if k != last + 1:
            await tb.seed(lfsr0)
        last = k
        tb.ram.write(0, dram0.tobytes())
        tb.scalars.S[:] = s0
        dut._log.info(f"run {k}: {d}")
        got = await tb.run(d)
        assert got == "done", f"run {k} ({d.prog.name}): {got}"
        _diff(f"run {k} ({d.prog.name}) DRAM", np.frombuffer(tb.ram.read(0, size), np.uint8),
              dram1)
        _diff(f"run {k} ({d.prog.name}) scalars", tb.scalars.S, s1)
        kinds.add(d.prog)
    assert only or kinds == {Program.FRN_FP, Program.FRN_BP, Program.SUM, Program.SGD, Program.ADD,
                     Program.COPY}, kinds


def _refusals(cfg):
    """(why, run, scalar slots set) the unit must refuse before it moves anything."""
    depth = 1 << cfg.apu_buffer_bits
    out = [
        ("not a run's program", ACoreRun(Program.FRN_STATS, 4, x0=1, x0_fmt=Fmt.I32), {}),
        ("no image", ACoreRun(Program.COPY, 4, images=0, x0=1, x0_fmt=Fmt.I32), {}),
        ("beyond the groups", ACoreRun(Program.COPY, 4, g0=1, grp_total=1, x0=1,
                                       x0_fmt=Fmt.I32), {}),
        ("N beyond the buffer", ACoreRun(Program.FRN_FP, depth + 1, x0=1, param=2), {}),
        ("converter shift", ACoreRun(Program.COPY, 4, x0=1, x0_fmt=Fmt.I32, code0=2,
                                     shift=5), {5: 1 << cfg.shift_bits}),
        ("SGD alignment", ACoreRun(Program.SGD, 4, x0=1, x0_fmt=Fmt.I32, x1=2, x2=3, param=4,
                                   raw0=5, sa=6), {6: cfg.acore.coef_bits - 1}),
        ("ADD alignment", ACoreRun(Program.ADD, 4, x0=1, x0_fmt=Fmt.CODE, x1=2,
                                   x1_fmt=Fmt.CODE, raw0=5, sa=6), {6: 100}),
        ("e_max", ACoreRun(Program.FRN_BP, 4, x0=1, x1=2, fl_in=3, state=4, param=5, code0=6,
                           emax=7), {7: 200}),
    ]
    return out


@cocotb.test(timeout_time=20, timeout_unit="ms")
async def refused(dut):
    cfg = config()
    rnd, rng = rngs()
    lb = line_bytes(cfg)
    size = 16 * lb
    tb = UnitTB(dut, cfg, size, rnd, False)
    await tb.begin([1] * cfg.apus)
    background = rng.integers(0, 256, size, dtype=np.uint8)
    for why, d, slots in _refusals(cfg):
        golden = Machine(cfg, size)
        golden.dram[:] = background
        tb.ram.write(0, background.tobytes())
        tb.scalars.S[:] = 0
        for i, v in slots.items():
            golden.S[i] = tb.scalars.S[i] = v
        try:
            golden.run([d, End()])
        except MachineError:
            pass
        else:
            raise AssertionError(f"{why}: the golden machine ran it")
        got = await tb.run(d)
        assert got == ("error", ErrorCode.ACORE.value), f"{why}: {got}"
        _diff(f"{why}: DRAM", np.frombuffer(tb.ram.read(0, size), np.uint8), background)
        # The unit takes the next run and does it.
        good = ACoreRun(Program.COPY, 3, x0=1, x0_fmt=Fmt.CODE, code0=8)
        golden = Machine(cfg, size)
        golden.dram[:] = background
        golden.run([good, End()])
        assert await tb.run(good) == "done", why
        _diff(f"{why}: the next run", np.frombuffer(tb.ram.read(0, size), np.uint8),
              golden.dram)
