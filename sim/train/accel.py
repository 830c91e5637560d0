"""Training on the accelerator through the runtime (`sim.runtime.Accelerator`): a
whole-tensor model's state (`sim.train.pint_net.PintNet`) written into DRAM and the scalar
table in the program's layouts, the softmax host step, the state read back.

One training step from the same state must leave both bit-identical (tests/test_machine.py).
"""

import copy

import numpy as np

from sim.golden import acore, convert, dram, pint
from sim.runtime import Accelerator

__all__ = ["accelerator_for", "write_state", "read_state", "softmax_host", "fc_order",
           "model_step", "run_step", "compare_state", "warmed_up"]


def fc_order(ps, cfg):
    """For each machine input channel of an FC layer (a byte of each image's map tensor),
    the description's input channel (c H W + y W + x), or -1 for padding."""
    c, h, w = ps.fc_in
    P = cfg.pe_cols
    cg = -(-c // P)
    out = np.full(ps.cin_p, -1, np.int64)
    for g in range(cg):
        for n in range(h * w):
            for k in range(P):
                ch = g * P + k
                if ch < c:
                    out[(g * h * w + n) * P + k] = ch * h * w + n
    return out


def _image(ps, w, cfg):
    """A layer's weights in the description's shape -> its weight image (machine order)."""
    order = dram.wimg_order(ps.cout_p, ps.cin_p, ps.k1, cfg)
    img = np.zeros(dram.wimg_elements(ps.cout_p, ps.cin_p, ps.k1, cfg), np.int64)
    w = np.asarray(w)
    if ps.kind == "fc":
        src = fc_order(ps, cfg)
        full = np.zeros((ps.cout_p, ps.cin_p), np.int64)
        ok = src >= 0
        full[:w.shape[0], ok] = w[:, src[ok]]
    elif ps.k1:
        full = np.zeros((ps.cout_p, ps.cin_p), np.int64)
        full[:w.shape[0], :w.shape[1]] = w[:, :, 0, 0]
    else:
        full = np.zeros((ps.cout_p, ps.cin_p, 3, 3), np.int64)
        full[:w.shape[0], :w.shape[1]] = w
    img[order.ravel()] = full.ravel()
    return img


def _unimage(ps, img, shape, cfg):
    order = dram.wimg_order(ps.cout_p, ps.cin_p, ps.k1, cfg)
    full = np.asarray(img)[order]
    if ps.kind == "fc":
        src = fc_order(ps, cfg)
        out = np.zeros(shape, np.int64)
        ok = src >= 0
        out[:, src[ok]] = full[:shape[0], ok]
        return out
    if ps.k1:
        return full[:shape[0], :shape[1]][:, :, None, None]
    return full[:shape[0], :shape[1]]


def accelerator_for(step, net, backend="golden", **options):
    """An accelerator for the step, its program loaded, its LFSRs where the whole-tensor
    model's are (`options`: the backend's, as `sim=` for the RTL)."""
    acc = Accelerator(step, backend, seeds=list(net.lfsr.states), **options)
    acc.load_program()
    return acc


def _units(step, net):
    """(compiler record, PintNet unit) for every conv and FC layer, and (record, hindsight
    of the residual block) for every residual block, in order."""
    pairs, res = [], []

    def walk(records, layers):
        for rec, (kind, unit) in zip(records, layers):
            if rec[0] == "res":
                branch, hs = unit
                walk(rec[5]["branch"], branch)
                res.append((rec, hs))
            else:
                pairs.append((rec, unit))
    walk(step.layers, net.layers)
    return pairs, res


def write_state(acc, net, x, lr, momentum):
    """The model's parameters, velocities, scales and the batch x (float images) -> the
    accelerator, as its program expects them at the start of a step."""
    step = acc.step
    cfg = step.cfg
    frac = cfg.acore.param_frac
    put = lambda t, values, eb, off=0: acc.write(t.addr + off, values, eb)
    codes, e = pint.quantize(x, "nearest", fmt=cfg.pint)
    acc.write_map(step.inputs, codes)
    acc.set_scalar(step.inputs.exp, e)
    S = _Slots(acc)
    pairs, res = _units(step, net)
    for rec, unit in pairs:
        kind, name, spec, ps, _, _ = rec
        p = unit.w
        if p.e_v is None:
            raise ValueError(f"{name}: the velocity's scale is chosen at the first update; "
                             f"run one step of the whole-tensor model first")
        hs = unit.hs["w"] if kind == "conv" else unit.hs
        if hs.max_abs is None:
            raise ValueError(f"{name}: no conversion yet fixes the in-hindsight scales")
        sf = convert.next_shift(hs.max_abs, cfg)
        wq, _ = convert.convert(acore.sat(p.w, cfg.acc_bits).ravel(), sf,
                                convert.NEAREST_EVEN, 1, cfg)
        put(ps.wq, _image(ps, wq.reshape(p.w.shape), cfg), 1)
        put(ps.wm, _image(ps, p.w, cfg), 4)
        put(ps.v, _image(ps, p.v, cfg), 4)
        put(ps.g, np.zeros(ps.g.nbytes // 4, np.int64), 4)
        S[f"{name}.ew"], S[f"{name}.ev"] = p.e_w, p.e_v
        S[f"{name}.wsf"] = sf
        S[f"{name}.wnx"] = convert.next_shift(int(np.max(np.abs(p.w))), cfg)
        put(ps.hyper, acore.sgd_lr_coef(lr, momentum, p.e_w, p.e_v, cfg), 4)
        if kind != "conv":
            continue
        S[f"{name}.zsf"] = convert.next_shift(unit.hs["z"].max_abs, cfg)
        S[f"{name}.esf"] = convert.next_shift(unit.hs["e"].max_abs, cfg)
        row = ps.frn.meta["row"]
        for j, pname in enumerate(("gamma", "beta", "tau")):
            fp = unit.frn[pname]
            put(ps.frn, fp.w, 4, j * row)
            put(ps.frn_v, fp.v, 4, j * row)
            S[f"{name}.ev_{pname}"] = fp.e_v
            put(ps.frn_hyper[j], acore.sgd_lr_coef(lr, momentum, -frac, fp.e_v, cfg), 4)
    for rec, hs in res:
        name = rec[1]
        for key, s in (("fwd", "sf"), ("e1", "e1sf"), ("e2", "e2sf")):
            S[f"{name}.{s}"] = convert.next_shift(hs[key].max_abs, cfg)


class _Slots:
    """acc's scalar table by name, as a mapping to write."""

    def __init__(self, acc):
        self.acc = acc

    def __setitem__(self, name, value):
        self.acc.set_scalar(name, value)


def read_state(acc, net):
    """{layer: {"w", "v", "wq", and for conv layers "gamma", "beta", "tau" and their
    velocities "v_gamma", ...}} as the whole-tensor model shapes them."""
    step = acc.step
    cfg = step.cfg
    out = {}
    pairs, _ = _units(step, net)
    for rec, unit in pairs:
        kind, name, spec, ps, _, _ = rec
        get = lambda t, eb: acc.read(t.addr, t.nbytes // eb, eb)
        shape = unit.w.w.shape
        got = {"w": _unimage(ps, get(ps.wm, 4), shape, cfg),
               "v": _unimage(ps, get(ps.v, 4), shape, cfg),
               "wq": _unimage(ps, get(ps.wq, 1), shape, cfg)}
        if kind == "conv":
            row, c = ps.frn.meta["row"], spec[2]
            for j, pname in enumerate(("gamma", "beta", "tau")):
                got[pname] = acc.read(ps.frn.addr + j * row, c, 4)
                got[f"v_{pname}"] = acc.read(ps.frn_v.addr + j * row, c, 4)
        out[name] = got
    return out


def softmax_host(labels, rng, loss_out=None):
    """The host step of softmax and cross-entropy (a handler for `Accelerator.run`): the
    logits -> the FC's errors, quantized stochastically with the host's generator (as
    `PintNet.backward`)."""
    from sim.train.__main__ import softmax_xent

    def run(acc, host_step):
        step = acc.step
        lg = step.logits
        t = acc.read_map(lg)[0, :, :, 0].T
        logits = np.ldexp(t.astype(np.float64), acc.scalar(lg.exp))
        loss, dlogits = softmax_xent(logits, labels)
        if loss_out is not None:
            loss_out.append(loss)
        codes, e = pint.quantize(dlogits, "stochastic", rng, step.cfg.pint)
        err = step.fc_errors
        full = np.zeros(err.shape, np.int64)
        full[0, :codes.shape[1], :, 0] = codes.T
        acc.write_map(err, full)
        acc.set_scalar(err.exp, e)
    return {"softmax": run}


def model_step(net, x, y, lr, momentum):
    """The whole-tensor model's own training step on batch (x, y)."""
    from sim.train.__main__ import softmax_xent
    _, dl = softmax_xent(net.forward(x), y)
    net.backward(dl)
    net.step(lr, momentum)


def run_step(step, net, x, y, lr, momentum, backend="golden", losses=None, **options):
    """One compiled training step on a backend from the model's state (its host step with a
    copy of the model's generator, as the model's own step draws): the accelerator."""
    acc = accelerator_for(step, net, backend, **options)
    write_state(acc, net, x, lr, momentum)
    acc.run(host=softmax_host(y, copy.deepcopy(net.rng), losses))
    return acc


def compare_state(acc, net):
    """The state a step left in DRAM against the model's (after its own step): (values
    compared, the first difference as text or None)."""
    cfg = acc.cfg
    got = read_state(acc, net)
    pairs, _ = _units(acc.step, net)
    checked = 0
    for rec, unit in pairs:
        name = rec[1]
        hs = unit.hs["w"] if rec[0] == "conv" else unit.hs
        wq, _ = convert.convert(acore.sat(unit.w.w, cfg.acc_bits).ravel(),
                                convert.next_shift(hs.max_abs, cfg), convert.NEAREST_EVEN, 1,
                                cfg)
        want = {"w": unit.w.w, "v": unit.w.v, "wq": wq.reshape(unit.w.w.shape)}
        if rec[0] == "conv":
            for p in ("gamma", "beta", "tau"):
                want[p], want[f"v_{p}"] = unit.frn[p].w, unit.frn[p].v
        for key, w in want.items():
            g = np.asarray(got[name][key]).reshape(np.shape(w))
            bad = np.argwhere(g != w)
            if bad.size:
                return checked, (f"{name}.{key}: {len(bad)} of {g.size} differ, first at "
                                 f"{bad[0].tolist()}: {g[tuple(bad[0])]} != "
                                 f"{w[tuple(bad[0])]}")
            checked += g.size
    return checked, None


def warmed_up(arch, in_shape, cfg, seed, batch, lr, momentum):
    """A model of `arch` after one step of its own on a random batch (so every scale and
    velocity scale the program takes is chosen), and the next random batch (x, y)."""
    from sim.train.net import init_params
    from sim.train.pint_net import PintNet
    rng = np.random.default_rng(seed)
    shape = (batch, *in_shape)
    x0, x1 = rng.normal(size=shape), rng.normal(size=shape)
    y0, y1 = rng.integers(0, 10, batch), rng.integers(0, 10, batch)
    net = PintNet(arch, init_params(arch, seed), seed=seed + 1, cfg=cfg)
    model_step(net, x0, y0, lr, momentum)
    return net, x1, y1
