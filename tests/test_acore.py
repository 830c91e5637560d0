# amaranth: UnusedElaboratable=no
"""A-Core under Verilator: APUs in step plus PINT conversion, against the golden A-Core."""

import pytest

from hw.acore import ACore
from hw.config import small
from sim.runner import run_cocotb

CFG = small()


@pytest.mark.parametrize("case", ["frn_then_backward", "sgd_and_add"])
def test_acore(case):
    run_cocotb(ACore(CFG), "acore", "sim.tb.tb_acore", CFG, testcase=case)


def test_acore_rejects_bad_config():
    with pytest.raises(TypeError, match=r"'cfg' must be an EtaConfig"):
        ACore("small")


def test_acore_on_a_digits_layer(tmp_path):
    """The A-Core RTL on the second conv layer of the digits CNN: the pre-normalization sums
    and FRN parameters of the golden PINT8 network after two training steps (real data),
    with random errors for the backward pass."""
    import numpy as np

    from sim.golden import acore, convert
    from sim.golden.conv import conv_fp
    from sim.train.__main__ import digits, softmax_xent
    from sim.train.net import DIGITS_NET, init_params
    from sim.train.pint_net import PintNet, _sat32

    cfg = CFG
    xtr, ytr, _, _ = digits(seed=3)
    net = PintNet(DIGITS_NET, init_params(DIGITS_NET, 3), seed=3, cfg=cfg)
    for _ in range(2):                               # two training steps
        _, d = softmax_xent(net.forward(xtr[:8]), ytr[:8])
        net.backward(d)
        net.step(0.05, 0.9)
    net.forward(xtr[:8])                             # the layer's inputs of this step
    unit = list(net.units())[1]                      # conv 16 -> 32, stride 2, 4x4 maps
    x = _sat32(conv_fp(unit.a, unit.wq, unit.s, unit.k // 2), cfg)
    b, c, h, w = x.shape
    x = x[:1].reshape(c, h * w)[:4]                  # image 0, four channels
    params = {n: unit.frn[n].w[:4] for n in ("gamma", "beta", "tau")}
    z, st = acore.frn_tlu_forward(x, *params.values(), eps=1, cfg=cfg)
    dz = np.random.default_rng(3).integers(-(1 << 24), 1 << 24, x.shape)
    dx = acore.frn_tlu_backward(dz, st, params["gamma"], cfg)[0]
    np.savez(tmp_path / "layer.npz", x=x, dz=dz, **params,
             sf_z=convert.next_shift(int(np.max(np.abs(acore.sat(z, 32)))), cfg),
             sf_dx=convert.next_shift(int(np.max(np.abs(acore.sat(dx, 32)))), cfg))
    run_cocotb(ACore(cfg), "acore", "sim.tb.tb_acore", cfg, testcase="digits_layer",
               env={"ETA_LAYER_FILE": str(tmp_path / "layer.npz")})
