"""cocotb: INT32 -> PINT converter against the golden model, both rounding modes, stalls."""

import cocotb
import numpy as np
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge

from sim.golden import convert
from sim.tb.common import STALLS, StreamPort, config, rngs, run_stream, start


def sweep(cfg, sf, rng):
    """Every 13-bit integer part at this shift, a random fraction below it, exact ties, and
    values past both ends of the range (saturation)."""
    half = 1 << (cfg.pint.t_bits - 1)
    lo, hi = -(1 << (cfg.acc_bits - 1)), (1 << (cfg.acc_bits - 1)) - 1
    t = np.arange(-half, half)
    x = [t << sf]
    if sf:
        x.append((t << sf) + rng.integers(0, 1 << sf, t.size))
        x.append((t << sf) + (1 << (sf - 1)))
    x.append(np.array([lo, hi, lo + 1, hi - 1, (half + 1) << sf, -(half + 1) << sf]))
    return np.clip(np.concatenate(x), lo, hi)


async def configure(dut, sf, mode, seed):
    dut.shift.value, dut.stochastic.value = sf, mode
    dut.seed.value, dut.seed_load.value, dut.clear_max.value = seed, 1, 1
    await RisingEdge(dut.clk)
    await FallingEdge(dut.clk)
    dut.seed_load.value, dut.clear_max.value = 0, 0


async def check_pass(dut, cfg, x, sf, mode, seed, idle="none", backpressure="none", rnd=None):
    await configure(dut, sf, mode, seed)
    mask = (1 << cfg.acc_bits) - 1
    got = await run_stream(dut, StreamPort(dut, "i"), StreamPort(dut, "o"),
                           [int(v) & mask for v in x], len(x), idle, backpressure, rnd)
    want, _ = convert.convert(x, sf, mode, seed or 1, cfg)
    bad = np.flatnonzero(np.array(got) != want)
    assert bad.size == 0, (f"sf={sf} mode={mode}: {bad.size} wrong codes, first x="
                           f"{x[bad[:5]].tolist()} got {np.array(got)[bad[:5]].tolist()} "
                           f"want {want[bad[:5]].tolist()}")
    await ReadOnly()
    max_abs = int(np.max(np.abs(x)))
    assert dut.max_abs.value.to_unsigned() == max_abs
    assert dut.next_shift.value.to_unsigned() == convert.next_shift(max_abs, cfg)
    await FallingEdge(dut.clk)


@cocotb.test()
@cocotb.parametrize(mode=[convert.NEAREST_EVEN, convert.STOCHASTIC])
async def every_value_every_shift(dut, mode):
    """All 2^t_bits integer parts (plus fractions, ties, saturation) at every shift."""
    cfg = config()
    rnd, rng = rngs(mode)
    await start(dut)
    for sf in range(1 << cfg.shift_bits):
        await check_pass(dut, cfg, sweep(cfg, sf, rng), sf, mode, rnd.randrange(1 << 32))


@cocotb.test()
@cocotb.parametrize(idle=STALLS, backpressure=STALLS)
async def random_values_under_stalls(dut, idle, backpressure):
    cfg = config()
    rnd, rng = rngs(STALLS.index(idle) * 3 + STALLS.index(backpressure))
    await start(dut)
    for _ in range(3):
        mode = rnd.choice([convert.NEAREST_EVEN, convert.STOCHASTIC])
        sf = rnd.randrange(1 << cfg.shift_bits)
        x = rng.integers(-(1 << (cfg.acc_bits - 1)), 1 << (cfg.acc_bits - 1), 400)
        x >>= rng.integers(0, cfg.acc_bits, 400)     # all magnitudes
        await check_pass(dut, cfg, x, sf, mode, rnd.randrange(1 << 32), idle, backpressure, rnd)


@cocotb.test()
async def tracker_tracks_and_clears(dut):
    """max_abs over a pass, restart with clear_max, and next_shift at the 4096 boundary."""
    cfg = config()
    await start(dut)
    for values in ([5, -4096], [4097], [-(1 << (cfg.acc_bits - 1))], [0]):
        await check_pass(dut, cfg, np.array(values), 0, convert.NEAREST_EVEN, 1)
