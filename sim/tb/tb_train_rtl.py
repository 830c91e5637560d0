"""cocotb: the digits CNN trained on the accelerator's top (small preset) through the
runtime's RTL backend, step after step (`make train-rtl`, `sim.train_rtl`).

Each step runs the compiled training step on the RTL from the current state, and checks that
(1) the whole DRAM image afterwards equals the golden machine's after the same step, byte for
byte, and (2) the weights, velocities, PINT weights and FRN parameters the RTL left in DRAM
equal the whole-tensor PINT8 model's (`sim.train.pint_net`) after its step: the model then
carries the RTL's state into the next step (after one step of its own, which chooses the
scales the program takes). $ETA_STEPS steps of batch $ETA_BATCH, learning rate $ETA_LR,
momentum $ETA_MOMENTUM; the losses (the host's softmax, per step) and the held-out loss and
accuracy of the state the step left (the model's, equal to the RTL's) go to $ETA_OUT as JSON
lines, one per step, as they come."""

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
from sim.train.__main__ import digits, evaluate
from sim.train.net import DIGITS_NET, init_params
from sim.train.pint_net import PintNet

@cocotb.test(timeout_time=10_000, timeout_unit="sec")
async def train(dut):
    cfg = config()
    rnd, rng = rngs()
    steps = int(os.environ.get("ETA_STEPS", "1"))
    batch = int(os.environ.get("ETA_BATCH", "4"))
    lr = float(os.environ.get("ETA_LR", "0.05"))
    momentum = float(os.environ.get("ETA_MOMENTUM", "0.5"))
    out = os.environ.get("ETA_OUT")
    xtr, ytr, xte, yte = digits(seed=0)
    seed = int(rng.integers(0, 1000))
    net = PintNet(DIGITS_NET, init_params(DIGITS_NET, seed), seed=seed + 1, cfg=cfg)
    # One step of the model first: the machine's program takes the scales and velocity
    # scales that the first update chooses.
    b = rng.choice(len(xtr), batch, replace=False)
    accel.model_step(net, xtr[b], ytr[b], lr, momentum)
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
        golden = accel.run_step(step, net, x, y, lr, momentum)
        start, c0 = time.monotonic(), sim.cycles
        rtl = await bridge(lambda: accel.run_step(step, net, x, y, lr, momentum, "rtl",
                                                  losses, sim=sim))()
        got = np.frombuffer(rtl.backend.read(0, size), np.uint8)
        want = golden.backend.machine.dram
        bad = np.flatnonzero(got != want)
        assert bad.size == 0, (f"step {k}: {bad.size} DRAM bytes differ from the golden "
                               f"machine's, first at {bad[0]:#x}")
        # The model's own step from the same state, then its state against the RTL's.
        accel.model_step(net, x, y, lr, momentum)
        checked, bad = accel.compare_state(rtl, net)
        assert bad is None, f"step {k}: the RTL's state is not the model's: {bad}"
        # (a copy: evaluating must not touch the state the next step starts from)
        test_loss, test_acc = evaluate(copy.deepcopy(net), xte, yte)
        line = {"step": k, "loss": float(losses[0]), "cycles": sim.cycles - c0,
                "seconds": round(time.monotonic() - start, 1), "checked": checked,
                "test_loss": float(test_loss), "test_acc": float(test_acc)}
        dut._log.info(f"step {k}: {line}")
        if out:
            with open(out, "a") as f:
                f.write(json.dumps(line) + "\n")
