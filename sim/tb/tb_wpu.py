"""cocotb: a WPU runs small layers of every pattern; results reassembled into tensors and
compared with the golden convolutions, under random stalls."""

import cocotb
import numpy as np
from cocotb.triggers import FallingEdge, RisingEdge

from hw.isa.modes import LANES, Phase, pe_mode_layout
from hw.cluster import decoded_weights_layout
from hw.wpu import wpu_beat_layout, wpu_result_layout
from sim.golden import conv, pe, pint, wpu
from sim.tb.common import (StreamPort, config, decoded, decoded_beat, pack, rngs, run_stream,
                           start, unpack)


def layer_inputs(rng, mode, cfg, h, wd):
    """Random codes for a small layer of this pattern: (x, w, e), unused ones None. For BP,
    x holds the errors arriving as inputs and e is None."""
    ph, s, k = mode
    fmt, cols, rows = cfg.pint, cfg.pe_cols, cfg.pe_rows
    codes = lambda *shape: rng.integers(0, 1 << fmt.k, shape)
    if k == 1:
        return (codes(cols, h, wd), codes(LANES, cols), None) if ph != Phase.WG else \
            (codes(cols, h, wd), None, codes(LANES * rows, h, wd))
    if ph == Phase.FP:
        return codes(cols, h, wd), codes(1, cols, 3, 3), None
    if ph == Phase.BP:
        return codes(cols, h, wd), codes(cols, 1, 3, 3), None
    return codes(cols, h, wd), None, codes(1, conv.out_size(h, 3, s, 1),
                                           conv.out_size(wd, 3, s, 1))


def plan_and_expect(mode, cfg, x, w, e, pad=1):
    """The WPU plan for these codes, the expected output, and the padding to trim."""
    ph, s, k = mode
    rows, cols = cfg.pe_rows, cfg.pe_cols
    dec = lambda a: pint.decode(a, cfg.pint)
    plan = wpu.plan_layer(mode, x, w, e, pad=pad, rows=rows, cols=cols)
    if k == 1 and ph != Phase.WG:
        return plan, conv.conv_fp(dec(x)[None], dec(w)[:, :, None, None], 1, 0)[0], None
    if k == 1:
        return plan, conv.conv_wg(dec(x)[None], dec(e)[None], 1, 1, 0)[:, :, 0, 0], None
    if ph == Phase.FP:
        return plan, conv.conv_fp(dec(x)[None], dec(w), s, pad)[0, 0], None
    if ph == Phase.BP:
        h, wd = x.shape[1:]
        H, W = s * (h - 1) + 3 - 2 * pad, s * (wd - 1) + 3 - 2 * pad
        want = conv.conv_bp(dec(x)[None], dec(w), (1, 1, H, W), s, pad)[0, 0]
        return plan, want, (pad if s == 2 else None)     # stride 1 plans skip the padding
    return plan, conv.conv_wg(dec(x)[None], dec(e)[None], 3, s, pad)[0], None


def random_layer(rng, mode, cfg, fc=False):
    """fc: a fully connected layer, i.e. 1x1 on a 1 x batch map (Eq. 2, 4, 6)."""
    h, wd = (1, int(rng.integers(1, 9))) if fc else (int(rng.integers(3, 8)),
                                                       int(rng.integers(3, 9)))
    return plan_and_expect(mode, cfg, *layer_inputs(rng, mode, cfg, h, wd))


def check_output(mode, plan, transfers, want, trim):
    """Scatter WPU transfers ([r][c] result dicts) into the output tensor and compare."""
    values = [[[[l["value"] for l in cell["lanes"]] for cell in row] for row in cells]
              for cells in transfers]
    flags = [[[[l["ovf"] for l in cell["lanes"]] for cell in row] for row in cells]
             for cells in transfers]
    assert not plan.place(flags).any(), f"{mode}: overflow flagged on a small layer"
    out = plan.place(values)
    if trim is not None:
        out = out[trim:out.shape[0] - trim, trim:out.shape[1] - trim]
    assert out.shape == want.shape, (mode, out.shape, want.shape)
    bad = np.argwhere(out != want)
    assert bad.size == 0, f"{mode}: {len(bad)} wrong of {want.size}, first at " \
                          f"{bad[0].tolist()}: {out[tuple(bad[0])]} != {want[tuple(bad[0])]}"


def mode_word(mode):
    return pack(pe_mode_layout(), {"phase": int(mode.phase), "stride2": int(mode.stride == 2),
                                   "k1": int(mode.k == 1)})


async def load_weights(dut, cfg, weights, port_value=None):
    """Shift weights[r] (per PE row) into the columns, bottom row first, then swap them in.
    port_value(r) gives what to drive on `w` for row r; by default weights[r] packed as one
    WPU's weights (decoded, as the array takes them)."""
    if port_value is None:
        layout = decoded_weights_layout(cfg)
        port_value = lambda r: pack(layout, decoded(weights[r], cfg.pint))
    for r in reversed(range(cfg.pe_rows)):
        await FallingEdge(dut.clk)
        dut.w.value = port_value(r)
        dut.w_load.value = 1
        await RisingEdge(dut.clk)
    await FallingEdge(dut.clk)
    dut.w_load.value = 0
    dut.w_swap.value = 1
    await RisingEdge(dut.clk)
    await FallingEdge(dut.clk)
    dut.w_swap.value = 0


@cocotb.test()
@cocotb.parametrize(mode=pe.MODES, stalls=[("none", "none"), ("random", "random")])
async def wpu_layer(dut, mode, stalls):
    cfg = config()
    rnd, rng = rngs(pe.MODES.index(mode) * 2 + (stalls[0] == "random"))
    await start(dut)
    dut.mode.value = mode_word(mode)
    for job in range(3):
        plan, want, trim = random_layer(rng, mode, cfg, fc=(mode.k == 1 and job == 2))
        await load_weights(dut, cfg, plan.weights)
        got = await run_stream(dut, StreamPort(dut, "i"), StreamPort(dut, "o"),
                               [pack(wpu_beat_layout(cfg), decoded_beat(b, cfg.pint))
                                for b in plan.beats],
                               plan.transfers, *stalls, rnd)
        check_output(mode, plan, [unpack(wpu_result_layout(cfg), b) for b in got], want, trim)


@cocotb.test()
@cocotb.parametrize(mode=[m for m in pe.MODES if m.phase != Phase.WG], sign=[1, -1])
async def wpu_largest_sums(dut, mode, sign):
    """FP and BP with every code of the largest magnitude, products of one sign: each MAC
    sum and each row and column sum at its extreme, still exact (the adders' widths are
    right, nothing clamps or flags)."""
    cfg = config()
    rnd, rng = rngs(300 + pe.MODES.index(mode) * 2 + (sign < 0))
    await start(dut)
    dut.mode.value = mode_word(mode)
    t = pint.decode(np.arange(1 << cfg.pint.k), cfg.pint)
    big, small = int(np.argmin(t)), int(np.argmax(t))
    x, w, e = layer_inputs(rng, mode, cfg, 5, 6)
    x, w = np.full(x.shape, big), np.full(w.shape, big if sign > 0 else small)
    plan, want, trim = plan_and_expect(mode, cfg, x, w, e)
    assert np.abs(want).max() > 0.9 * cfg.pe_cols * float(t.min()) ** 2, "sums too small"
    await load_weights(dut, cfg, plan.weights)
    got = await run_stream(dut, StreamPort(dut, "i"), StreamPort(dut, "o"),
                           [pack(wpu_beat_layout(cfg), decoded_beat(b, cfg.pint))
                            for b in plan.beats], plan.transfers, "random", "random", rnd)
    check_output(mode, plan, [unpack(wpu_result_layout(cfg), b) for b in got], want, trim)
