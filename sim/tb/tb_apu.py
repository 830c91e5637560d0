"""cocotb: one APU runs every workload program, channel after channel, bit-exact against
the golden A-Core, with random stalls on its input and backpressure on its outputs."""

import cocotb
import numpy as np
from amaranth.hdl import signed
from amaranth.lib import data
from cocotb.triggers import ReadOnly, RisingEdge

from hw.apu import apu_in_layout, apu_out_layout, apu_wr_layout
from hw.apu_programs import rom
from hw.isa.apu import (N_REG, add_regs, copy_regs, frn_bp_regs, frn_fp_regs, sgd_regs,
                        sum_regs, tlu_regs)
from sim.golden import acore, pint
from sim.tb.common import STALLS, StreamPort, config, pack, rngs, stall_generator, start, \
    unpack


class ApuTB:
    """Drives one APU: register writes, a program, its element and result streams."""

    def __init__(self, dut, cfg, rnd, idle="none", backpressure="none", layouts=None):
        """layouts: (wr, i, o, r) payload layouts; the APU's unless given (the A-Core's)."""
        self.dut, self.cfg, self.rnd = dut, cfg, rnd
        self.layouts = layouts or (apu_wr_layout(cfg), apu_in_layout(cfg),
                                   apu_out_layout(cfg), signed(cfg.acore.word_bits))
        self.i, self.o, self.r = (StreamPort(dut, n) for n in ("i", "o", "r"))
        self.go_in = stall_generator(idle, rnd)
        self.go_out = stall_generator(backpressure, rnd)
        self.entry = rom(cfg)[1]
        self.log = []           # (program, N, cycles from start to the end)

    def _element(self, e):
        """An element (or a beat of per-lane elements) with the inputs a program does not
        read set to 0 (packing is strict)."""
        lay = self.layouts[1]
        one = lay.elem_shape if isinstance(lay, data.ArrayLayout) else lay
        full = lambda d: {name: d.get(name, 0) for name, _ in one}
        return [full(d) for d in e] if isinstance(lay, data.ArrayLayout) else full(e)

    async def write(self, regs):
        dut = self.dut
        for addr, value in regs.items():
            dut.wr__valid.value = 1
            dut.wr__payload.value = pack(self.layouts[0], {"addr": addr, "data": value})
            await RisingEdge(dut.clk)
            await ReadOnly()
            assert dut.wr__ready.value == 1, "APU not idle for a register write"
            await RisingEdge(dut.clk)
            dut.wr__valid.value = 0

    async def run(self, program, regs, elements, n_out, n_res, timeout=2000):
        """Load regs, start `program`, feed `elements` (dicts), collect n_out outputs and
        n_res results; returns (outputs as dicts, results as ints, error flag)."""
        dut = self.dut
        await self.write(regs)
        dut.cmd__valid.value, dut.cmd__payload.value = 1, self.entry[program]
        await RisingEdge(dut.clk)
        dut.cmd__valid.value = 0
        items = [pack(self.layouts[1], self._element(e)) for e in elements]
        outs, res, sent, stuck, held = [], [], 0, 0, None
        first, cycles = True, 0
        while True:
            if sent < len(items) and (dut.i__valid.value == 1 or next(self.go_in)):
                dut.i__valid.value, dut.i__payload.value = 1, items[sent]
            else:
                dut.i__valid.value = 0
            go = next(self.go_out)
            dut.o__ready.value = go
            dut.r__ready.value = go
            await ReadOnly()
            busy = dut.busy.value == 1 or first
            moved = False
            if dut.i__valid.value == 1 and dut.i__ready.value == 1:
                sent, moved = sent + 1, True
            if held is not None:
                assert dut.o__valid.value == 1 and dut.o__payload.value.to_unsigned() == held, \
                    "o dropped valid or changed its payload before the transfer"
            held = None
            if dut.o__valid.value == 1:
                if dut.o__ready.value == 1:
                    outs.append(unpack(self.layouts[2], dut.o__payload.value.to_unsigned()))
                    moved = True
                else:
                    held = dut.o__payload.value.to_unsigned()
            if dut.r__valid.value == 1 and dut.r__ready.value == 1:
                res.append(unpack(self.layouts[3], dut.r__payload.value.to_unsigned()))
                moved = True
            error = dut.error.value == 1
            await RisingEdge(dut.clk)
            cycles += 1
            first = False
            if not busy:
                break
            stuck = 0 if moved else stuck + 1
            assert stuck < timeout, f"{program}: stuck with {sent}/{len(items)} in, " \
                                    f"{len(outs)}/{n_out} out, {len(res)}/{n_res} results"
        dut.i__valid.value = 0
        n = regs.get(N_REG, len(elements))
        self.log.append((program, n[0] if isinstance(n, list) else n, cycles))
        assert error or (len(outs), len(res)) == (n_out, n_res), \
            f"{program}: {len(outs)} outputs / {len(res)} results, wanted {n_out} / {n_res}"
        return outs, res, error


def _check(name, got, want):
    got, want = np.asarray(got, object), np.asarray(want, object)
    bad = np.flatnonzero(got != want)
    assert bad.size == 0, f"{name}: {bad.size} of {want.size} differ, first at {bad[:4]}: " \
                          f"got {got[bad[:4]].tolist()} want {want[bad[:4]].tolist()}"


def _sat32(x, cfg):
    return acore.sat(x, cfg.acc_bits)


def layer(cfg, rng, channels, sizes):
    """Per channel: N, accumulator values of one of several magnitudes, FRN parameters."""
    q = 1 << cfg.acore.param_frac
    out = []
    for c in range(channels):
        n = int(rng.choice(sizes))
        scale = int(rng.choice([5, 1 << 12, 1 << 24, (1 << 31) - 1]))
        x = rng.integers(-scale, scale + 1, n)
        if c == 1:
            x[: n // 2] = 0
        out.append(dict(n=n, x=x, gamma=int(rng.uniform(-4, 4) * q),
                        beta=int(rng.normal(0, 1) * q), tau=int(rng.normal(-0.5, 0.5) * q)))
    return out


async def frn(tb, cfg, rng, sizes):
    """FP then BP of L1-FRN + TLU, channel by channel; BP uses what FP stored."""
    for ch in layer(cfg, rng, 3, sizes):
        n, x = ch["n"], ch["x"]
        args = [np.array([ch[k]]) for k in ("gamma", "beta", "tau")]
        z, st = acore.frn_tlu_forward(x[None], *args, eps=1, cfg=cfg)
        regs = frn_fp_regs(n, 1, int(acore.gamma_coef(args[0], cfg)[0]),
                           int(acore.y_param(args[1], cfg)[0]), int(acore.y_param(args[2],
                                                                                    cfg)[0]))
        outs, res, err = await tb.run("frn_fp", regs, [{"x0": int(v)} for v in x], n, 2)
        assert not err
        _check("frn_fp z", [o["out0"] for o in outs], _sat32(z[0], cfg))
        _check("frn_fp x_hat", [o["out1"] for o in outs], _sat32(st.xhat_q[0], cfg))
        _check("frn_fp bitmap", [o["fl"] for o in outs], st.bitmap[0].astype(int))
        _check("frn_fp lambda", res, [int(st.q[0]), int(st.e[0])])

        dz = rng.integers(-(1 << 30), 1 << 30, n)
        # A layer's e_max is at least this channel's e; the shift takes the difference.
        st.e = st.e.copy()
        e_max = int(st.e[0]) + int(rng.integers(0, 4))
        t = pint.decode(st.xhat[0], cfg.pint)
        dx, dg, db, dt = acore.frn_tlu_backward(dz[None], _with_emax(st, e_max), args[0], cfg)
        regs = frn_bp_regs(n, int(acore.gamma_coef(args[0], cfg)[0]), int(st.q[0]),
                           int(st.e[0]), e_max)
        outs, res, err = await tb.run(
            "frn_bp", regs, [{"x0": int(a), "x1": int(b), "fl": int(c)}
                             for a, b, c in zip(dz, t, st.bitmap[0])], n, 3)
        assert not err
        _check("frn_bp dx", [o["out0"] for o in outs], _sat32(dx[0], cfg))
        _check("frn_bp d gamma, d beta, d tau", res, [int(dg[0]), int(db[0]), int(dt[0])])


async def frn_layer(tb, cfg, rng, sizes):
    """A layer of channels, overlapped: each normalizing pass takes in the next channel."""
    n, c = int(rng.choice(sizes)), 4
    chans = layer(cfg, rng, c, [n])
    x = np.stack([ch["x"] for ch in chans])
    params = [np.array([ch[k] for ch in chans]) for k in ("gamma", "beta", "tau")]
    z, st = acore.frn_tlu_forward(x, *params, eps=1, cfg=cfg)
    gc, bq, tq = (acore.gamma_coef(params[0], cfg), acore.y_param(params[1], cfg),
                  acore.y_param(params[2], cfg))
    elements = lambda k: [{"x0": int(v)} for v in x[k]]
    _, _, err = await tb.run("frn_stats", frn_fp_regs(n, 1, 0, 0, 0), elements(0), 0, 0)
    assert not err
    for k in range(c):
        prog = "frn_fp_next" if k < c - 1 else "frn_fp_last"
        outs, res, err = await tb.run(prog, frn_fp_regs(n, 1, int(gc[k]), int(bq[k]),
                                                        int(tq[k])),
                                      elements(k + 1) if k < c - 1 else [], n, 2)
        assert not err
        _check(f"{prog} z, channel {k}", [o["out0"] for o in outs], _sat32(z[k], cfg))
        _check(f"{prog} x_hat, channel {k}", [o["out1"] for o in outs],
               _sat32(st.xhat_q[k], cfg))
        _check(f"{prog} bitmap, channel {k}", [o["fl"] for o in outs],
               st.bitmap[k].astype(int))
        _check(f"{prog} lambda, channel {k}", res, [int(st.q[k]), int(st.e[k])])


def _with_emax(st, e_max):
    """The state as the golden model sees a layer whose largest exponent is e_max: a phantom
    second channel carries it (backward takes e_max over all channels)."""
    return acore.FrnState(q=np.array([st.q[0], 1 << 16]), e=np.array([st.e[0], e_max]),
                          xhat=np.vstack([st.xhat, st.xhat]),
                          bitmap=np.vstack([st.bitmap, st.bitmap]),
                          xhat_q=np.vstack([st.xhat_q, st.xhat_q]))


async def tlu(tb, cfg, rng, sizes):
    for _ in range(3):
        n = int(rng.choice(sizes))
        y = rng.integers(-(1 << 40), 1 << 40, n)
        tau = int(rng.integers(-(1 << 30), 1 << 30))
        z, b = acore.tlu_forward(y[None], np.array([tau]))
        outs, res, _ = await tb.run("tlu_fp", tlu_regs(n, tau), [{"x0": int(v)} for v in y],
                                    n, 0)
        _check("tlu_fp z", [o["out0"] for o in outs], _sat32(z[0], cfg))
        _check("tlu_fp bitmap", [o["fl"] for o in outs], b[0].astype(int))
        dz = rng.integers(-(1 << 31), 1 << 31, n)
        dy, dtau = acore.tlu_backward(dz[None], b, cfg)
        outs, res, _ = await tb.run("tlu_bp", tlu_regs(n),
                                    [{"x0": int(a), "fl": int(c)} for a, c in zip(dz, b[0])],
                                    n, 1)
        _check("tlu_bp dy", [o["out0"] for o in outs], _sat32(dy[0], cfg))
        _check("tlu_bp d tau", res, [int(dtau[0])])


async def sgd(tb, cfg, rng, sizes):
    for e_w, e_v, e_g in [(-30, -26, -20), (-24, -20, -36), (-28, -22, -6)]:
        n = int(rng.choice(sizes))
        w = rng.integers(-(1 << 31), 1 << 31, n)
        v = rng.integers(-(1 << 31), 1 << 31, n)
        g = rng.integers(-(1 << 40), 1 << 40, n)     # FRN parameter gradients are words
        coefs = acore.sgd_coefs(float(rng.uniform(0.001, 0.5)), 0.9, e_w, e_v, e_g, cfg)
        w2, v2 = acore.sgd_momentum(w, v, g, coefs, 32, cfg)
        outs, _, _ = await tb.run("sgd", sgd_regs(n, coefs),
                                  [{"x0": int(a), "x1": int(b), "x2": int(c)}
                                   for a, b, c in zip(g, v, w)], n, 0)
        _check("sgd w", [o["out0"] for o in outs], w2)
        _check("sgd v", [o["out1"] for o in outs], v2)
    # Saturation: words at both rails, every combination, through all three MADs.
    top = 1 << (cfg.acore.word_bits - 1)
    rails = [top - 1, -top, (1 << 31) - 1, -(1 << 31), 0, 1]
    g, v, w = (np.array(t) for t in zip(*[(a, b, c) for a in rails for b in rails[2:]
                                          for c in rails[2:]]))
    coefs = acore.sgd_coefs(0.5, 0.9, -30, -14, -30 + 16 + 2, cfg)
    w2, v2 = acore.sgd_momentum(w, v, g, coefs, 32, cfg)
    outs, _, _ = await tb.run("sgd", sgd_regs(len(g), coefs),
                              [{"x0": int(a), "x1": int(b), "x2": int(c)}
                               for a, b, c in zip(g, v, w)], len(g), 0)
    _check("sgd w at the rails", [o["out0"] for o in outs], w2)
    _check("sgd v at the rails", [o["out1"] for o in outs], v2)


async def add(tb, cfg, rng, sizes):
    for ea, eb in [(0, 0), (-5, -3), (-3, -25), (-20, -2)]:
        n = int(rng.choice(sizes))
        a = pint.decode(rng.integers(0, 256, n), cfg.pint)
        b = pint.decode(rng.integers(0, 256, n), cfg.pint)
        s, _ = acore.residual_add(a, ea, b, eb, cfg)
        ca, sa, cb, sb, _ = acore.add_coefs(ea, eb, cfg)
        outs, _, _ = await tb.run("add", add_regs(n, ca, sa, cb, sb),
                                  [{"x0": int(p), "x1": int(q)} for p, q in zip(a, b)], n, 0)
        _check("add", [o["out0"] for o in outs], _sat32(s, cfg))


async def sum_(tb, cfg, rng, sizes):
    """Channel sums of words (FRN gradients over a batch), ordinary and at the word rails."""
    top = 1 << (cfg.acore.word_bits - 1)
    for n in sizes[:3]:
        for words in (rng.integers(-(1 << 40), 1 << 40, n), np.full(n, top - 1),
                      np.full(n, -top)):
            _, res, _ = await tb.run("sum", sum_regs(n), [{"x0": int(v)} for v in words], 0, 1)
            _check("sum", res, [int(acore.channel_sum(words[None], cfg)[0])])


async def copy(tb, cfg, rng, sizes):
    """x0 to out0 unchanged, saturated to 32 bits on the way out (words at the rails too)."""
    top = 1 << (cfg.acore.word_bits - 1)
    for n in sizes[:3]:
        x = rng.integers(-(1 << 40), 1 << 40, n)
        x[0] = top - 1
        outs, _, _ = await tb.run("copy", copy_regs(n), [{"x0": int(v)} for v in x], n, 0)
        _check("copy", [o["out0"] for o in outs], _sat32(x, cfg))


WORKLOADS = {"frn": frn, "frn_layer": frn_layer, "tlu": tlu, "sgd": sgd, "add": add,
             "sum": sum_, "copy": copy}


@cocotb.test()
@cocotb.parametrize(workload=list(WORKLOADS), stalls=STALLS)
async def workloads(dut, workload, stalls):
    cfg = config()
    rnd, rng = rngs(STALLS.index(stalls) * 10 + list(WORKLOADS).index(workload))
    await start(dut)
    tb = ApuTB(dut, cfg, rnd, stalls, stalls)
    depth = 1 << cfg.apu_buffer_bits
    # N not a power of two, N = 1, and N = the whole buffer.
    await WORKLOADS[workload](tb, cfg, rng, [1, 7, 49, 100, depth])


@cocotb.test()
async def bad_lengths_stop_with_error(dut):
    """N larger than the channel buffer, or 0, ends the program with `error`, no hang."""
    cfg = config()
    rnd, rng = rngs()
    await start(dut)
    tb = ApuTB(dut, cfg, rnd)
    depth = 1 << cfg.apu_buffer_bits
    for n in (depth + 1, 0):
        # Raw writes: the host helpers refuse N = 0; the hardware must be safe without them.
        outs, res, err = await tb.run("frn_fp", {0: 1, 1: 1 << 14, 4: max(n, 1), N_REG: n},
                                      [], 0, 0)
        assert err and not outs and not res
    # The APU recovers: a good run after the errors.
    await add(tb, cfg, rng, [5])
