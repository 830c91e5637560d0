"""The network description shared by the three numerics, its initialization, and the float32
and uniform-INT8 (paper Eq. 8) versions. The PINT8 version is `sim.train.pint_net`.

A network is a list of layers:
  ("conv", cin, cout, k, stride)   convolution (pad k // 2), then L1-FRN, then TLU
  ("res", [layers], shortcut)      the layers in sequence, plus the shortcut: the input, or
                                   a ("conv", ...) of it (a projection); shortcut optional
  ("fc", cin, cout)                fully connected on the flattened map; the logits
and, for the accelerator's compiler only (it runs them as host steps):
  ("conv", cin, cout, 7, 2)        a 7x7 stem (first layer only)
  ("maxpool", k, stride, pad)      max-pool
  ("gap",)                         global average pool
The numpy training models (FloatNet, PintNet) run conv 1x1 / 3x3, res and fc.
"""

import numpy as np

from sim.golden import acore_float as frn
from sim.golden.conv import conv_bp, conv_fp, conv_wg, fc_bp, fc_fp, fc_wg

__all__ = ["DIGITS_NET", "ODD_NET", "ODD_INPUT", "TINY_NET", "TINY_INPUT", "NETWORKS", "check_arch", "init_params",
           "build_layers", "FloatNet", "Int8Quant"]

F32 = np.float32

# 8x8 digits: 16 maps of 8x8, 32 maps of 4x4 (stride 2), a residual block, a 1x1 conv, FC.
DIGITS_NET = [
    ("conv", 1, 16, 3, 1),
    ("conv", 16, 32, 3, 2),
    ("res", [("conv", 32, 32, 3, 1), ("conv", 32, 32, 3, 1)]),
    ("conv", 32, 32, 1, 1),
    ("fc", 32 * 4 * 4, 10),
]

# Odd sizes: channel counts that are not multiples of the lanes (padding lanes in the
# A-Core), an 11 x 13 input, stride 2 onto odd sizes, 1x1 layers at stride 1 and 2 (the
# DMA's subsampled loads, BP's spread stores, WG as 3x3 stride 2), an FC on a padded vector.
ODD_NET = [("conv", 3, 5, 3, 1), ("conv", 5, 6, 3, 2), ("res", [("conv", 6, 6, 3, 1)]),
           ("conv", 6, 7, 1, 1), ("conv", 7, 5, 1, 2), ("fc", 5 * 3 * 4, 10)]
ODD_INPUT = (3, 11, 13)

# One conv layer (FP with L1-FRN + TLU, BP, WG, SGD) and the FC: a whole step short enough for
# the VC709 top under Verilator.
TINY_NET = [("conv", 3, 8, 3, 1), ("fc", 8 * 4 * 4, 10)]
TINY_INPUT = (3, 4, 4)


def _basic(cin, cout, stride):
    """A ResNet basic block: two 3x3 convs, a 1x1 stride-2 projection where the shape
    changes."""
    branch = [("conv", cin, cout, 3, stride), ("conv", cout, cout, 3, 1)]
    if stride == 1 and cin == cout:
        return ("res", branch)
    return ("res", branch, ("conv", cin, cout, 1, stride))


def _resnet18():
    arch = [("conv", 3, 64, 7, 2), ("maxpool", 3, 2, 1)]
    c = 64
    for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
        arch += [_basic(c, cout, stride), _basic(cout, cout, 1)]
        c = cout
    return arch + [("gap",), ("fc", 512, 1000)]


def _resnet20():
    arch = [("conv", 3, 16, 3, 1)]
    c = 16
    for cout, stride in ((16, 1), (32, 2), (64, 2)):
        arch += [_basic(c, cout, stride), _basic(cout, cout, 1), _basic(cout, cout, 1)]
        c = cout
    return arch + [("gap",), ("fc", 64, 10)]


def _vgg16():
    arch, c = [], 3
    for stage in ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512)):
        for cout in stage:
            arch.append(("conv", c, cout, 3, 1))
            c = cout
        arch.append(("maxpool", 2, 2))
    return arch + [("fc", 512, 10)]


# The paper's three benchmark networks (Table III), as (description, input [C, H, W]); every
# conv is conv + L1-FRN + TLU. ResNet shortcuts that change shape are 1x1 stride-2 convs.
NETWORKS = {
    "ResNet18": (_resnet18(), (3, 224, 224)),
    "CIFAR-ResNet20": (_resnet20(), (3, 32, 32)),
    "CIFAR-VGG16": (_vgg16(), (3, 32, 32)),
}


def _flat(arch):
    for layer in arch:
        if layer[0] == "res":
            yield from _flat(layer[1])
        else:
            yield layer


def check_arch(arch, in_shape, host_layers=False, _top=True):
    """Raise ValueError naming the first layer that cannot follow its input [C, H, W]
    (host_layers: also accept what the compiler runs on the host)."""
    c, h, w = in_shape
    for i, layer in enumerate(arch):
        kind = layer[0]
        if kind == "conv":
            _, cin, cout, k, s = layer
            stem = host_layers and _top and i == 0 and k == 7 and s == 2
            if cin != c or (k not in (1, 3) and not stem) or s not in (1, 2):
                stem_note = " (7, stride 2, as the first layer)" if host_layers else ""
                raise ValueError(f"layer {i} {layer}: input has {c} channels; kernels are 1 "
                                 f"or 3{stem_note}, strides 1 or 2")
            c, h, w = cout, (h + 2 * (k // 2) - k) // s + 1, (w + 2 * (k // 2) - k) // s + 1
        elif kind == "res":
            out = check_arch(layer[1], (c, h, w), host_layers, False)
            if len(layer) > 2:
                short = check_arch([layer[2]], (c, h, w), host_layers, False)
                if short != out:
                    raise ValueError(f"layer {i}: the shortcut makes {short}, the branch {out}")
            elif out != (c, h, w):
                raise ValueError(f"layer {i}: a residual branch must keep the shape {(c, h, w)}"
                                 f", not make {out}")
            c, h, w = out
        elif kind in ("maxpool", "gap") and host_layers:
            if kind == "gap":
                h = w = 1
            else:
                k, s = layer[1], layer[2]
                pad = layer[3] if len(layer) > 3 else 0
                h, w = (h + 2 * pad - k) // s + 1, (w + 2 * pad - k) // s + 1
        elif kind == "fc":
            if layer[1] != c * h * w or i != len(arch) - 1 or not _top:
                raise ValueError(f"layer {i} {layer}: the FC layer comes last and takes "
                                 f"{c * h * w} inputs")
            return (layer[2],)
        else:
            raise ValueError(f"layer {i}: unknown kind {kind!r}")
    return c, h, w


def init_params(arch, seed):
    """He-normal weights; FRN gamma = 1, beta = 0, TLU tau = 0 (a ReLU at the start)."""
    rng = np.random.default_rng(seed)
    params = []
    for layer in _flat(arch):
        if layer[0] == "conv":
            _, cin, cout, k, _ = layer
            w = rng.normal(0, np.sqrt(2 / (cin * k * k)), (cout, cin, k, k))
            params.append({"w": w, "gamma": np.ones(cout), "beta": np.zeros(cout),
                           "tau": np.zeros(cout)})
        else:
            params.append({"w": rng.normal(0, np.sqrt(1 / layer[1]), (layer[2], layer[1]))})
    return params


class Int8Quant:
    """Uniform INT8 (Eq. 8): s = max|x| / 2^(k-1), q = clamp(round(x / s)), x ~ q s.

    Weights and activations round to nearest, errors stochastically, as the PINT8 version.
    """

    def __init__(self, rng, k=8):
        self.rng, self.k = rng, k

    def __call__(self, x, stochastic=False):
        m = float(np.max(np.abs(x)))
        if m == 0:
            return x
        s = m / (1 << (self.k - 1))
        y = x / s
        y = np.floor(y + self.rng.random(y.shape)) if stochastic else np.round(y)
        return (np.clip(y, -(1 << (self.k - 1)), (1 << (self.k - 1)) - 1) * s).astype(F32)


def _none(x, stochastic=False):
    return x


class _Conv:
    def __init__(self, spec, p, quant):
        _, self.cin, self.cout, self.k, self.s = spec
        self.p = {n: np.asarray(v, F32) for n, v in p.items()}
        self.v = {n: np.zeros_like(v) for n, v in self.p.items()}
        self.quant = quant

    def forward(self, a):
        self.a = self.quant(a)
        self.wq = self.quant(self.p["w"])
        x = conv_fp(self.a, self.wq, self.s, self.k // 2, F32)
        b, c, h, w = x.shape
        y, self.lam, self.xhat = frn.frn_forward(x.reshape(b * c, h * w),
                                                 np.tile(self.p["gamma"], b),
                                                 np.tile(self.p["beta"], b))
        z, self.bitmap = frn.tlu_forward(y, np.tile(self.p["tau"], b))
        self.shape = x.shape
        return z.reshape(x.shape).astype(F32)

    def backward(self, dz, need_input_grad=True):
        b, c, h, w = self.shape
        dy, dtau = frn.tlu_backward(dz.reshape(b * c, h * w), self.bitmap)
        dx, dgamma, dbeta = frn.frn_backward(dy, np.tile(self.p["gamma"], b), self.lam,
                                             self.xhat)
        e = self.quant(dx.reshape(self.shape).astype(F32), stochastic=True)
        self.g = {"w": conv_wg(self.a, e, self.k, self.s, self.k // 2, F32),
                  "gamma": dgamma.reshape(b, c).sum(0), "beta": dbeta.reshape(b, c).sum(0),
                  "tau": dtau.reshape(b, c).sum(0)}
        if need_input_grad:
            return conv_bp(e, self.wq, self.a.shape, self.s, self.k // 2, F32)
        return None


class _Fc:
    def __init__(self, spec, p, quant):
        self.p = {"w": np.asarray(p["w"], F32)}
        self.v = {"w": np.zeros_like(self.p["w"])}
        self.quant = quant

    def forward(self, a):
        self.shape = a.shape
        self.a = self.quant(a.reshape(a.shape[0], -1))
        self.wq = self.quant(self.p["w"])
        return fc_fp(self.a, self.wq, F32)

    def backward(self, dlogits, need_input_grad=True):
        e = self.quant(dlogits.astype(F32), stochastic=True)
        self.g = {"w": fc_wg(self.a, e, F32)}
        return fc_bp(e, self.wq, F32).reshape(self.shape)


def build_layers(arch, params, unit, residual=lambda branch: branch):
    """[(kind, unit(spec, params) or residual(branch layers))], params taken in order."""
    it = iter(params)

    def walk(arch):
        out = []
        for spec in arch:
            if spec[0] == "res" and len(spec) > 2 or spec[0] not in ("conv", "res", "fc") \
                    or spec[0] == "conv" and spec[3] not in (1, 3):
                raise ValueError(f"{spec}: the numpy training models run conv 1x1 / 3x3, "
                                 f"res with an identity shortcut and fc only")
            out.append(("res", residual(walk(spec[1]))) if spec[0] == "res"
                       else (spec[0], unit(spec, next(it))))
        return out
    return walk(arch)


class FloatNet:
    """The network in float32 (quant=None) or with uniform INT8 tensors (quant=Int8Quant)."""

    def __init__(self, arch, params, quant=None):
        self.quant = quant or _none
        self.layers = build_layers(arch, params, lambda spec, p: (
            _Conv if spec[0] == "conv" else _Fc)(spec, p, self.quant))

    def units(self, layers=None):
        for kind, unit in (self.layers if layers is None else layers):
            yield from (self.units(unit) if kind == "res" else [unit])

    def forward(self, x, train=True):
        return self._fwd(self.layers, x.astype(F32))

    def _fwd(self, layers, a):
        for kind, unit in layers:
            a = a + self._fwd(unit, a) if kind == "res" else unit.forward(a)
        return a

    def backward(self, dlogits):
        self._bwd(self.layers, dlogits, first=True)

    def _bwd(self, layers, d, first=False):
        for i in range(len(layers) - 1, -1, -1):
            kind, unit = layers[i]
            need = not (first and i == 0)
            d = d + self._bwd(unit, d) if kind == "res" else unit.backward(d, need)
        return d

    def step(self, lr, momentum):
        for unit in self.units():
            for n in unit.p:
                w, v = frn.sgd_momentum(unit.p[n], unit.v[n], unit.g[n], lr, momentum)
                unit.p[n], unit.v[n] = w.astype(F32), v.astype(F32)
