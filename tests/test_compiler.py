"""The compiler: what it refuses (named), the DRAM plan (live tensors never share memory),
the tokens (balanced), and the paper's three networks compile with their host steps."""

import pytest

from hw.config import small, vc709
from hw.isa.program import Op, Unit
from sim.compiler.compile import CompileError
from sim.compiler.step import compile_step
from sim.train.net import DIGITS_NET, NETWORKS

FC = ("fc", 8 * 8 * 8, 10)


@pytest.mark.parametrize("arch,shape,cfg,match", [
    ([("conv", 1, 8, 5, 1), FC], (1, 8, 8), small(),
     r"layer 0 \('conv', 1, 8, 5, 1\): .*kernels are 1 or 3 \(7, stride 2, as the first"),
    ([("conv", 1, 8, 3, 1), ("conv", 8, 8, 7, 2), ("fc", 8 * 4 * 4, 10)], (1, 8, 8), small(),
     r"layer 1 \('conv', 8, 8, 7, 2\)"),
    ([("conv", 1, 8, 3, 1), ("fc", 8 * 32 * 32, 10)], (1, 32, 32), small(),
     r"conv1: a 32x32 channel has 1024 elements; L1-FRN needs the whole channel in an APU "
     r"buffer of 256"),
    ([("conv", 1, 8, 3, 1), ("fc", 8 * 2 * 40, 10)], (1, 2, 40), small(),
     r"conv1: a row of 40 columns makes 40 partial sums; the buffer holds 32"),
    ([("conv", 1, 8, 3, 1)], (1, 8, 8), small(), r"must end in an FC layer"),
    (DIGITS_NET, (1, 8, 8), small().replace(apus=4),
     r"needs apus == clusters == pe_cols, not 4, 2, 2"),
])
def test_networks_the_hardware_cannot_hold_are_refused(arch, shape, cfg, match):
    with pytest.raises(CompileError, match=match):
        compile_step(arch, shape, 2, cfg)


@pytest.mark.parametrize("cfg", [small(), vc709()], ids=lambda c: c.name)
def test_live_tensors_never_share_memory(cfg):
    step = compile_step(DIGITS_NET, (1, 8, 8), 3, cfg)
    plan = step.plan
    ts = [t for t in plan.tensors if t.first is not None or t.persistent]
    size = lambda t: -(-t.nbytes // plan.line) * plan.line
    for i, a in enumerate(ts):
        assert a.addr % plan.line == 0 and a.addr + size(a) <= plan.footprint
        for b in ts[i + 1:]:
            live = a.persistent or b.persistent or not (a.last < b.first or b.last < a.first)
            apart = a.addr + size(a) <= b.addr or b.addr + size(b) <= a.addr
            assert apart or not live, f"{a.name} and {b.name} overlap while both live"
    kinds, footprint, no_reuse = plan.report()
    assert footprint < no_reuse                  # dead tensors' memory is reused
    assert {k for k, _, _ in kinds} >= {"weights (PINT)", "weights (master)", "velocities",
                                        "activations", "errors", "frn params", "gradients"}


def test_tokens_balance_and_point_backwards():
    step = compile_step(DIGITS_NET, (1, 8, 8), 2, small())
    for v in Unit:
        for u in Unit:
            sig = [i for i, d in enumerate(step.descs) if d.unit == v and d.signal & u]
            wai = [i for i, d in enumerate(step.descs) if d.unit == u and d.wait & v]
            assert len(sig) == len(wai), f"{v.name}->{u.name}"
            assert all(s < w for s, w in zip(sig, wai))     # never waits on a later one


@pytest.mark.parametrize("name", list(NETWORKS))
def test_the_papers_networks_compile(name):
    arch, shape = NETWORKS[name]
    step = compile_step(arch, shape, 2, vc709())
    hosts = [h.kind for h in step.hosts]
    assert hosts.count("softmax") == 1 and step.descs[-1].op == Op.END
    expect = {"ResNet18": {"conv_fp", "maxpool_fp", "gap_fp", "maxpool_bp", "gap_bp",
                           "conv_bp"},
              "CIFAR-ResNet20": {"gap_fp", "gap_bp"},
              "CIFAR-VGG16": {"maxpool_fp", "maxpool_bp"}}[name]
    assert set(hosts) - {"softmax"} == expect
    assert sum(step.macs.values()) > 0
