"""The golden machine runs a compiled training step of the digits CNN and leaves weights,
velocities, PINT weights and FRN parameters bit-identical to the whole-tensor PINT8 model
(`sim.train.pint_net`) from the same state; it refuses programs that would race, deadlock,
leave tokens behind or ask the hardware for what it cannot do."""

import copy
from dataclasses import replace

import numpy as np
import pytest

from hw.config import small, vc709
from hw.isa.program import Op, Sync, Unit
from sim.compiler.step import compile_step
from sim.golden.machine import DeadlockError, MachineError, RaceError
from sim.runner import seed_from_env
from sim.train.__main__ import digits, softmax_xent
from sim.train import accel
from sim.train.net import DIGITS_NET, ODD_NET, init_params
from sim.train.pint_net import PintNet

LR, MOMENTUM = 0.05, 0.9


@pytest.fixture(scope="module")
def data():
    return digits(seed=0)


def warmed_up(cfg, data, seed, batch):
    """A model after one step (every in-hindsight scale and velocity scale is known), and
    the next batch."""
    xtr, ytr, _, _ = data
    rng = np.random.default_rng(seed)
    net = PintNet(DIGITS_NET, init_params(DIGITS_NET, seed), seed=seed + 1, cfg=cfg)
    b0 = rng.choice(len(xtr), batch, replace=False)
    _, dl = softmax_xent(net.forward(xtr[b0]), ytr[b0])
    net.backward(dl)
    net.step(LR, MOMENTUM)
    b1 = rng.choice(len(xtr), batch, replace=False)
    return net, xtr[b1], ytr[b1]


def expected(net, x, y):
    """The whole-tensor model's step; its state as the machine stores it."""
    ref = copy.deepcopy(net)
    accel.model_step(ref, x, y, LR, MOMENTUM)
    return ref


def run_step(step, net, x, y):
    """The step on the golden backend, through the runtime."""
    return accel.run_step(step, net, x, y, LR, MOMENTUM)


def compare(acc, step, ref):
    checked, bad = accel.compare_state(acc, ref)
    assert bad is None, bad
    return checked


@pytest.mark.parametrize("cfg", [small(), vc709()], ids=["small", "vc709"])
def test_odd_network_step_is_bit_identical(cfg):
    seed = seed_from_env() % 1000
    print(f"seed {seed}")
    rng = np.random.default_rng(seed)
    batch = 3
    x0, x1 = (rng.normal(size=(batch, 3, 11, 13)) for _ in range(2))
    y0, y1 = (rng.integers(0, 10, batch) for _ in range(2))
    net = PintNet(ODD_NET, init_params(ODD_NET, seed), seed=seed + 1, cfg=cfg)
    _, dl = softmax_xent(net.forward(x0), y0)
    net.backward(dl)
    net.step(LR, MOMENTUM)
    step = compile_step(ODD_NET, (3, 11, 13), batch, cfg)
    acc = run_step(step, net, x1, y1)
    assert compare(acc, step, expected(net, x1, y1)) > 4_000


@pytest.mark.parametrize("cfg,batch", [(small(), 3), (vc709(), 4)], ids=["small", "vc709"])
def test_digits_step_is_bit_identical(cfg, data, batch):
    seed = seed_from_env()
    print(f"seed {seed}")
    net, x, y = warmed_up(cfg, data, seed % 1000, batch)
    step = compile_step(DIGITS_NET, (1, 8, 8), batch, cfg)
    if cfg.name == "small":
        # The small buffers make the compiler split maps and weights: the test covers it.
        assert any(d.op == Op.TILE and d.tile.pbase for d in step.descs)
        assert sum(d.op == Op.LOAD for d in step.descs) > 500
    acc = run_step(step, net, x, y)
    assert compare(acc, step, expected(net, x, y)) > 20_000
    c = acc.counters()
    assert c["host_steps"] == 1 and c["overflows"] == 0
    assert c["descriptors"]["TILE"] == sum(d.op == Op.TILE for d in step.descs)


def test_serial_mode_gives_the_same_step(data):
    cfg = vc709()
    net, x, y = warmed_up(cfg, data, 3, 2)
    step = compile_step(DIGITS_NET, (1, 8, 8), 2, cfg)
    images = []
    for serial in (False, True):
        m, host = _machine(step, data)
        m.run(step.descs, host=host, serial=serial)
        images.append(m.dram.copy())
    assert np.array_equal(*images)


@pytest.fixture(scope="module")
def program():
    cfg = vc709()
    return compile_step(DIGITS_NET, (1, 8, 8), 2, cfg)


def _machine(step, data):
    """The golden machine behind a runtime with a step's state loaded, and its host steps,
    for tests that run edited descriptors on the machine itself."""
    net, x, y = warmed_up(step.cfg, data, 3, step.batch)
    acc = accel.accelerator_for(step, net)
    accel.write_state(acc, net, x, LR, MOMENTUM)
    handlers = accel.softmax_host(y, copy.deepcopy(net.rng))
    return acc.backend.machine, lambda i, m: handlers[step.hosts[i].kind](acc, step.hosts[i])


def _token(descs, producer_unit, consumer_op):
    """(producer, consumer) of the first token a `consumer_op` descriptor waits for."""
    for i, d in enumerate(descs):
        if d.op == consumer_op and d.wait & producer_unit:
            n = sum(1 for e in descs[:i] if e.unit == d.unit and e.wait & producer_unit)
            sigs = [j for j, e in enumerate(descs) if e.unit == producer_unit
                    and e.signal & d.unit]
            return sigs[n], i
    raise AssertionError("no such token")


def test_a_missing_dependency_is_a_race(program, data):
    """Drop one load -> tile token (both ends): the tile's read of the input buffer is no
    longer ordered after the load that wrote it."""
    descs = list(program.descs)
    p, c = _token(descs, Unit.LD, Op.TILE)
    descs[p] = replace(descs[p], signal=descs[p].signal & ~descs[c].unit)
    descs[c] = replace(descs[c], wait=descs[c].wait & ~Unit.LD)
    m, host = _machine(program, data)
    with pytest.raises(RaceError, match=rf"descriptor {c} \(CC, read\) is not ordered after "
                                        rf"descriptor \d+ \(LD, write\)"):
        m.run(descs, host=host)


def test_a_token_nobody_gives_deadlocks(program, data):
    """Drop a signal only: every later wait on that channel takes the token meant for the
    one before it, and the last one never comes."""
    descs = list(program.descs)
    p, c = _token(descs, Unit.LD, Op.TILE)
    descs[p] = replace(descs[p], signal=descs[p].signal & ~descs[c].unit)
    m, host = _machine(program, data)
    with pytest.raises(DeadlockError, match=r"no unit can go on: .*TILE, waits <Unit.LD"):
        m.run(descs, host=host)


def test_a_token_nobody_takes_is_an_error(program, data):
    descs = list(program.descs)
    descs.insert(len(descs) - 1, Sync(unit_=Unit.LD, signal=Unit.ST))
    m, host = _machine(program, data)
    with pytest.raises(MachineError, match="tokens never taken: LD->ST"):
        m.run(descs, host=host)


def test_descriptors_the_hardware_refuses_name_themselves(program, data):
    descs = list(program.descs)
    i = next(i for i, d in enumerate(descs) if d.op == Op.TILE)
    descs[i] = replace(descs[i], tile=descs[i].tile.replace(cb=descs[i].tile.blocks))
    m, host = _machine(program, data)
    with pytest.raises(MachineError, match=rf"descriptor {i} \(TILE\): channel block"):
        m.run(descs, host=host)
    m, host = _machine(program, data)
    with pytest.raises(MachineError, match="HOST step 0 at .* no host"):
        m.run(program.descs)
    m, host = _machine(program, data)
    with pytest.raises(MachineError, match="ends without END"):
        m.run(program.descs[:-1], host=host)
