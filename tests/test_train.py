"""The training framework: short runs whose loss must go down, and bad network descriptions."""

import numpy as np
import pytest

from sim.train.__main__ import VARIANTS, digits, lr_at, softmax_xent
from sim.train.net import DIGITS_NET, check_arch, init_params

SEED = 7


@pytest.fixture(scope="module")
def data():
    return digits(seed=SEED)


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_a_few_iterations_lower_the_loss(data, variant):
    xtr, ytr, _, _ = data
    print(f"seed {SEED}")
    net = VARIANTS[variant](init_params(DIGITS_NET, SEED), SEED)
    rng = np.random.default_rng(SEED)
    batch = rng.choice(len(xtr), 64, replace=False)  # one batch, seen repeatedly
    losses = []
    for step in range(12):
        loss, dlogits = softmax_xent(net.forward(xtr[batch]), ytr[batch])
        net.backward(dlogits)
        net.step(0.05, 0.9)
        losses.append(loss)
    assert np.all(np.isfinite(losses))
    assert np.mean(losses[-3:]) < 0.5 * np.mean(losses[:3]), losses


def test_softmax_xent_gradient():
    rng = np.random.default_rng(SEED)
    logits, labels = rng.normal(0, 3, (5, 10)), rng.integers(0, 10, 5)
    loss, g = softmax_xent(logits, labels)
    h = 1e-6
    for i, j in [(0, 0), (2, 7), (4, labels[4])]:
        bumped = logits.copy()
        bumped[i, j] += h
        assert abs((softmax_xent(bumped, labels)[0] - loss) / h - g[i, j]) < 1e-5


def test_schedule_warms_up_then_anneals_to_zero():
    lrs = [lr_at(s, 100, 0.1, 5) for s in range(100)]
    assert lrs[0] == pytest.approx(0.02) and lrs[4] == pytest.approx(0.1)
    assert all(a >= b for a, b in zip(lrs[5:], lrs[6:])) and lrs[-1] < 1e-3


@pytest.mark.parametrize("arch,match", [
    ([("conv", 2, 8, 3, 1)], "input has 1 channels"),
    ([("conv", 1, 8, 5, 1)], "kernels are 1"),
    ([("conv", 1, 8, 3, 1), ("res", [("conv", 8, 8, 3, 2)])], "must keep the shape"),
    ([("fc", 64, 10), ("conv", 1, 8, 3, 1)], "comes last"),
    ([("pool", 2)], "unknown kind"),
])
def test_bad_networks_are_named(arch, match):
    with pytest.raises(ValueError, match=match):
        check_arch(arch, (1, 8, 8))
