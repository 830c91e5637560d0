"""`compile_step`: a network description -> `Step`, the program of one training step.

Order (the whole-tensor model's, `sim.train.pint_net`, so that the A-Core converts tensors,
and draws stochastic rounding, in the same order): FP layer by layer, every image; the host's
softmax and cross-entropy; then from the last layer down: BP (L1-FRN backward on the A-Core,
the layer's BP and WG on the C-Core), each layer's weight and FRN-parameter update right after
its WG. A layer's C-Core work runs image by image, its A-Core runs image by image after it,
so the two overlap across images.
"""

from dataclasses import dataclass


from hw.isa.apu import Program as Prog
from hw.isa.modes import Mode, Phase
from hw.isa.program import ACoreRun, End, Fmt, ScaleOp, line_bytes
from sim.golden import dram
from sim.golden.acore import dx_exp_bias
from sim.golden.ccore import Layer
from sim.train.net import check_arch

from .compile import NEG, Act, CompileError, Compiler, ParamSet
from .deps import add_tokens
from .plan import Ref, resolve

__all__ = ["compile_step", "Step", "CompileError"]

ADD, SUB, MAX, SET = ScaleOp.ADD, ScaleOp.SUB, ScaleOp.MAX, ScaleOp.SET


@dataclass
class Step:
    """One compiled training step: descriptors (addresses resolved, tokens set), per
    descriptor (layer, phase, DRAM bytes by category), the DRAM plan, scalar slots by name,
    host steps, parameters, map tensors, useful MACs per (layer, phase)."""
    cfg: object
    arch: list
    in_shape: tuple
    batch: int
    descs: list
    meta: list
    plan: object
    slots: dict
    hosts: list
    params: list
    acts: dict
    macs: dict
    inputs: object
    logits: object
    fc_errors: object
    layers: list                # forward records: (kind, name, spec, params, input, maps)


class _Net(Compiler):
    """The network walk: forward, backward and update emission on top of `Compiler`."""

    def __init__(self, cfg, batch, double_buffer):
        super().__init__(cfg, batch, double_buffer)
        self.f = cfg.acore
        self.layer_no = 0

    # parameters ------------------------------------------------------------------------------

    def _frn_tensors(self, name, cout):
        cg = -(-cout // self.P)
        row = dram.param_row_bytes(cg * self.P, self.line)
        frn = self.plan.tensor(f"{name}.frn", 3 * row, "frn params", True, row=row)
        frn_v = self.plan.tensor(f"{name}.frn_v", 3 * row, "velocities", True, row=row)
        return frn, frn_v

    def _hyper(self, name):
        return self.plan.tensor(f"{name}.hyper", self.line, "sgd coefficients", True)

    def params_for(self, name, kind, cin, cout, k, s, fc_in=None):
        cfg, P = self.cfg, self.P
        if kind == "fc":
            c, h, w = fc_in
            vec = -(-c // P) * P * h * w            # the machine's input vector length
            layer = Layer((Phase.FP, 1, 1), vec, cout, 1, 1, cfg)
            cin_v = vec
        else:
            layer = Layer((Phase.FP, 1, k), cin, cout, 8, 8, cfg)
            cin_v = cin
        k1 = k == 1
        n_el = dram.wimg_elements(layer.cout_p, layer.cin_p, k1, cfg)
        mk = lambda suffix, eb, kind_: self.plan.tensor(f"{name}.{suffix}", n_el * eb, kind_,
                                                        True)
        ps = ParamSet(name, kind, cin_v, cout, k, s, layer.cout_p, layer.cin_p, k1,
                      wq=mk("wq", 1, "weights (PINT)"), wm=mk("wm", 4, "weights (master)"),
                      v=mk("v", 4, "velocities"), g=mk("g", 4, "gradients"),
                      hyper=self._hyper(name), fc_in=fc_in)
        if kind == "conv":
            ps.frn, ps.frn_v = self._frn_tensors(name, cout)
            ps.frn_hyper = [self._hyper(f"{name}.{p}") for p in ("gamma", "beta", "tau")]
            cg = -(-cout // P)
            ps.frn_sums = [self.plan.tensor(f"{name}.d{p}", dram.emit_bytes(
                1, cg, 1, self.P, self.line), "gradients") for p in ("gamma", "beta", "tau")]
        self.params.append(ps)
        return ps

    # forward ---------------------------------------------------------------------------------

    def forward(self, arch, a, prefix=""):
        """Emit FP of `arch` from map `a`; returns the output map. Records what backward
        needs in self.fwd (in order)."""
        for spec in arch:
            kind = spec[0]
            self.layer_no += 1
            name = f"{prefix}{kind}{self.layer_no}"
            if kind == "conv":
                a = self.conv_fp(name, spec, a)
            elif kind == "res":
                a = self.res_fp(name, spec, a)
            elif kind == "fc":
                a = self.fc_fp(name, spec, a)
            else:
                a = self.host_layer(name, spec, a)
        return a

    def conv_fp(self, name, spec, a):
        _, cin, cout, k, s = spec
        cfg, P, B = self.cfg, self.P, self.B
        if k == 7:
            return self.host_layer(name, spec, a)
        self.where = (name, "FP")
        ps = self.params_for(name, "conv", cin, cout, k, s)
        pad = k // 2
        oh, ow = (a.h + 2 * pad - k) // s + 1, (a.w + 2 * pad - k) // s + 1
        n = oh * ow
        if n > 1 << cfg.apu_buffer_bits:
            raise CompileError(f"{name}: a {oh}x{ow} channel has {n} elements; L1-FRN needs "
                               f"the whole channel in an APU buffer of "
                               f"{1 << cfg.apu_buffer_bits}")
        cg = -(-cout // P)
        x32 = self.act(f"{name}.x", cout, oh, ow, 4, "sums")
        z = self.act(f"{name}.z", cout, oh, ow, 1, "activations")
        xh = self.act(f"{name}.xh", cout, oh, ow, 1, "frn state")
        bm = self.plan.tensor(f"{name}.bm", B * cg * n * dram.flag_bytes(P), "frn state")
        qe = self.plan.tensor(f"{name}.qe", dram.emit_bytes(2, cg, B, P, self.line),
                              "frn state")
        self.scale(ADD, f"{name}.ewq", f"{name}.ew", f"{name}.wsf")
        self.scale(ADD, f"{name}.ex", a.exp, f"{name}.ewq")
        self.scale(ADD, z.exp, f"{name}.zsf", 0, -self.f.xhat_frac)
        self.scale(SET, f"{name}.emax", imm=NEG)
        mode = Mode(Phase.FP, 1 if k == 1 else s, k)

        def frn(b):
            self.run(Prog.FRN_FP, n, b, cg, cout, x0=(x32, Fmt.I32), code0=z,
                     out1=(xh, Fmt.CODE), fl_out=bm, emit=qe, param=ps.frn,
                     shift=f"{name}.zsf", emax=f"{name}.emax")
        self.fp_bp(name, mode, ps, a, x32, range(B), sub2=(k == 1 and s == 2), after=frn)
        self.count(B * cout * n * k * k * cin)
        self.fwd.append(("conv", name, spec, ps, a, dict(x32=x32, z=z, xh=xh, bm=bm, qe=qe)))
        return z

    def run(self, prog, n, b, groups, chans, images=None, **ops):
        """One A-Core run over image b's channel groups (b is None: `images` images, all of
        the batch by default); ops: operands (Act, Tensor, Ref, or one of them with a Fmt),
        slots by name, flags."""
        f = dict(prog=prog, n=n, images=1 if b is not None else (images or self.B),
                 i0=b or 0, img_total=ops.pop("img_total", self.B), groups=groups,
                 grp_total=ops.pop("grp_total", groups), chans=chans)
        for key in ("x0", "x1"):
            if key in ops:
                t, fmt = ops.pop(key)
                f[key], f[f"{key}_fmt"] = self._line(t), fmt
        if "out1" in ops:
            t, fmt = ops.pop("out1")
            f["out1"], f["out1_fmt"] = self._line(t), fmt
        for key in ("x2", "fl_in", "raw0", "code0", "fl_out", "emit", "param", "state"):
            if key in ops:
                f[key] = self._line(ops.pop(key))
        for key in ("shift", "emax", "sa", "sb"):
            if key in ops:
                v = ops.pop(key)
                f[key] = self.slot(v) if isinstance(v, str) else v
        tensor_pass = ops.pop("tensor_pass", True)
        last = b is None or b == self.B - 1
        first = b is None or b == 0
        if "shift" in f and tensor_pass:
            f["clear_max"] = int(first)
            if last:
                f["cap"] = f["shift"]
        f["stochastic"] = int(ops.pop("stochastic", False))
        f["shift1"] = self.f.xhat_frac + self.f.xhat_exp if "out1" in f and \
            f.get("out1_fmt") == Fmt.CODE else 0
        if ops:
            raise TypeError(f"unknown A-Core operands {sorted(ops)}")
        self.emit(ACoreRun(**f))

    def _line(self, t):
        """An operand (a Ref, an Act or a Tensor) as a line address."""
        if isinstance(t, Ref):
            return Ref(t.tensor, t.offset, True)
        if isinstance(t, Act):
            return t.tensor.ref(0, line=True)
        return t.ref(0, line=True)

    def res_fp(self, name, spec, a):
        branch = spec[1]
        short = spec[2] if len(spec) > 2 else None
        first = len(self.fwd)
        zb = self.forward(branch, a, prefix=f"{name}.")
        zs = self.forward([short], a, prefix=f"{name}.s") if short else a
        self.where = (name, "FP")
        out = self.act(f"{name}.s", zb.c, zb.h, zb.w, 1, "activations")
        self.scale(MAX, f"{name}.es", zb.exp, zs.exp, -(self.f.coef_bits - 2))
        self.scale(ADD, out.exp, f"{name}.es", f"{name}.sf")
        cg, n = -(-zb.c // self.P), zb.h * zb.w
        for b in range(self.B):
            self.run(Prog.ADD, n, b, cg, zb.c, x0=(zb, Fmt.CODE), x1=(zs, Fmt.CODE),
                     code0=out, sa=zb.exp, sb=zs.exp, shift=f"{name}.sf")
        self.fwd.append(("res", name, spec, None, a,
                         dict(branch=self.fwd[first:], zb=zb, zs=zs, out=out)))
        del self.fwd[first:-1]
        return out

    def fc_fp(self, name, spec, a):
        _, cin, cout = spec
        self.where = (name, "FP")
        ps = self.params_for(name, "fc", cin, cout, 1, 1, fc_in=(a.c, a.h, a.w))
        vec = ps.cin // self.P
        logits = self.act(f"{name}.logits", cout, self.B, 1, 4, "sums", batch=1)
        self.scale(ADD, f"{name}.ewq", f"{name}.ew", f"{name}.wsf")
        self.scale(ADD, logits.exp, a.exp, f"{name}.ewq")
        self.fp_bp(name, Mode(Phase.FP, 1, 1), ps, a, logits, [0], vectors=vec)
        self.count(self.B * cin * cout)
        self.fwd.append(("fc", name, spec, ps, a, dict(logits=logits)))
        return logits

    def host_layer(self, name, spec, a):
        """A layer the hardware cannot run: the host reads its input, writes its output."""
        self.where = (name, "FP")
        kind = spec[0]
        if kind == "conv":
            _, cin, cout, k, s = spec
            oh, ow = (a.h + 2 * (k // 2) - k) // s + 1, (a.w + 2 * (k // 2) - k) // s + 1
            c = cout
        elif kind == "maxpool":
            _, k, s = spec[:3]
            pad = spec[3] if len(spec) > 3 else 0
            oh, ow = (a.h + 2 * pad - k) // s + 1, (a.w + 2 * pad - k) // s + 1
            c = a.c
        elif kind == "gap":
            oh = ow = 1
            c = a.c
        else:
            raise CompileError(f"{name}: unknown layer kind {kind!r}")
        out = self.act(f"{name}.out", c, oh, ow, 1, "activations")
        self.host(f"{kind}_fp", name, [a.tensor], [out.tensor], spec=spec)
        self.fwd.append(("host", name, spec, None, a, dict(out=out)))
        return out

    # backward --------------------------------------------------------------------------------

    def backward(self, items, dz, first_layer):
        """Emit BP, WG and the updates of `items` (forward records) from the top, the error
        arriving at their output being `dz` (a 32-bit map); returns the error at their
        input (None where no one needs it)."""
        for idx in range(len(items) - 1, -1, -1):
            kind, name, spec, ps, a, t = items[idx]
            need = not (first_layer and idx == 0)
            if kind == "conv":
                dz = self.conv_bp(name, spec, ps, a, t, dz, need)
            elif kind == "res":
                dz = self.res_bp(name, spec, a, t, dz)
            elif kind == "fc":
                dz = self.fc_bp(name, ps, a, t, need)
            else:
                dz = self.host_bp(name, spec, a, t, dz, need)
        return dz

    def conv_bp(self, name, spec, ps, a, t, dz, need):
        _, cin, cout, k, s = spec
        cfg, P, B = self.cfg, self.P, self.B
        self.where = (name, "BP")
        z = t["z"]
        n, cg = z.h * z.w, -(-cout // P)
        err = self.act(f"{name}.err", cout, z.h, z.w, 1, "errors")
        fe = self.plan.tensor(f"{name}.fe", dram.emit_bytes(3, cg, B, P, self.line),
                              "frn gradients")
        self.scale(SUB, f"{name}.edx", dz.exp, f"{name}.ex", dx_exp_bias(cfg))
        self.scale(ADD, f"{name}.edx", f"{name}.edx", f"{name}.emax")
        self.scale(ADD, err.exp, f"{name}.edx", f"{name}.esf")
        din = None
        if need:
            din = self.act(f"{name}.din", cin, a.h, a.w, 4, "sums")
            self.scale(ADD, din.exp, err.exp, f"{name}.ewq")
        frn = lambda b: self.run(
            Prog.FRN_BP, n, b, cg, cout, x0=(dz, Fmt.I32), x1=(t["xh"], Fmt.CODE),
            fl_in=t["bm"], state=t["qe"], param=ps.frn, emax=f"{name}.emax", code0=err,
            emit=fe, shift=f"{name}.esf", stochastic=True)
        if need:
            # Image b's errors come from the A-Core while the C-Core runs image b - 1's BP.
            mode = Mode(Phase.BP, 1 if k == 1 else s, k)
            self.fp_bp(name, mode, ps, err, din, range(B), up2=(k == 1 and s == 2),
                       before=frn)
            self.count(B * cout * n * k * k * cin)
        else:
            for b in range(B):
                frn(b)
        self.where = (name, "WG")
        self.wg(name, ps, a, err, s)
        self.count(B * cout * n * k * k * cin)
        self.scale(ADD, f"{name}.eg", a.exp, err.exp)
        self.update(name, ps, f"{name}.eg")
        # FRN parameters: the batch sums of their gradients, then SGD.
        self.where = (name, "WU")
        stride = dram.emit_stride(cg, B, P, self.line)
        for j, (p, eg) in enumerate((("gamma", "eg_gamma"), ("beta", None), ("tau", None))):
            self.run(Prog.SUM, B, None, cg, cout, images=1, img_total=1,
                     x0=(fe.ref(j * stride, line=True), Fmt.I64), emit=ps.frn_sums[j])
        self.scale(ADD, f"{name}.eg_gamma", dz.exp, 0, self.f.xhat_exp)
        row = ps.frn.meta["row"]
        for j, (p, eg) in enumerate((("gamma", f"{name}.eg_gamma"), ("beta", dz.exp),
                                     ("tau", dz.exp))):
            self.run(Prog.SGD, cg, None, 1, cg * P, images=1, img_total=1,
                     x0=(ps.frn_sums[j], Fmt.I64), x1=(ps.frn_v.ref(j * row, line=True),
                                                       Fmt.I32),
                     x2=ps.frn.ref(j * row, line=True), raw0=ps.frn.ref(j * row, line=True),
                     out1=(ps.frn_v.ref(j * row, line=True), Fmt.I32),
                     param=ps.frn_hyper[j], sa=eg, sb=f"{name}.ev_{p}", tensor_pass=False)
        return din

    def update(self, name, ps, eg):
        """SGD of a weight image: w, v updated in place, the PINT codes written beside."""
        cfg, P = self.cfg, self.P
        self.where = (name, "WU")
        self.scale(ADD, f"{name}.wsf", f"{name}.wnx", 0)
        n_el = dram.wimg_elements(ps.cout_p, ps.cin_p, ps.k1, cfg)
        per_lane = n_el // P
        chunk = cfg.acore.max_n
        starts = list(range(0, per_lane, chunk))
        for r, c0 in enumerate(starts):
            n = min(chunk, per_lane - c0)
            off = c0 * P
            self.run(Prog.SGD, n, None, 1, P, images=1, img_total=1,
                     x0=(ps.g.ref(4 * off, line=True), Fmt.I32),
                     x1=(ps.v.ref(4 * off, line=True), Fmt.I32),
                     x2=ps.wm.ref(4 * off, line=True), raw0=ps.wm.ref(4 * off, line=True),
                     code0=ps.wq.ref(off, line=True),
                     out1=(ps.v.ref(4 * off, line=True), Fmt.I32), param=ps.hyper,
                     sa=eg, sb=f"{name}.ev", shift=f"{name}.wnx", tensor_pass=False)
            d = self.descs[-1]
            if r == 0 or r == len(starts) - 1:
                from dataclasses import replace
                self.descs[-1] = replace(d, clear_max=int(r == 0),
                                         cap=self.slot(f"{name}.wnx") if r == len(starts) - 1
                                         else 0)

    def res_bp(self, name, spec, a, t, dz):
        P, B = self.P, self.B
        short = spec[2] if len(spec) > 2 else None
        branch = t["branch"][:len(t["branch"]) - (1 if short else 0)]
        db = self.backward(branch, dz, False)
        ds = self.backward(t["branch"][-1:], dz, False) if short else dz
        self.where = (name, "BP")
        c, h, w = a.c, a.h, a.w
        cg, n = -(-c // P), h * w
        t1 = self.act(f"{name}.t1", c, h, w, 1, "errors")
        t2 = self.act(f"{name}.t2", c, h, w, 1, "errors")
        for tt, src, sf in ((t1, ds, f"{name}.e1sf"), (t2, db, f"{name}.e2sf")):
            self.scale(ADD, tt.exp, src.exp, sf)
            for b in range(B):
                self.run(Prog.COPY, n, b, cg, c, x0=(src, Fmt.I32), code0=tt, shift=sf,
                         stochastic=True)
        din = self.act(f"{name}.din", c, h, w, 4, "sums")
        self.scale(MAX, din.exp, t1.exp, t2.exp, -(self.f.coef_bits - 2))
        for b in range(B):
            self.run(Prog.ADD, n, b, cg, c, x0=(t1, Fmt.CODE), x1=(t2, Fmt.CODE), raw0=din,
                     sa=t1.exp, sb=t2.exp)
        return din

    def fc_bp(self, name, ps, a, t, need):
        P, B = self.P, self.B
        self.where = (name, "BP")
        err = self.fc_err
        din = None
        if need:
            din = self.act(f"{name}.din", a.c, a.h, a.w, 4, "sums")
            self.scale(ADD, din.exp, err.exp, f"{name}.ewq")
            self.fp_bp(name, Mode(Phase.BP, 1, 1), ps, err, din, [0], out_vectors=True)
            self.count(B * ps.cin * ps.cout)
        self.where = (name, "WG")
        self.wg(name, ps, a, err, 1, vectors=ps.cin // P)
        self.count(B * ps.cin * ps.cout)
        self.scale(ADD, f"{name}.eg", a.exp, err.exp)
        self.update(name, ps, f"{name}.eg")
        return din

    def host_bp(self, name, spec, a, t, dz, need):
        self.where = (name, "BP")
        din = self.act(f"{name}.din", a.c, a.h, a.w, 4, "sums") if need else None
        self.host(f"{spec[0]}_bp", name, [dz.tensor, a.tensor],
                  [din.tensor] if din else [], spec=spec)
        return din


def compile_step(arch, in_shape, batch, cfg, double_buffer=True):
    """Compile one training step of `arch` on images of in_shape (C, H, W), batch `batch`;
    raises CompileError naming a layer the configuration cannot run."""
    try:
        check_arch(arch, in_shape, host_layers=True)
    except ValueError as exc:
        raise CompileError(str(exc)) from None
    net = _Net(cfg, batch, double_buffer)
    net.fwd = []
    c, h, w = in_shape
    x = net.act("input", c, h, w, 1, "activations", persistent=True)
    out = net.forward(arch, x)
    if net.fwd[-1][0] != "fc":
        raise CompileError("the network must end in an FC layer (the logits)")
    fc_ps = net.fwd[-1][3]
    net.where = ("softmax", "FP")
    net.fc_err = net.act("fc.err", fc_ps.cout_p, batch, 1, 1, "errors", batch=1,
                         persistent=True)
    net.host("softmax", "softmax", [out.tensor], [net.fc_err.tensor])
    net.backward(net.fwd, None, True)
    net.emit(End())
    net.plan.place()
    line = line_bytes(cfg)
    descs = [resolve(d, line) for d in net.descs]
    descs = add_tokens(descs, net.meta, cfg)
    return Step(cfg, arch, tuple(in_shape), batch, descs, net.meta, net.plan, net.slots,
                net.hosts, net.params, net.acts, net.macs, x, out, net.fc_err, net.fwd)
