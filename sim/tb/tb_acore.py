"""cocotb: the A-Core, all APUs in step on one channel each, with the PINT conversion of the
results: FRN FP then BP, SGD and the residual add against the golden model, under stalls."""

import cocotb
import numpy as np
from amaranth.hdl import signed
from amaranth.lib import data
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge

from hw.acore import acore_out_layout, acore_wr_layout
from hw.apu import apu_in_layout
from hw.isa.apu import add_regs, frn_bp_regs, frn_fp_regs, sgd_regs
from hw.pint import pint_layout
from sim.golden import acore, convert, pint
from sim.tb.common import STALLS, config, pack, rngs, start
from sim.tb.tb_apu import ApuTB, _check


def lanes_regs(per_lane):
    """[{addr: value} per lane] -> {addr: [value per lane]}."""
    return {a: [int(r[a]) for r in per_lane] for a in per_lane[0]}


class ACoreTB(ApuTB):
    def __init__(self, dut, cfg, rnd, stalls):
        L = cfg.apus
        super().__init__(dut, cfg, rnd, stalls, stalls, layouts=(
            acore_wr_layout(cfg), data.ArrayLayout(apu_in_layout(cfg), L),
            acore_out_layout(cfg), data.ArrayLayout(signed(cfg.acore.word_bits), L)))

    async def convert_setup(self, shift0, stochastic, shift1, seeds):
        dut = self.dut
        dut.shift0.value, dut.stochastic0.value, dut.shift1.value = shift0, stochastic, shift1
        dut.seed.value = pack(data.ArrayLayout(self.cfg.lfsr_bits, self.cfg.apus), seeds)
        dut.seed_load.value, dut.clear_max.value = (1 << self.cfg.apus) - 1, 1
        await RisingEdge(dut.clk)
        await FallingEdge(dut.clk)
        dut.seed_load.value, dut.clear_max.value = 0, 0

    async def run_lanes(self, program, regs, inputs, n_res):
        """inputs: {field: [L, N] array} -> outputs per field as [L, N] arrays, results."""
        n = next(iter(inputs.values())).shape[1]
        beats = [[{k: int(v[lane, j]) for k, v in inputs.items()}
                  for lane in range(self.cfg.apus)] for j in range(n)]
        outs, res, err = await self.run(program, regs, beats, n, n_res)
        assert not err
        code = lambda d: pack(pint_layout(self.cfg.pint), d)
        got = {f: np.array([[o["raw"][lane][f] for o in outs] for lane in range(self.cfg.apus)])
               for f in ("out0", "out1", "fl")}
        for j in (0, 1):
            got[f"code{j}"] = np.array([[code(o[f"code{j}"][lane]) for o in outs]
                                        for lane in range(self.cfg.apus)])
        return got, np.array(res).T if res else None


def sat32(x, cfg):
    return acore.sat(x, cfg.acc_bits)


def expect_codes(x, sf, mode, seeds, cfg):
    return np.array([convert.convert(sat32(row, cfg), sf, mode, seed, cfg)[0]
                     for row, seed in zip(x, seeds)])


async def next_shift_is(dut, values, cfg):
    await ReadOnly()
    want = convert.next_shift(int(np.max(np.abs(sat32(values, cfg)))), cfg)
    assert dut.next_shift.value.to_unsigned() == want
    await FallingEdge(dut.clk)


@cocotb.test()
@cocotb.parametrize(stalls=STALLS)
async def frn_then_backward(dut, stalls):
    cfg = config()
    f, L = cfg.acore, cfg.apus
    rnd, rng = rngs(STALLS.index(stalls))
    await start(dut)
    tb = ACoreTB(dut, cfg, rnd, stalls)
    for n in (9, 49):
        x = rng.integers(-(1 << 20), 1 << 20, (L, n))
        qf = 1 << f.param_frac
        gamma = (rng.uniform(-3, 3, L) * qf).astype(np.int64)
        beta = (rng.normal(0, 1, L) * qf).astype(np.int64)
        tau = (rng.normal(-0.5, 0.5, L) * qf).astype(np.int64)
        z, st = acore.frn_tlu_forward(x, gamma, beta, tau, eps=1, cfg=cfg)
        gc, bq, tq = (acore.gamma_coef(gamma, cfg), acore.y_param(beta, cfg),
                      acore.y_param(tau, cfg))
        sf = convert.next_shift(int(np.max(np.abs(sat32(z, cfg)))), cfg)
        shift1 = f.xhat_frac + f.xhat_exp
        await tb.convert_setup(sf, convert.NEAREST_EVEN, shift1, [1] * L)
        got, res = await tb.run_lanes(
            "frn_fp", lanes_regs([frn_fp_regs(n, 1, gc[k], bq[k], tq[k]) for k in range(L)]),
            {"x0": x}, 2)
        _check("z", got["out0"].ravel(), sat32(z, cfg).ravel())
        _check("bitmap", got["fl"].ravel(), st.bitmap.astype(int).ravel())
        _check("z as PINT", got["code0"].ravel(),
               expect_codes(z, sf, convert.NEAREST_EVEN, [1] * L, cfg).ravel())
        _check("x_hat kept for BP", got["code1"].ravel(), st.xhat.ravel())
        _check("lambda", res.ravel(), np.stack([st.q, st.e], axis=1).ravel())
        await next_shift_is(dut, z, cfg)

        dz = rng.integers(-(1 << 28), 1 << 28, (L, n))
        dx, dg, db, dt = acore.frn_tlu_backward(dz, st, gamma, cfg)
        seeds = [int(s) for s in rng.integers(1, 1 << 32, L)]
        sf = convert.next_shift(int(np.max(np.abs(sat32(dx, cfg)))), cfg)
        await tb.convert_setup(sf, convert.STOCHASTIC, shift1, seeds)
        e_max = int(np.max(st.e))
        got, res = await tb.run_lanes(
            "frn_bp", lanes_regs([frn_bp_regs(n, gc[k], st.q[k], st.e[k], e_max)
                                  for k in range(L)]),
            {"x0": dz, "x1": pint.decode(st.xhat, cfg.pint), "fl": st.bitmap.astype(int)}, 3)
        _check("dx", got["out0"].ravel(), sat32(dx, cfg).ravel())
        _check("dx as PINT (stochastic)", got["code0"].ravel(),
               expect_codes(dx, sf, convert.STOCHASTIC, seeds, cfg).ravel())
        _check("d gamma, d beta, d tau", res.ravel(), np.stack([dg, db, dt], axis=1).ravel())


@cocotb.test()
@cocotb.parametrize(stalls=STALLS)
async def sgd_and_add(dut, stalls):
    cfg = config()
    L = cfg.apus
    rnd, rng = rngs(10 + STALLS.index(stalls))
    await start(dut)
    tb = ACoreTB(dut, cfg, rnd, stalls)
    n = 37
    w = rng.integers(-(1 << 30), 1 << 30, (L, n))
    v = rng.integers(-(1 << 28), 1 << 28, (L, n))
    g = rng.integers(-(1 << 31), 1 << 31, (L, n))
    coefs = acore.sgd_coefs(0.05, 0.9, -30, -27, -24, cfg)
    w2, v2 = acore.sgd_momentum(w, v, g, coefs, 32, cfg)
    sf = convert.next_shift(int(np.max(np.abs(w2))), cfg)
    await tb.convert_setup(sf, convert.NEAREST_EVEN, 0, [1] * L)
    got, _ = await tb.run_lanes("sgd", lanes_regs([sgd_regs(n, coefs)] * L),
                                {"x0": g, "x1": v, "x2": w}, 0)
    _check("w'", got["out0"].ravel(), w2.ravel())
    _check("v'", got["out1"].ravel(), v2.ravel())
    _check("w' as PINT", got["code0"].ravel(),
           expect_codes(w2, sf, convert.NEAREST_EVEN, [1] * L, cfg).ravel())

    a = pint.decode(rng.integers(0, 256, (L, n)), cfg.pint)
    b = pint.decode(rng.integers(0, 256, (L, n)), cfg.pint)
    s, _ = acore.residual_add(a, -4, b, -9, cfg)
    ca, sa, cb, sb, _ = acore.add_coefs(-4, -9, cfg)
    sf = convert.next_shift(int(np.max(np.abs(s))), cfg)
    await tb.convert_setup(sf, convert.NEAREST_EVEN, 0, [1] * L)
    got, _ = await tb.run_lanes("add", lanes_regs([add_regs(n, ca, sa, cb, sb)] * L),
                                {"x0": a, "x1": b}, 0)
    _check("a + b", got["out0"].ravel(), s.ravel())
    _check("a + b as PINT", got["code0"].ravel(),
           expect_codes(s, sf, convert.NEAREST_EVEN, [1] * L, cfg).ravel())


@cocotb.test()
async def digits_layer(dut):
    """One layer of the digits CNN as the golden training run computes it (real activations
    and trained-from-init parameters, from $ETA_LAYER_FILE): FRN + TLU forward and backward."""
    import os
    cfg = config()
    f, L = cfg.acore, cfg.apus
    rnd, _ = rngs()
    layer = np.load(os.environ["ETA_LAYER_FILE"])
    await start(dut)
    tb = ACoreTB(dut, cfg, rnd, "random")
    x, dz = layer["x"], layer["dz"]
    gamma, beta, tau = layer["gamma"], layer["beta"], layer["tau"]
    z, st = acore.frn_tlu_forward(x, gamma, beta, tau, eps=1, cfg=cfg)
    dx, dg, db, dt = acore.frn_tlu_backward(dz, st, gamma, cfg)
    n = x.shape[1]
    shift1 = f.xhat_frac + f.xhat_exp
    for c0 in range(0, x.shape[0], L):
        lanes = range(c0, c0 + L)
        sf = int(layer["sf_z"])
        await tb.convert_setup(sf, convert.NEAREST_EVEN, shift1, [1] * L)
        regs = [frn_fp_regs(n, 1, acore.gamma_coef(gamma[k:k + 1], cfg)[0],
                            acore.y_param(beta[k:k + 1], cfg)[0],
                            acore.y_param(tau[k:k + 1], cfg)[0]) for k in lanes]
        got, res = await tb.run_lanes("frn_fp", lanes_regs(regs), {"x0": x[c0:c0 + L]}, 2)
        _check("z codes", got["code0"].ravel(),
               expect_codes(z[c0:c0 + L], sf, convert.NEAREST_EVEN, [1] * L, cfg).ravel())
        _check("x_hat codes", got["code1"].ravel(), st.xhat[c0:c0 + L].ravel())
        e_max = int(np.max(st.e))
        regs = [frn_bp_regs(n, acore.gamma_coef(gamma[k:k + 1], cfg)[0], st.q[k], st.e[k],
                            e_max) for k in lanes]
        sf = int(layer["sf_dx"])
        await tb.convert_setup(sf, convert.STOCHASTIC, shift1, [7 + k for k in lanes])
        got, res = await tb.run_lanes(
            "frn_bp", lanes_regs(regs),
            {"x0": dz[c0:c0 + L], "x1": pint.decode(st.xhat[c0:c0 + L], cfg.pint),
             "fl": st.bitmap[c0:c0 + L].astype(int)}, 3)
        _check("dx codes", got["code0"].ravel(),
               expect_codes(dx[c0:c0 + L], sf, convert.STOCHASTIC, [7 + k for k in lanes],
                            cfg).ravel())
        _check("d gamma, d beta, d tau", res.ravel(),
               np.stack([dg[c0:c0 + L], db[c0:c0 + L], dt[c0:c0 + L]], axis=1).ravel())
