"""The accelerator's top (RTL, small preset, Verilator) against the cycle model (`sim.perf`):
one compiled training step of `ODD_NET`, descriptor by descriptor, into docs/bench_top.md.

    python -m sim.bench_top [--batch 1] [--out docs]

The RTL side is the controller's own view: a descriptor is in flight at its unit from the
cycle the unit takes it to the cycle the unit says done (`inflight_*` in `hw.controller`,
sampled by `sim.tb.tb_top` with $ETA_TIMELINE). DRAM is cocotbext-axi's AxiRam without
pauses; the model's DRAM is its MIG estimate (`perf.Dram`). Per kind of descriptor, the
table sums the time each spent in flight (the model's: start to end); per layer and
phase, the span from its first descriptor's start to its last one's end.
"""

import argparse
import json
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

from hw.config import small
from hw.isa.program import WORD_BYTES, Op
from sim import perf
from sim.compiler.step import compile_step
from sim.train.net import ODD_INPUT, ODD_NET


def rtl_timeline(cfg, batch):
    """{descriptor index: (first cycle, done cycle)} and the RTL's total cycles."""
    from hw.top import Top
    from sim.runner import run_cocotb
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "timeline.json"
        run_cocotb(Top(cfg), "top", "sim.tb.tb_top", cfg, testcase="training_step",
                   env={"ETA_TIMELINE": str(path), "ETA_PAUSE": "0",
                        "ETA_BATCH": str(batch)})
        tl = json.loads(path.read_text())
    spans = {(addr - tl["base"]) // WORD_BYTES: (s, e) for _, addr, s, e in tl["spans"]}
    return spans, tl["cycles"]


def tables(step, spans, rtl_cycles, model):
    t0 = min(s for s, _ in spans.values())
    kinds = defaultdict(lambda: [0, 0, 0])
    layers = {}
    for i, d in enumerate(step.descs):
        if i not in spans:
            continue
        s, e = spans[i]
        k = kinds[d.op.name]
        k[0] += 1
        k[1] += e - s
        k[2] += model.ends[i] - model.starts[i]
        key = step.meta[i][:2]
        rec = layers.setdefault(key, [s - t0, e - t0, model.starts[i], model.ends[i]])
        rec[0], rec[1] = min(rec[0], s - t0), max(rec[1], e - t0)
        rec[2], rec[3] = min(rec[2], model.starts[i]), max(rec[3], model.ends[i])
    pct = lambda a, b: f"{100 * (a - b) / b:+.0f}%" if b else "-"
    lines = ["| descriptor | count | RTL cycles in flight | model | RTL vs model |",
             "|---|---:|---:|---:|---:|"]
    for name, (n, r, m) in kinds.items():
        lines.append(f"| {name} | {n} | {r} | {m:.0f} | {pct(r, m)} |")
    lines += ["", "| layer | phase | RTL start | RTL span | model start | model span | "
              "RTL vs model |", "|---|---|---:|---:|---:|---:|---:|"]
    for (layer, phase), (s, e, ms, me) in layers.items():
        lines.append(f"| {layer} | {phase} | {s} | {e - s} | {ms:.0f} | {me - ms:.0f} | "
                     f"{pct(e - s, me - ms)} |")
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--out", default="docs")
    args = parser.parse_args(argv)
    if args.batch < 1:
        parser.error("--batch must be at least 1")
    cfg = small()
    step = compile_step(ODD_NET, ODD_INPUT, args.batch, cfg)
    model = perf.simulate(step.descs, step.meta, cfg, perf.Dram())
    spans, rtl_cycles = rtl_timeline(cfg, args.batch)
    lines = [
        "# The top against the cycle model",
        "",
        "Produced by `make bench-top` (`python -m sim.bench_top`): one compiled training "
        f"step of `ODD_NET` (batch {args.batch}, {len(step.descs)} descriptors) on the "
        "small preset's top under Verilator (DRAM: AxiRam without pauses), against "
        "`sim.perf`. See the module's docstring for what is counted.",
        "",
        f"**Total: RTL {rtl_cycles} cycles (the CYCLES counter), model {model.cycles} "
        f"({100 * (rtl_cycles - model.cycles) / model.cycles:+.1f}%).** The issue's target "
        "is within 5%.",
        "",
    ] + tables(step, spans, rtl_cycles, model)
    out = Path(args.out) / "bench_top.md"
    out.write_text("\n".join(lines) + "\n")
    print(f"RTL {rtl_cycles} cycles, model {model.cycles}; {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
