"""The runtime's API on the golden backend: what it refuses, and what it reads back."""

import numpy as np
import pytest

from hw.config import small
from sim.compiler.step import compile_step
from sim.runtime import Accelerator
from sim.train.net import DIGITS_NET


@pytest.fixture(scope="module")
def step():
    return compile_step(DIGITS_NET, (1, 8, 8), 2, small())


def test_maps_and_scalars_round_trip(step):
    acc = Accelerator(step)
    x = np.random.default_rng(0).integers(0, 256, step.inputs.shape)
    acc.write_map(step.inputs, x)
    assert np.array_equal(acc.read_map(step.inputs), x)
    acc.set_scalar("input.e", -7)
    assert acc.scalar("input.e") == -7 == acc.scalar(step.slots["input.e"])


def test_mistakes_are_named(step):
    with pytest.raises(ValueError, match="backend must be one of"):
        Accelerator(step, "fpga")
    acc = Accelerator(step)
    with pytest.raises(RuntimeError, match="load_program"):
        acc.run()
    with pytest.raises(ValueError, match=r"input is \(2, 1, 8, 8\), not \(2, 1, 8, 9\)"):
        acc.write_map(step.inputs, np.zeros((2, 1, 8, 9)))
    with pytest.raises(KeyError, match="no scalar slot 'nope'"):
        acc.set_scalar("nope", 1)
    with pytest.raises(IndexError, match="outside the DRAM"):
        acc.write(acc.program_addr + 10**9, [1], 4)
    acc.load_program()
    with pytest.raises(RuntimeError, match=r"host step 0 \(softmax of softmax\) has no "
                                           r"handler"):
        acc.run()
