"""The host's side of a step: a whole-tensor model's state (`sim.train.pint_net.PintNet`)
written into a machine's DRAM and scalar table in the program's layouts, the host steps
(softmax and cross-entropy) and the state read back.

One training step from the same state must leave both models bit-identical
(tests/test_machine.py).
"""

import numpy as np

from sim.golden import acore, convert, dram, pint
from sim.golden.machine import Machine

__all__ = ["machine_for", "write_state", "read_state", "softmax_host", "fc_order"]


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


def machine_for(step, net):
    """A machine for the step, its LFSRs where the whole-tensor model's are."""
    return Machine(step.cfg, step.plan.footprint, seeds=list(net.lfsr.states))


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


def write_state(m, step, net, x, lr, momentum):
    """The model's parameters, velocities, scales and the batch x (float images) -> the
    machine, as the program expects them at the start of a step."""
    cfg, S, slot = step.cfg, m.S, step.slots
    frac = cfg.acore.param_frac
    put = lambda t, values, eb: dram.put(m.dram, t.addr, values, eb)
    codes, e = pint.quantize(x, "nearest", fmt=cfg.pint)
    dram.put_map(m.dram, step.inputs.tensor.addr, codes, 1, cfg.pe_cols)
    S[step.inputs.exp] = e
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
        S[slot[f"{name}.ew"]], S[slot[f"{name}.ev"]] = p.e_w, p.e_v
        S[slot[f"{name}.wsf"]] = sf
        S[slot[f"{name}.wnx"]] = convert.next_shift(int(np.max(np.abs(p.w))), cfg)
        put(ps.hyper, acore.sgd_lr_coef(lr, momentum, p.e_w, p.e_v, cfg), 4)
        if kind != "conv":
            continue
        S[slot[f"{name}.zsf"]] = convert.next_shift(unit.hs["z"].max_abs, cfg)
        S[slot[f"{name}.esf"]] = convert.next_shift(unit.hs["e"].max_abs, cfg)
        row = ps.frn.meta["row"]
        for j, pname in enumerate(("gamma", "beta", "tau")):
            fp = unit.frn[pname]
            dram.put(m.dram, ps.frn.addr + j * row, fp.w, 4)
            dram.put(m.dram, ps.frn_v.addr + j * row, fp.v, 4)
            S[slot[f"{name}.ev_{pname}"]] = fp.e_v
            dram.put(m.dram, ps.frn_hyper[j].addr,
                     acore.sgd_lr_coef(lr, momentum, -frac, fp.e_v, cfg), 4)
    for rec, hs in res:
        name = rec[1]
        for key, s in (("fwd", "sf"), ("e1", "e1sf"), ("e2", "e2sf")):
            S[slot[f"{name}.{s}"]] = convert.next_shift(hs[key].max_abs, cfg)


def read_state(m, step, net):
    """{layer: {"w", "v", "wq", and for conv layers "gamma", "beta", "tau" and their
    velocities "v_gamma", ...}} as the whole-tensor model shapes them."""
    cfg = step.cfg
    out = {}
    pairs, _ = _units(step, net)
    for rec, unit in pairs:
        kind, name, spec, ps, _, _ = rec
        get = lambda t, eb: dram.get(m.dram, t.addr, t.nbytes // eb, eb)
        shape = unit.w.w.shape
        got = {"w": _unimage(ps, get(ps.wm, 4), shape, cfg),
               "v": _unimage(ps, get(ps.v, 4), shape, cfg),
               "wq": _unimage(ps, get(ps.wq, 1), shape, cfg)}
        if kind == "conv":
            row, c = ps.frn.meta["row"], spec[2]
            for j, pname in enumerate(("gamma", "beta", "tau")):
                got[pname] = dram.get(m.dram, ps.frn.addr + j * row, c, 4)
                got[f"v_{pname}"] = dram.get(m.dram, ps.frn_v.addr + j * row, c, 4)
        out[name] = got
    return out


def softmax_host(step, labels, rng, loss_out=None):
    """The host step of softmax and cross-entropy: the logits -> the FC's errors, quantized
    stochastically with the host's generator (as `PintNet.backward`)."""
    from sim.train.__main__ import softmax_xent
    cfg = step.cfg

    def run(index, m):
        if step.hosts[index].kind != "softmax":
            raise NotImplementedError(f"host step {step.hosts[index].kind}")
        lg = step.logits
        t = dram.get_map(m.dram, lg.tensor.addr, lg.shape, 4, cfg.pe_cols)[0, :, :, 0].T
        logits = np.ldexp(t.astype(np.float64), int(m.S[lg.exp]))
        loss, dlogits = softmax_xent(logits, labels)
        if loss_out is not None:
            loss_out.append(loss)
        codes, e = pint.quantize(dlogits, "stochastic", rng, cfg.pint)
        err = step.fc_errors
        full = np.zeros((1, err.c, err.h, 1), np.int64)
        full[0, :codes.shape[1], :, 0] = codes.T
        dram.put_map(m.dram, err.tensor.addr, full, 1, cfg.pe_cols)
        m.S[err.exp] = e
    return run
