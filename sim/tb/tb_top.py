"""cocotb: the accelerator's top (`hw.top`) through the runtime's RTL backend: its registers
over AXI4-Lite, DRAM a cocotbext-axi AxiRam with random pauses on every channel.

`training_step`: one compiled training step (FP, BP, WG, SGD and the softmax host step) of
an odd network (`ODD_NET`: padding channels and lanes, stride 2, 1x1 layers, a residual
block, an FC) from DRAM; afterwards the whole DRAM image equals the golden machine's after
the same step, byte for byte. The counters are printed against the cycle model."""

import copy
import os

import cocotb
import numpy as np
from cocotb.task import bridge

from sim.compiler.step import compile_step
from sim.rtl_backend import RtlSim
from sim.tb.common import config, rngs
from sim.train import accel
from sim.train.__main__ import softmax_xent
from sim.train.net import ODD_INPUT, ODD_NET, init_params
from sim.train.pint_net import PintNet

LR, MOMENTUM = 0.05, 0.9


def warmed_up(cfg, seed, batch):
    """A model after one step (its scales and velocities set), and the next batch."""
    rng = np.random.default_rng(seed)
    shape = (batch, *ODD_INPUT)
    x0, x1 = rng.normal(size=shape), rng.normal(size=shape)
    y0, y1 = rng.integers(0, 10, batch), rng.integers(0, 10, batch)
    net = PintNet(ODD_NET, init_params(ODD_NET, seed), seed=seed + 1, cfg=cfg)
    _, dl = softmax_xent(net.forward(x0), y0)
    net.backward(dl)
    net.step(LR, MOMENTUM)
    return net, x1, y1


def one_step(step, net, x, y, backend, **options):
    acc = accel.accelerator_for(step, net, backend, **options)
    accel.write_state(acc, net, x, LR, MOMENTUM)
    acc.run(host=accel.softmax_host(y, copy.deepcopy(net.rng)))
    return acc


@cocotb.test(timeout_time=2, timeout_unit="sec")
async def training_step(dut):
    cfg = config()
    rnd, rng = rngs()
    batch = int(os.environ.get("ETA_BATCH", "1"))
    net, x, y = warmed_up(cfg, int(rng.integers(0, 1000)), batch)
    step = compile_step(ODD_NET, ODD_INPUT, batch, cfg)
    golden = one_step(step, net, x, y, "golden")
    size = golden.backend.machine.dram.size
    sim = RtlSim(dut, size, rnd, pause=0.2)
    await sim.begin()
    rtl = await bridge(lambda: one_step(step, net, x, y, "rtl", sim=sim))()
    got = np.frombuffer(rtl.backend.read(0, size), np.uint8)
    want = golden.backend.machine.dram
    bad = np.flatnonzero(got != want)
    assert bad.size == 0, (f"{bad.size} of {size} DRAM bytes differ, first at {bad[0]:#x} "
                           f"({got[bad[0]]:#x} != {want[bad[0]]:#x})")
    counters = await bridge(rtl.counters)()
    dut._log.info(f"{len(step.descs)} descriptors in {counters['cycles']} cycles: {counters}")
