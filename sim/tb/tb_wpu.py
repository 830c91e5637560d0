"""cocotb: a WPU runs small layers of every pattern; results reassembled into tensors and
compared with the golden convolutions, under random stalls."""

import cocotb
import numpy as np
from cocotb.triggers import FallingEdge, RisingEdge

from hw.pe import LANES, Phase, pe_mode_layout
from hw.wpu import wpu_beat_layout, wpu_result_layout
from sim.golden import conv, pe, pint, wpu
from sim.tb.common import StreamPort, config, pack, rngs, run_stream, start, unpack


def random_layer(rng, mode, cfg):
    """Codes for a small random layer of this pattern, the plan, and the expected output."""
    ph, s, k = mode
    fmt, cols, rows = cfg.pint, cfg.pe_cols, cfg.pe_rows
    codes = lambda *shape: rng.integers(0, 1 << fmt.k, shape)
    dec = lambda a: pint.decode(a, fmt)
    h, wd = int(rng.integers(3, 8)), int(rng.integers(3, 9))
    pad = 1
    if k == 1 and ph != Phase.WG:
        x, w = codes(cols, h, wd), codes(LANES, cols)
        want = conv.conv_fp(dec(x)[None], dec(w)[:, :, None, None], 1, 0)[0]
        return wpu.plan_layer(mode, x, w, rows=rows, cols=cols), want, None
    if k == 1:
        x, e = codes(cols, h, wd), codes(LANES * rows, h, wd)
        want = conv.conv_wg(dec(x)[None], dec(e)[None], 1, 1, 0)[:, :, 0, 0]
        return wpu.plan_layer(mode, x, e=e, rows=rows, cols=cols), want, None
    if ph == Phase.FP:
        x, w = codes(cols, h, wd), codes(1, cols, 3, 3)
        want = conv.conv_fp(dec(x)[None], dec(w), s, pad)[0, 0]
        return wpu.plan_layer(mode, x, w, pad=pad, rows=rows, cols=cols), want, None
    if ph == Phase.BP:
        e, w = codes(cols, h, wd), codes(cols, 1, 3, 3)
        H, W = s * (h - 1) + 3 - 2 * pad, s * (wd - 1) + 3 - 2 * pad
        want = conv.conv_bp(dec(e)[None], dec(w), (1, 1, H, W), s, pad)[0, 0]
        return wpu.plan_layer(mode, e, w, pad=pad, rows=rows, cols=cols), want, pad
    x = codes(cols, h, wd)
    e = codes(1, conv.out_size(h, 3, s, pad), conv.out_size(wd, 3, s, pad))
    want = conv.conv_wg(dec(x)[None], dec(e)[None], 3, s, pad)[0]
    return wpu.plan_layer(mode, x, e=e, pad=pad, rows=rows, cols=cols), want, None


async def load_weights(dut, cfg, weights):
    layout = wpu_beat_layout(cfg)["e"].shape.elem_shape      # [cols][3] codes
    for r in reversed(range(cfg.pe_rows)):                      # bottom row first
        await FallingEdge(dut.clk)
        dut.w.value = pack(layout, weights[r])
        dut.w_load.value = 1
        await RisingEdge(dut.clk)
    await FallingEdge(dut.clk)
    dut.w_load.value = 0


@cocotb.test()
@cocotb.parametrize(mode=pe.MODES, stalls=[("none", "none"), ("random", "random")])
async def wpu_layer(dut, mode, stalls):
    cfg = config()
    rnd, rng = rngs(pe.MODES.index(mode) * 2 + (stalls[0] == "random"))
    await start(dut)
    dut.mode.value = pack(pe_mode_layout(), {"phase": int(mode.phase),
                                              "stride2": int(mode.stride == 2),
                                              "k1": int(mode.k == 1)})
    for _ in range(2):
        plan, want, trim = random_layer(rng, mode, cfg)
        await load_weights(dut, cfg, plan.weights)
        got = await run_stream(dut, StreamPort(dut, "i"), StreamPort(dut, "o"),
                               [pack(wpu_beat_layout(cfg), b) for b in plan.beats],
                               len(plan._places), *stalls, rnd)
        transfers = []
        for bits in got:
            cells = unpack(wpu_result_layout(cfg), bits)
            assert not any(l["ovf"] for row in cells for cell in row for l in cell["lanes"])
            transfers.append([[[l["value"] for l in cell["lanes"]] for cell in row]
                              for row in cells])
        out = plan.place(transfers)
        if trim is not None:
            out = out[trim:out.shape[0] - trim, trim:out.shape[1] - trim]
        assert out.shape == want.shape, (mode, out.shape, want.shape)
        bad = np.argwhere(out != want)
        assert bad.size == 0, f"{mode}: {len(bad)} wrong of {want.size}, first at " \
                              f"{bad[0].tolist()}: {out[tuple(bad[0])]} != {want[tuple(bad[0])]}"
