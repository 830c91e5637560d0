# amaranth: UnusedElaboratable=no
"""Weight buffer and two-level weight network: layout properties and the RTL's reads."""

import numpy as np
import pytest

from hw.config import small, vc709
from hw.weight_buffer import WeightBuffer
from sim.golden import weight_buffer as golden
from sim.runner import run_cocotb


@pytest.mark.parametrize("cfg", [small(), vc709()], ids=["small", "vc709"])
def test_layout_is_one_copy_and_conflict_free(cfg):
    """Every entry has its own (bank, address); every read of every pattern touches 3K
    distinct banks, over a sweep of layer shapes."""
    k, p = cfg.clusters, cfg.pe_cols
    rng = np.random.default_rng(1)
    for shape in [(k, p, 3, 3), (3 * k, 2 * p, 3, 3), (2 * k, 5 * p, 3, 3),
                  (3 * k, 3 * k), (6 * k, 9 * k)]:
        w = rng.integers(0, 256, shape)
        img = golden.image(w, cfg)
        assert len(img) == w.size // p                      # one copy, nothing overwritten
        assert max(a for _, a in img) < 1 << cfg.wbuf_bits
        cout, cin = shape[:2]
        per = 3 * k if len(shape) == 2 else k
        for bp in (0, 1):
            for g in range((cin if bp else cout) // per):
                for b in range((cout if bp else cin) // p):
                    for u in ([0] if len(shape) == 2 else range(3)):
                        touched = golden.reads(w, bp, g, b, u, cfg)
                        assert len({bank for bank, _ in touched}) == 3 * k
                        # The view is made of exactly the entries the reads touch.
                        view = golden.view(w, bp, g, b, u, cfg)
                        vals = sorted(v for clus in view for col in clus for v in col)
                        assert vals == sorted(v for t in touched for v in img[t])


def test_bad_layers_are_named():
    cfg = small()
    with pytest.raises(ValueError, match="pad the channels"):
        golden.image(np.zeros((3, 2, 3, 3), int), cfg)
    with pytest.raises(ValueError, match="split the layer"):
        golden.image(np.zeros((64, 64, 3, 3), int), cfg)
    with pytest.raises(ValueError, match="clusters == pe_cols"):
        WeightBuffer(cfg.replace(pe_cols=4))


def test_weight_buffer_rtl():
    cfg = small()
    run_cocotb(WeightBuffer(cfg), "weight_buffer", "sim.tb.tb_weight_buffer", cfg)
