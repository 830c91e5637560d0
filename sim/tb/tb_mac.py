"""cocotb: PINT MAC over long random streams, saturating both ways, against the golden model."""

import cocotb
import numpy as np
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge

from sim.golden import mac, pint
from sim.tb.common import config, rngs, start


def random_stream(rng, fmt, n, bias):
    """Random codes; with `bias` the largest magnitudes of one sign dominate, to saturate."""
    codes = rng.integers(0, 1 << fmt.k, size=(2, n))
    if bias:
        big = pint.encode([fmt.t_max, fmt.t_min], fmt)
        sign = rng.integers(0, 2, size=n // 400 + 1).repeat(400)[:n]
        take = rng.random(n) < 0.9
        codes[0] = np.where(take, big[0], codes[0])
        codes[1] = np.where(take, np.where(sign == 1, big[0], big[1]), codes[1])
    en = rng.random(n) < 0.8
    first = rng.random(n) < (0.002 if bias else 0.02)
    return codes[0], codes[1], en, first


@cocotb.test()
@cocotb.parametrize(bias=[False, True])
async def mac_random_stream(dut, bias):
    cfg = config()
    _, rng = rngs(int(bias))
    n = 20_000
    a, b, en, first = random_stream(rng, cfg.pint, n, bias)
    want_acc, want_ovf = mac.mac_stream(a, b, en, first, cfg)
    if bias:  # the stream must really reach both rails, or this test proves nothing
        lim = 1 << (cfg.acc_bits - 1)
        assert want_acc.max() == lim - 1 and want_acc.min() == -lim and want_ovf.any()
    await start(dut)
    mismatches = []
    for i in range(n):
        dut.a.value, dut.b.value = int(a[i]), int(b[i])
        dut.en.value, dut.first.value = int(en[i]), int(first[i])
        await RisingEdge(dut.clk)
        await ReadOnly()
        got = (dut.acc.value.to_signed(), int(dut.ovf.value))
        if got != (want_acc[i], want_ovf[i]):
            mismatches.append((i, got, (int(want_acc[i]), bool(want_ovf[i]))))
        await FallingEdge(dut.clk)  # leave the read-only phase before driving again
    assert not mismatches, f"{len(mismatches)} mismatches, first: {mismatches[:5]}"
