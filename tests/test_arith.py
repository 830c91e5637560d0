"""hw.arith.divmod_const against Python's divmod, exhaustively over each width."""

import pytest
from amaranth.hdl import Module, Signal
from amaranth.sim import Simulator

from hw.arith import divmod_const


@pytest.mark.parametrize("n,d", [(4, 3), (8, 9), (12, 9), (10, 24), (9, 7), (6, 8), (5, 1),
                                 (11, 27)])
def test_divmod_const(n, d):
    x = Signal(n)
    q, r = divmod_const(x, d)
    qs, rs = Signal(n), Signal(n)
    m = Module()
    m.d.comb += [qs.eq(q), rs.eq(r)]
    wrong = []

    async def bench(ctx):
        for v in range(1 << n):
            ctx.set(x, v)
            if (ctx.get(qs), ctx.get(rs)) != divmod(v, d):
                wrong.append((v, ctx.get(qs), ctx.get(rs)))

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()
    assert not wrong, f"x, q, r wrong for {len(wrong)} values, first {wrong[:3]}"


def test_divmod_const_rejects():
    with pytest.raises(TypeError, match="unsigned"):
        divmod_const(Signal(range(-4, 4)), 3)
    with pytest.raises(ValueError, match=">= 1"):
        divmod_const(Signal(4), 0)
