"""The accelerator's top (RTL, small preset, Verilator) against the cycle model (`sim.perf`):
one compiled training step of `ODD_NET`, descriptor by descriptor, into docs/bench_top.md.

    python -m sim.bench_top [--batch 1] [--vc709] [--out docs] [--detail FILE]

With --vc709 the VC709 top's step of `TINY_NET` is compared too, as totals (its build, the
same as `make test`'s, takes about 6 minutes the first time).

The RTL side is the controller's own view: a descriptor is in flight at its unit from the
cycle the unit takes it to the cycle the unit says done (`issued_*` and `finished_*` in
`hw.controller`, sampled by `sim.tb.tb_top` with $ETA_TIMELINE). DRAM is cocotbext-axi's
AxiRam without pauses; the model's DRAM is its MIG estimate (`perf.Dram`). Per kind of
descriptor, the table sums the time each spent in flight (the model's: start to end); per
layer and phase, the cycles from the previous phase's last descriptor done to its own.
--detail writes every descriptor's span, RTL and model side by side (tab-separated), and
how far the RTL has fallen behind the model when it ends (the growth of that column shows
where the cycles go).
"""

import argparse
import json
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

from hw.config import small, vc709
from hw.isa.program import WORD_BYTES
from sim import perf
from sim.compiler.step import compile_step
from sim.train.net import ODD_INPUT, ODD_NET, TINY_INPUT, TINY_NET

# The MIG estimate of the network benches, and a DRAM like the testbench's AxiRam.
DRAMS = {"MIG": perf.Dram(), "testbench RAM": perf.TESTBENCH_RAM}


def rtl_timeline(cfg, batch):
    """{descriptor index: (first cycle, done cycle)} and the RTL's total cycles."""
    from hw.top import Top
    from sim.runner import INTERNALS, run_cocotb
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "timeline.json"
        run_cocotb(Top(cfg), "top", "sim.tb.tb_top", cfg, testcase="training_step",
                   env={"ETA_TIMELINE": str(path), "ETA_PAUSE": "0",
                        "ETA_BATCH": str(batch)}, build_args=INTERNALS)
        tl = json.loads(path.read_text())
    spans = {(addr - tl["base"]) // WORD_BYTES: (s, e) for _, addr, s, e in tl["spans"]}
    return spans, tl["cycles"]


def vc709_counters():
    """The counters after the VC709 top's step of TINY_NET (batch 1, AxiRam without
    pauses)."""
    from hw.top import Top
    from sim.runner import LARGE, run_cocotb, to_verilog
    cfg = vc709()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "counters.json"
        top = Top(cfg)
        run_cocotb(top, "top", "sim.tb.tb_top", cfg, testcase="training_step",
                   env={"ETA_NET": "tiny", "ETA_PAUSE": "0", "ETA_COUNTERS": str(path)},
                   build_args=LARGE, cxx_opt="-O0", verilog=to_verilog(top, "top", jobs=2))
        return json.loads(path.read_text())


def vc709_lines():
    cfg = vc709()
    step = compile_step(TINY_NET, TINY_INPUT, 1, cfg)
    counters = vc709_counters()
    rtl = counters["cycles"]
    cells = []
    for name, dram in DRAMS.items():
        cycles = perf.simulate(step.descs, step.meta, cfg, dram).cycles
        cells.append(f"{cycles} | {100 * (rtl - cycles) / cycles:+.0f}%")
    busy = ", ".join(f"{k} {counters[k]}" for k in ("cc_busy", "ac_busy", "ld_busy", "st_busy"))
    return ["", "## The VC709 top", "",
            f"One training step of `TINY_NET` (a 3x3 conv of 3 -> 8 channels on 4x4 images "
            f"with L1-FRN + TLU, and the FC; batch 1, {len(step.descs)} descriptors) on the "
            "VC709 top, totals only (the timeline needs every signal public, a build too long "
            f"to repeat). Busy cycles per unit (the counters): {busy}.", "",
            "| RTL cycles | model, MIG | RTL vs it | model, testbench RAM | RTL vs it |",
            "|---:|---:|---:|---:|---:|", f"| {rtl} | {' | '.join(cells)} |"]


def tables(step, spans, models):
    """Markdown tables: per kind of descriptor and per (layer, phase), the RTL against each
    of `models` ({name: perf.Result}). A layer's phase takes from the previous one's last
    descriptor done to its own last one done (a STORE is taken long before its sums
    come, so first starts would overlap)."""
    names = list(models)
    kinds = defaultdict(lambda: [0, 0] + [0] * len(names))
    ends = {}                               # (layer, phase) -> [RTL end, each model's end]
    for i, d in enumerate(step.descs):
        if i not in spans:
            continue
        s, e = spans[i]
        if d.op.name not in ("SCALE", "SYNC"):      # (run by the controller at once)
            k = kinds[d.op.name]
            k[0] += 1
            k[1] += e - s
            for j, r in enumerate(models.values()):
                k[2 + j] += r.ends[i] - r.starts[i]
        rec = ends.setdefault(step.meta[i][:2], [0] * (1 + len(names)))
        rec[0] = max(rec[0], e)
        for j, r in enumerate(models.values()):
            rec[1 + j] = max(rec[1 + j], r.ends[i])
    pct = lambda a, b: f"{100 * (a - b) / b:+.0f}%" if b else "-"
    head = " | ".join(f"model, {n} | RTL vs it" for n in names)
    rule = "---:|---:|" * len(names)
    lines = [f"| descriptor | count | RTL cycles in flight | {head} |", f"|---|---:|---:|{rule}"]
    for name, (n, r, *ms) in kinds.items():
        cells = " | ".join(f"{m:.0f} | {pct(r, m)}" for m in ms)
        lines.append(f"| {name} | {n} | {r} | {cells} |")
    lines += ["", f"| layer | phase | RTL cycles | {head} |", f"|---|---|---:|{rule}"]
    t0 = min(s for s, _ in spans.values())
    prev = [t0] + [0] * len(names)
    for (layer, phase), rec in ends.items():
        took = [b - a for a, b in zip(prev, rec)]
        cells = " | ".join(f"{m:.0f} | {pct(took[0], m)}" for m in took[1:])
        lines.append(f"| {layer} | {phase} | {took[0]} | {cells} |")
        prev = rec
    return lines


def detail(step, spans, model):
    """Tab-separated lines: each descriptor's RTL span and the model's, and the RTL's lag."""
    t0 = min(s for s, _ in spans.values())
    lines = ["i\top\tlayer\tphase\tnblk\trtl_start\trtl_end\trtl\tmodel_start\tmodel_end"
             "\tmodel\tlag"]
    for i, d in enumerate(step.descs):
        if i not in spans:
            continue
        s, e = spans[i][0] - t0, spans[i][1] - t0
        ms, me = int(model.starts[i]), int(model.ends[i])
        nblk = d.nblk if d.op.name == "TILE" else ""
        lines.append("\t".join(str(x) for x in (
            i, d.op.name, *step.meta[i][:2], nblk, s, e, e - s, ms, me, me - ms, e - me)))
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--vc709", action="store_true",
                        help="also the VC709 top's step of TINY_NET (totals)")
    parser.add_argument("--out", default="docs")
    parser.add_argument("--detail", help="also write every descriptor's spans to this file")
    args = parser.parse_args(argv)
    if args.batch < 1:
        parser.error("--batch must be at least 1")
    cfg = small()
    step = compile_step(ODD_NET, ODD_INPUT, args.batch, cfg)
    models = {name: perf.simulate(step.descs, step.meta, cfg, dram)
              for name, dram in DRAMS.items()}
    spans, rtl_cycles = rtl_timeline(cfg, args.batch)
    def total(name):
        cycles = models[name].cycles
        return f"model with the {name} {cycles} ({100 * (rtl_cycles - cycles) / cycles:+.1f}%)"
    lines = [
        "# The top against the cycle model",
        "",
        "Produced by `make bench-top` (`python -m sim.bench_top`): one compiled training "
        f"step of `ODD_NET` (batch {args.batch}, {len(step.descs)} descriptors) on the "
        "small preset's top under Verilator (DRAM: AxiRam without pauses), against "
        "`sim.perf` with two DRAM models: the MIG estimate the network benches use "
        f"({perf.DRAM_LAT} cycles to first data) and one like the testbench's RAM "
        f"({DRAMS['testbench RAM'].latency} cycles, the whole bus every cycle). See the "
        "module's docstring for what is counted.",
        "",
        f"**Total: RTL {rtl_cycles} cycles (the CYCLES counter); {total('MIG')}; "
        f"{total('testbench RAM')}.** The issue's target is within 5%; the fair comparison "
        "is the second (the RTL ran against that RAM).",
        "",
    ] + tables(step, spans, models)
    if args.vc709:
        lines += vc709_lines()
    if args.detail:
        Path(args.detail).write_text(
            "\n".join(detail(step, spans, models["testbench RAM"])) + "\n")
    out = Path(args.out) / "bench_top.md"
    out.write_text("\n".join(lines) + "\n")
    print(f"RTL {rtl_cycles} cycles; {total('MIG')}; {total('testbench RAM')}; {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
