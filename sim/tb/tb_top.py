"""cocotb: the accelerator's top (`hw.top`) through the runtime's RTL backend: its registers
over AXI4-Lite, DRAM a cocotbext-axi AxiRam with random pauses on every channel.

`training_step`: one compiled training step (FP, BP, WG, SGD and the softmax host step) of
an odd network (`ODD_NET`: padding channels and lanes, stride 2, 1x1 layers, a residual
block, an FC; with $ETA_NET=tiny `TINY_NET`, one conv layer and the FC) from DRAM;
afterwards the whole DRAM image equals the golden machine's after the same step, byte for
byte. The counters are printed, and written to $ETA_COUNTERS as JSON when set; with
$ETA_MODEL_TOLERANCE (percent; needs $ETA_PAUSE=0) the CYCLES counter must be within that
of the cycle model (`sim.perf` with its `TESTBENCH_RAM`, the RAM the RTL ran against); with
$ETA_TIMELINE each unit's descriptors in flight go to that file (`sim.bench_top` compares
them with the cycle model; it reads the controller's internal signals, so the top must be
built with `sim.runner.INTERNALS`)."""

import os

import cocotb
import numpy as np
from cocotb.task import bridge

from sim import perf
from sim.compiler.step import compile_step
from sim.rtl_backend import RtlSim
from sim.tb.common import config, rngs
from sim.train import accel
from sim.train.net import ODD_INPUT, ODD_NET, TINY_INPUT, TINY_NET

LR, MOMENTUM = 0.05, 0.9
NETS = {"odd": (ODD_NET, ODD_INPUT), "tiny": (TINY_NET, TINY_INPUT)}


@cocotb.test(timeout_time=2, timeout_unit="sec")
async def training_step(dut):
    cfg = config()
    rnd, rng = rngs()
    batch = int(os.environ.get("ETA_BATCH", "1"))
    arch, in_shape = NETS[os.environ.get("ETA_NET", "odd")]
    net, x, y = accel.warmed_up(arch, in_shape, cfg, int(rng.integers(0, 1000)), batch, LR,
                                MOMENTUM)
    step = compile_step(arch, in_shape, batch, cfg)
    golden = accel.run_step(step, net, x, y, LR, MOMENTUM)
    size = golden.backend.machine.dram.size
    pause = float(os.environ.get("ETA_PAUSE", "0.2"))
    tolerance = os.environ.get("ETA_MODEL_TOLERANCE")
    if tolerance is not None and pause:
        raise ValueError(f"ETA_MODEL_TOLERANCE needs ETA_PAUSE=0 (it is {pause}): the cycle "
                         "model's RAM never pauses")
    sim = RtlSim(dut, size, rnd, pause=pause)
    await sim.begin()
    spans = []
    if os.environ.get("ETA_TIMELINE"):
        cocotb.start_soon(_timeline(dut, sim, spans))
    rtl = await bridge(lambda: accel.run_step(step, net, x, y, LR, MOMENTUM, "rtl",
                                              sim=sim))()
    got = np.frombuffer(rtl.backend.read(0, size), np.uint8)
    want = golden.backend.machine.dram
    bad = np.flatnonzero(got != want)
    assert bad.size == 0, (f"{bad.size} of {size} DRAM bytes differ, first at {bad[0]:#x} "
                           f"({got[bad[0]]:#x} != {want[bad[0]]:#x})")
    counters = await bridge(rtl.counters)()
    dut._log.info(f"{len(step.descs)} descriptors in {counters['cycles']} cycles: {counters}")
    if tolerance is not None:
        model = perf.simulate(step.descs, step.meta, cfg, perf.TESTBENCH_RAM).cycles
        off = 100 * (counters["cycles"] - model) / model
        dut._log.info(f"RTL {counters['cycles']} cycles, the cycle model {model}: {off:+.1f}%")
        assert abs(off) <= float(tolerance), (
            f"RTL {counters['cycles']} cycles against the cycle model's {model}: {off:+.1f}%, "
            f"outside +-{tolerance}% (python -m sim.bench_top --detail FILE shows where)")
    if os.environ.get("ETA_COUNTERS"):
        import json
        with open(os.environ["ETA_COUNTERS"], "w") as f:
            json.dump(counters, f)
    if spans:
        import json
        with open(os.environ["ETA_TIMELINE"], "w") as f:
            json.dump({"base": rtl.program_addr, "cycles": counters["cycles"], "spans": spans},
                      f)


async def _timeline(dut, sim, spans):
    """Each unit's descriptors in flight: [unit, descriptor address, cycle taken, cycle
    done] (the controller's `issued_*`, `head_*` and `finished_*`; a unit finishes its
    descriptors in order), for comparing with the cycle model."""
    from cocotb.triggers import ReadOnly, RisingEdge
    from hw.controller import UNITS
    from hw.isa.program import WORD_BITS
    ctrl = dut.core.ctrl.inst.core
    sig = lambda kind: {u: getattr(ctrl, f"{kind}_{u}") for u in UNITS}
    issued, finished, heads = sig("issued"), sig("finished"), sig("head")
    open_ = {u: [] for u in UNITS}
    while True:
        await RisingEdge(dut.clk)
        await ReadOnly()
        for u in UNITS:
            if int(issued[u].value):
                addr = heads[u].value.to_unsigned() >> WORD_BITS
                open_[u].append([u, addr, sim.cycles, None])
            if int(finished[u].value):
                span = open_[u].pop(0)
                span[3] = sim.cycles
                spans.append(span)


# --- Errors ------------------------------------------------------------------------------------

def _good(cfg):
    """A short program that must run after every error: a SCALE and an A-Core COPY (codes
    decoded, converted with S[1]) from line 2 to line 4."""
    from hw.isa.apu import Program
    from hw.isa.program import ACoreRun, End, Fmt, Scale, ScaleOp
    return [Scale(ScaleOp.SET, 1, imm=3),
            ACoreRun(Program.COPY, 5, x0=2, x0_fmt=Fmt.CODE, code0=4, shift=1), End()]


def _words(cfg, descs):
    from hw.isa.program import encode
    return [d if isinstance(d, int) else encode(cfg, d) for d in descs]


def _bad_programs(cfg, ram, window):
    """(name, program words, index of the failing descriptor, ErrorCode)."""
    from hw.isa.apu import Program
    from hw.isa.program import ACoreRun, Buf, End, Fmt, Load
    from hw.isa.regs import ErrorCode
    P, K = cfg.pe_cols, cfg.clusters
    load = lambda addr: Load(Buf.W, addr, elem=3 * K * P)
    refused = _nblk_zero(cfg)
    copy_out = ACoreRun(Program.COPY, 5, x0=2, x0_fmt=Fmt.CODE,
                        code0=(ram + 64) // max(64, cfg.axi_bytes), shift=0)
    return [
        ("illegal opcode", [load(0), (1 << 4) - 1, End()], 1, ErrorCode.BAD_OP),
        ("outside the window", [load(window), End()], 0, ErrorCode.ADDRESS),
        ("SLVERR on a read", [load(ram), End()], 0, ErrorCode.READ_ERROR),
        ("SLVERR on a write", [copy_out, End()], 0, ErrorCode.WRITE_ERROR),
        ("a refused tile", [refused, End()], 0, ErrorCode.TILE_REFUSED),
    ]


def _nblk_zero(cfg):
    """A TILE descriptor word with nblk = 0 (the layout holds it; the unit refuses it),
    waiting for no token."""
    from dataclasses import replace
    from hw.isa.program import Op, encode, layout
    word = encode(cfg, replace(_some_tile(cfg), wait=0, signal=0))
    f = layout(cfg, Op.TILE)["nblk"]
    return word & ~(((1 << f.width) - 1) << f.offset)


def _some_tile(cfg):
    """Any TILE descriptor of a compiled step."""
    from hw.isa.program import Op
    step = compile_step(ODD_NET, ODD_INPUT, 1, cfg)
    return next(d for d in step.descs if d.op == Op.TILE)


@cocotb.test(timeout_time=1, timeout_unit="sec")
async def errors(dut):
    """Each error stops the run with its code and the failing descriptor's address; after a
    soft reset the next program runs correctly; programs run back to back."""
    from hw.isa.program import WORD_BYTES
    from sim.golden.machine import Machine
    from sim.rtl_backend import AcceleratorError, RtlBackend
    cfg = config()
    rnd, rng = rngs()
    ram, window = 1 << 16, 1 << 17              # the window reaches beyond the RAM
    prog_at = ram // 2
    sim = RtlSim(dut, ram, rnd, pause=0.2)
    await sim.begin()
    background = rng.integers(0, 256, ram, dtype=np.uint8)
    good = _good(cfg)
    golden = Machine(cfg, ram)
    golden.dram[:] = background
    golden.run(good)

    def run(acc, words):
        acc.write(prog_at, b"".join(w.to_bytes(WORD_BYTES, "little") for w in words))
        acc.start(prog_at, len(words), host=None)

    def check_good(acc, why):
        acc.write(0, background.tobytes())
        run(acc, _words(cfg, good))
        got = np.frombuffer(acc.read(0, prog_at), np.uint8)
        bad = np.flatnonzero(got != golden.dram[:prog_at])
        assert bad.size == 0, f"after {why}: {bad.size} bytes differ, first at {bad[0]:#x}"

    def body():
        acc = RtlBackend(cfg, ram, sim=sim)
        check_good(acc, "reset")
        check_good(acc, "a first run (back to back)")
        for why, words, index, code in _bad_programs(cfg, ram, window):
            acc.write(0, background.tobytes())
            from cocotb.task import resume
            resume(sim.write_reg)("DRAM_SIZE", window)
            try:
                run(acc, _words(cfg, words))
            except AcceleratorError as exc:
                assert exc.code == code.value, f"{why}: {exc}"
                assert exc.addr == prog_at + index * WORD_BYTES, f"{why}: {exc}"
            else:
                raise AssertionError(f"{why}: the run ended without an error")
            acc.soft_reset()
            resume(sim.write_reg)("DRAM_SIZE", ram)
            check_good(acc, why)
        return acc
    await bridge(body)()
