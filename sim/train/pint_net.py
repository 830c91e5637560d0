"""The network of `sim.train.net` as the accelerator computes it: the golden model, bit-exact.

Every tensor the C-Core reads is PINT(8,3) with a power-of-two scale: activations (converted
to nearest), errors (stochastic rounding from the converter's LFSR), weights (converted to
nearest from the 32-bit master copy the A-Core updates). Convolutions are exact integer sums
saturated to 32 bits; L1-FRN, TLU, SGD and the residual add are the fixed-point A-Core
(`sim.golden.acore`). Each converter takes its shift from the previous pass over the same
tensor (in-hindsight scaling, a calibration pass the first time). The host computes softmax
and cross-entropy in float and quantizes the logits' gradient to PINT.
"""

import numpy as np

from hw.config import EtaConfig
from sim.golden import acore, convert, pint
from sim.golden.conv import conv_bp, conv_fp, conv_wg, fc_bp, fc_fp, fc_wg, saturate

from .net import build_layers

__all__ = ["PintNet"]

STORE_BITS = 32      # master weights and velocities in memory
W_HEADROOM = 3       # master weights may grow 2^3 beyond their initial max before saturating
V_HEADROOM = 5       # velocities may reach 2^5 x the first gradient's max


class Hindsight:
    """The shift a converter uses for one tensor: from the max |x| of the previous pass."""

    def __init__(self, cfg):
        self.cfg, self.max_abs = cfg, None

    def shift(self, x, update=True):
        m = int(np.max(np.abs(x), initial=0))
        sf = convert.next_shift(m if self.max_abs is None else self.max_abs, self.cfg)
        if update:
            self.max_abs = m
        return sf


class Lfsr:
    """The A-Core converters' random sources: one LFSR per lane (APU). A map [B, C, H, W] is
    converted lane by lane as the hardware does: lane k takes channels k, k + apus, ...
    (padding channels included), image by image, channel by channel, element by element in
    raster order."""

    def __init__(self, seed, lanes):
        self.states = [lane_seed(seed, k) for k in range(lanes)]


def lane_seed(seed, k):
    """The seed of lane k's LFSR for a run seeded `seed` (never 0)."""
    return ((seed * 0x9E37_79B1) ^ (0x85EB_CA77 * (k + 1))) & 0xFFFF_FFFF or 1


def _stochastic(x, sf, lfsr, cfg):
    """Stochastic conversion of a map x [B, C, H, W] (32-bit ints), lane by lane."""
    b, c, h, w = x.shape
    lanes = len(lfsr.states)
    cp = -(-c // lanes) * lanes
    xp = np.zeros((b, cp, h, w), np.int64)
    xp[:, :c] = x
    codes = np.zeros_like(xp)
    for k in range(lanes):
        seq = xp[:, k::lanes]
        got, lfsr.states[k] = convert.convert(seq.ravel(), sf, convert.STOCHASTIC,
                                              lfsr.states[k], cfg)
        codes[:, k::lanes] = got.reshape(seq.shape)
    return codes[:, :c]


def _sat32(x, cfg):
    return saturate(x, cfg.acc_bits)[0]


def _to_pint(x, e, hs, mode, cfg, lfsr=None, update=True):
    """Integers x with LSB 2^e -> (decoded PINT t, exponent), through the converter
    (stochastic: a map, lane by lane, `Lfsr`)."""
    x = _sat32(x, cfg)
    sf = hs.shift(x, update)
    if mode == convert.STOCHASTIC:
        codes = _stochastic(x, sf, lfsr, cfg)
    else:
        codes, _ = convert.convert(x.ravel(), sf, mode, 1, cfg)
    return pint.decode(codes, cfg.pint).reshape(x.shape), e + sf


class _Param:
    """A parameter tensor in memory: 32-bit master, 32-bit velocity, their exponents."""

    def __init__(self, value, exp, cfg):
        self.e_w = exp
        self.w = np.round(np.ldexp(value, -exp)).astype(np.int64)
        self.v = np.zeros_like(self.w)
        self.e_v = None
        self.cfg = cfg

    @classmethod
    def weights(cls, value, cfg):
        top = float(np.max(np.abs(value)))
        exp = int(np.ceil(np.log2(top))) + W_HEADROOM - (STORE_BITS - 1)
        return cls(value, exp, cfg)

    def update(self, g, e_g, lr, momentum):
        if self.e_v is None:  # the host picks the velocity scale from the first gradient
            top = max(float(np.max(np.abs(g))), 1.0)
            self.e_v = e_g + int(np.ceil(np.log2(top))) + V_HEADROOM - (STORE_BITS - 1)
            self.e_v = max(self.e_v, e_g - (self.cfg.acore.coef_bits - 2))
        coefs = acore.sgd_coefs(lr, momentum, self.e_w, self.e_v, e_g, self.cfg)
        self.w, self.v = acore.sgd_momentum(self.w, self.v, g, coefs, STORE_BITS, self.cfg)


class _Conv:
    def __init__(self, spec, p, net):
        _, self.cin, self.cout, self.k, self.s = spec
        cfg = self.cfg = net.cfg
        self.net = net
        frac = cfg.acore.param_frac
        self.w = _Param.weights(p["w"], cfg)
        self.frn = {n: _Param(p[n], -frac, cfg) for n in ("gamma", "beta", "tau")}
        self.hs = {n: Hindsight(cfg) for n in ("w", "z", "e")}

    def params(self):
        return [self.w, *self.frn.values()]

    def forward(self, a, ea, train):
        cfg = self.cfg
        self.wq, self.ewq = _to_pint(self.w.w, self.w.e_w, self.hs["w"], convert.NEAREST_EVEN,
                                     cfg, update=train)
        self.a, self.ea = a, ea
        x = _sat32(conv_fp(a, self.wq, self.s, self.k // 2), cfg)
        self.ex = ea + self.ewq
        b, c, h, w = x.shape
        z, self.state = acore.frn_tlu_forward(
            x.reshape(b * c, h * w), *(np.tile(self.frn[n].w, b) for n in ("gamma", "beta",
                                                                             "tau")), cfg=cfg)
        return _to_pint(z.reshape(x.shape), -cfg.acore.xhat_frac, self.hs["z"],
                        convert.NEAREST_EVEN, cfg, update=train)

    def backward(self, dz, e_dz, need_input_grad=True):
        cfg = self.cfg
        b, c, h, w = dz.shape
        dx, dgamma, dbeta, dtau = acore.frn_tlu_backward(
            dz.reshape(b * c, h * w), self.state, np.tile(self.frn["gamma"].w, b), cfg)
        e_dx = e_dz - self.ex + acore.dx_exp_offset(self.state, cfg)
        e, ee = _to_pint(dx.reshape(dz.shape), e_dx, self.hs["e"], convert.STOCHASTIC, cfg,
                         self.net.lfsr)
        g = _sat32(conv_wg(self.a, e, self.k, self.s, self.k // 2), cfg)
        word = cfg.acore.word_bits
        # The per-image sums of the FRN gradients accumulate over the batch in the APU.
        self.grads = [(g, self.ea + ee),
                      (acore.sat(dgamma.reshape(b, c).sum(0), word),
                       e_dz + cfg.acore.xhat_exp),
                      (acore.sat(dbeta.reshape(b, c).sum(0), word), e_dz),
                      (acore.sat(dtau.reshape(b, c).sum(0), word), e_dz)]
        if need_input_grad:
            return _sat32(conv_bp(e, self.wq, self.a.shape, self.s, self.k // 2), cfg), \
                ee + self.ewq
        return None, None


class _Fc:
    def __init__(self, spec, p, net):
        self.cfg, self.net = net.cfg, net
        self.w = _Param.weights(p["w"], net.cfg)
        self.hs = Hindsight(net.cfg)

    def params(self):
        return [self.w]

    def forward(self, a, ea, train):
        self.shape = a.shape
        self.wq, self.ewq = _to_pint(self.w.w, self.w.e_w, self.hs, convert.NEAREST_EVEN,
                                     self.cfg, update=train)
        self.a, self.ea = a.reshape(a.shape[0], -1), ea
        return _sat32(fc_fp(self.a, self.wq), self.cfg), ea + self.ewq

    def backward(self, e, ee, need_input_grad=True):
        self.grads = [(_sat32(fc_wg(self.a, e), self.cfg), self.ea + ee)]
        return _sat32(fc_bp(e, self.wq), self.cfg).reshape(self.shape), ee + self.ewq


class PintNet:
    """Same interface as FloatNet: forward(x) -> float logits, backward(dlogits), step()."""

    def __init__(self, arch, params, seed=1, cfg=EtaConfig()):
        self.cfg = cfg
        self.lfsr = Lfsr(seed, cfg.apus)
        self.rng = np.random.default_rng(seed)
        # A residual block keeps the converters of its sum and of its two error inputs.
        self.layers = build_layers(
            arch, params, lambda spec, p: (_Conv if spec[0] == "conv" else _Fc)(spec, p, self),
            lambda branch: (branch, {n: Hindsight(cfg) for n in ("fwd", "e1", "e2")}))

    def units(self, layers=None):
        for kind, unit in (self.layers if layers is None else layers):
            yield from (self.units(unit[0]) if kind == "res" else [unit])

    def forward(self, x, train=True):
        codes, e = pint.quantize(x, "nearest", fmt=self.cfg.pint)
        t, e = self._fwd(self.layers, pint.decode(codes, self.cfg.pint), e, train)
        return np.ldexp(t.astype(np.float64), e)

    def _fwd(self, layers, a, ea, train):
        for kind, unit in layers:
            if kind == "res":
                branch, hs = unit
                z, ez = self._fwd(branch, a, ea, train)
                s, es = acore.residual_add(z, ez, a, ea, self.cfg)
                a, ea = _to_pint(s, es, hs["fwd"], convert.NEAREST_EVEN, self.cfg, update=train)
            else:
                a, ea = unit.forward(a, ea, train)
        return a, ea

    def backward(self, dlogits):
        codes, e = pint.quantize(dlogits, "stochastic", self.rng, self.cfg.pint)
        self._bwd(self.layers, pint.decode(codes, self.cfg.pint), e, first=True)

    def _bwd(self, layers, d, ed, first=False):
        """d: the C-Core's integer error at this point (PINT t for the logits)."""
        for i in range(len(layers) - 1, -1, -1):
            kind, unit = layers[i]
            if kind == "res":
                branch, hs = unit
                db, edb = self._bwd(branch, d, ed)
                # Both errors as PINT, added by the A-Core (the shortcut carries d unchanged).
                t1, e1 = _to_pint(d, ed, hs["e1"], convert.STOCHASTIC, self.cfg, self.lfsr)
                t2, e2 = _to_pint(db, edb, hs["e2"], convert.STOCHASTIC, self.cfg, self.lfsr)
                d, ed = acore.residual_add(t1, e1, t2, e2, self.cfg)
            else:
                d, ed = unit.backward(d, ed, not (first and i == 0))
        return d, ed

    def step(self, lr, momentum):
        for unit in self.units():
            for p, (g, e_g) in zip(unit.params(), unit.grads):
                p.update(g, e_g, lr, momentum)
