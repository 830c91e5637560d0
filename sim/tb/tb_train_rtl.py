"""cocotb: the digits CNN trained on the accelerator's top (small preset) through the
runtime's RTL backend, step after step (`make train-rtl`, `sim.train_rtl`).

Each step runs the compiled training step on the RTL from the current state, and checks that
(1) the whole DRAM image afterwards equals the golden machine's after the same step, byte for
byte, and (2) the weights, velocities, PINT weights and FRN parameters the RTL left in DRAM
equal the whole-tensor PINT8 model's (`sim.train.pint_net`) after its step: the model then
carries the RTL's state into the next step (after one step of its own, which chooses the
scales the program takes). $ETA_STEPS steps of batch $ETA_BATCH; the losses
(the host's softmax, per step) go to $ETA_OUT as JSON lines, one per step, as they come."""

import copy
import json
import os
import time

import cocotb
import numpy as np
from cocotb.task import bridge

from sim.compiler.step import compile_step
from sim.rtl_backend import RtlSim
from sim.tb.common import config, rngs
from sim.train import accel
from sim.train.__main__ import digits, softmax_xent
from sim.train.net import DIGITS_NET, init_params
from sim.train.pint_net import PintNet

LR, MOMENTUM = 0.05, 0.9


def _state_equal(acc, net):
    """The RTL's state in DRAM against the model's: the number of values compared."""
    from sim.golden import acore, convert
    cfg = acc.cfg
    got = accel.read_state(acc, net)
    pairs, _ = accel._units(acc.step, net)
    n = 0
    for rec, unit in pairs:
        name = rec[1]
        hs = unit.hs["w"] if rec[0] == "conv" else unit.hs
        wq, _ = convert.convert(acore.sat(unit.w.w, cfg.acc_bits).ravel(),
                                convert.next_shift(hs.max_abs, cfg), convert.NEAREST_EVEN, 1,
                                cfg)
        want = {"w": unit.w.w, "v": unit.w.v, "wq": wq.reshape(unit.w.w.shape)}
        if rec[0] == "conv":
            for p in ("gamma", "beta", "tau"):
                want[p], want[f"v_{p}"] = unit.frn[p].w, unit.frn[p].v
        for key, w in want.items():
            g = np.asarray(got[name][key]).reshape(np.shape(w))
            assert np.array_equal(g, w), f"{name}.{key}: the RTL's state is not the model's"
            n += g.size
    return n


@cocotb.test(timeout_time=10_000, timeout_unit="sec")
async def train(dut):
    cfg = config()
    rnd, rng = rngs()
    steps = int(os.environ.get("ETA_STEPS", "1"))
    batch = int(os.environ.get("ETA_BATCH", "3"))
    out = os.environ.get("ETA_OUT")
    xtr, ytr, _, _ = digits(seed=0)
    seed = int(rng.integers(0, 1000))
    net = PintNet(DIGITS_NET, init_params(DIGITS_NET, seed), seed=seed + 1, cfg=cfg)
    # One step of the model first: the machine's program takes the scales and velocity
    # scales that the first update chooses.
    b = rng.choice(len(xtr), batch, replace=False)
    _, dl = softmax_xent(net.forward(xtr[b]), ytr[b])
    net.backward(dl)
    net.step(LR, MOMENTUM)
    step = compile_step(DIGITS_NET, (1, 8, 8), batch, cfg)
    size = accel.Accelerator(step, "golden").backend.machine.dram.size
    sim = RtlSim(dut, size, rnd, pause=0.1)
    await sim.begin()
    if out:
        open(out, "w").close()
    for k in range(steps):
        b = rng.choice(len(xtr), batch, replace=False)
        x, y = xtr[b], ytr[b]
        losses = []
        golden = accel.accelerator_for(step, net)
        accel.write_state(golden, net, x, LR, MOMENTUM)
        golden.run(host=accel.softmax_host(y, copy.deepcopy(net.rng)))
        start, c0 = time.monotonic(), sim.cycles

        def on_rtl():
            acc = accel.accelerator_for(step, net, "rtl", sim=sim)
            accel.write_state(acc, net, x, LR, MOMENTUM)
            acc.run(host=accel.softmax_host(y, copy.deepcopy(net.rng), losses))
            return acc
        rtl = await bridge(on_rtl)()
        got = np.frombuffer(rtl.backend.read(0, size), np.uint8)
        want = golden.backend.machine.dram
        bad = np.flatnonzero(got != want)
        assert bad.size == 0, (f"step {k}: {bad.size} DRAM bytes differ from the golden "
                               f"machine's, first at {bad[0]:#x}")
        # The model's own step from the same state, then its state against the RTL's.
        _, dl = softmax_xent(net.forward(x), y)
        net.backward(dl)
        net.step(LR, MOMENTUM)
        checked = _state_equal(rtl, net)
        line = {"step": k, "loss": float(losses[0]), "cycles": sim.cycles - c0,
                "seconds": round(time.monotonic() - start, 1), "checked": checked}
        dut._log.info(f"step {k}: {line}")
        if out:
            with open(out, "a") as f:
                f.write(json.dumps(line) + "\n")
