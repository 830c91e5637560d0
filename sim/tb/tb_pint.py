"""cocotb: PINT detector, decoder and multiplier, exhaustively against the golden model."""

import cocotb
import numpy as np
from cocotb.triggers import Timer

from sim.golden import pint
from sim.tb.common import config


@cocotb.test()
async def detector_all_v(dut):
    fmt = config().pint
    vs = np.arange(-(1 << (fmt.v_bits - 1)), 1 << (fmt.v_bits - 1))
    want = pint.detect_uniform(vs, fmt)
    for v, w in zip(vs, want):
        dut.v.value = int(v) & ((1 << fmt.v_bits) - 1)
        await Timer(1, "ns")
        assert dut.uniform.value == int(w), f"v={v}: uniform {dut.uniform.value}, want {w}"


@cocotb.test()
async def decoder_all_inputs(dut):
    fmt = config().pint
    want = {(1, 0): fmt.d, (1, 1): fmt.d, (0, 1): 0, (0, 0): fmt.k - 2}   # Eq. 9
    for (flag, uni), shift in want.items():
        dut.flag.value, dut.uniform.value = flag, uni
        await Timer(1, "ns")
        assert dut.shift.value.to_unsigned() == shift, (flag, uni)


@cocotb.test()
async def multiplier_all_pairs(dut):
    """Every pair of codes; the expected value is decode(a) * decode(b)."""
    fmt = config().pint
    n = 1 << fmt.k
    t = pint.decode(np.arange(n), fmt)
    bad = []
    for a in range(n):
        dut.a.value = a
        for b in range(n):
            dut.b.value = b
            await Timer(1, "ns")
            got = dut.p.value.to_signed()
            if got != t[a] * t[b]:
                bad.append((a, b, got, int(t[a] * t[b])))
    assert not bad, f"{len(bad)} wrong products, first: {bad[:5]}"
