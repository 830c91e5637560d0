"""Whole networks on the cycle model: one training step of ResNet18, CIFAR-ResNet20 and
CIFAR-VGG16 compiled for the VC709 preset and timed by `sim.perf` (no Verilator), into
docs/bench_networks.md and a latency-breakdown figure per network (the paper's Figs. 11-13).

    python -m sim.bench_networks [--batch 16] [--out docs]
"""

import argparse
import time
from pathlib import Path

from hw.config import vc709
from sim import perf
from sim.compiler.step import compile_step
from sim.golden import ccore
from sim.train.net import NETWORKS

# Table III of the paper: images/s and GOPS (the GOPS of the ResNets count the zeros that
# stride-2 layers insert), and its PE utilization (Section V).
PAPER = {"ResNet18": (59.2, 811.25, 91.2), "CIFAR-ResNet20": (2352.9, 658.64, 83.1),
         "CIFAR-VGG16": (326.5, 610.98, 88.6)}
KINDS = ["weights (PINT)", "weights (master)", "velocities", "gradients", "frn params",
         "sgd coefficients", "activations", "errors", "sums", "frn state", "frn gradients"]
SHOWN = ["Calc", "A-Core", "RdAct", "RdWt", "WrOut", "RdFRN", "WrFRN", "RdWU", "WrWU", "RdSum",
         "WrSum", "WrGrad"]


def run(name, batch, cfg, dram):
    arch, shape = NETWORKS[name]
    t0 = time.monotonic()
    step = compile_step(arch, shape, batch, cfg)
    compile_s = time.monotonic() - t0
    r = perf.simulate(step.descs, step.meta, cfg, dram)
    return step, r, compile_s


def summary(name, step, r, cfg, compile_s):
    macs = sum(step.macs.values())
    seconds = r.cycles / perf.CLOCK_HZ
    per_image = seconds / step.batch
    util = macs / (r.cycles * cfg.macs)
    gops = 2 * macs / seconds / 1e9
    return {"name": name, "batch": step.batch, "cycles": r.cycles, "ms": per_image * 1e3,
            "ips": 1 / per_image, "gops": gops, "util": util, "macs": macs / step.batch,
            "descs": len(step.descs), "compile": compile_s, "hosts": len(step.hosts),
            "dram_mb": sum(v for k, v in r.bytes.items()) / step.batch / 1e6,
            "busy": {u.name: b / r.cycles for u, b in r.busy.items()}, "bytes": r.bytes,
            "footprint": step.plan.footprint}


def layer_rows(step, r, cfg, dram):
    """Per (layer, phase): cycles each resource spent (C-Core, A-Core, DRAM per category),
    and the wall-clock span."""
    bpc = dram.bytes_per_cycle(cfg)
    rows = []
    for (layer, phase), rec in r.by_layer.items():
        if not layer or rec["start"] is None or layer == "softmax":
            continue
        row = {"layer": layer, "phase": phase, "span": rec["end"] - rec["start"],
               "Calc": rec["calc"], "A-Core": rec["acore"],
               "macs": step.macs.get((layer, phase), 0)}
        for c in perf.CATEGORIES:
            row[c] = rec.get(c, 0) / bpc
        rows.append(row)
    return rows


def figure(name, rows, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    phases = ["FP", "BP", "WG", "WU"]
    fig, axes = plt.subplots(len(phases), 1, figsize=(max(8, 0.28 * len(rows) / 2 + 4), 11))
    colors = plt.get_cmap("tab20").colors
    from matplotlib.patches import Patch
    used = [c for c in SHOWN if any(r[c] for r in rows)]
    for ax, ph in zip(axes, phases):
        sel = [r for r in rows if r["phase"] == ph]
        xs = range(len(sel))
        bottom = [0.0] * len(sel)
        for i, cat in enumerate(SHOWN):
            vals = [r[cat] / 1e3 for r in sel]
            if not any(vals):
                continue
            ax.bar(xs, vals, bottom=bottom, color=colors[i % 20], width=0.8)
            bottom = [b + v for b, v in zip(bottom, vals)]
        ax.plot(xs, [r["span"] / 1e3 for r in sel], "k_", markersize=10, mew=2)
        ax.set_xticks(list(xs))
        ax.set_xticklabels([r["layer"].split(".")[-1] for r in sel], rotation=90, fontsize=6)
        ax.set_ylabel(f"{ph}: kcycles")
    handles = [Patch(color=colors[SHOWN.index(c) % 20], label=c) for c in used]
    handles.append(plt.Line2D([], [], color="k", marker="_", ls="", mew=2, label="elapsed"))
    fig.legend(handles=handles, ncol=len(handles), fontsize=7, loc="lower center")
    fig.suptitle(f"{name}: time each resource spends per layer and phase (stacked) and the "
                 f"layer's elapsed time (black), one training step")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def model_vs_rtl(cfg):
    """The cycle model on every row of docs/bench_tiles.md."""
    from sim.bench_tiles import TILES
    text = Path("docs/bench_tiles.md").read_text().splitlines()
    rows = [l.split("|") for l in text if l.startswith("| ") and not l.startswith("| network")]
    out = []
    for (net, label, mode, cin, cout, h, w), row in zip(TILES, rows):
        layer = ccore.Layer(mode, cin, cout, h, w, cfg)
        got = perf.tile_cycles(ccore.tiles(layer), cfg)
        rtl = int(row[6])
        out.append(f"| {net} | {label} | {layer.mode!r} | {rtl} | {got} | "
                   f"{100 * (got - rtl) / rtl:+.2f}% |")
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--out", default="docs")
    args = parser.parse_args(argv)
    cfg, dram = vc709(), perf.Dram()
    out = Path(args.out)
    results, hosts = [], {}
    for name in NETWORKS:
        for batch in (args.batch, 1):
            print(f"{name}, batch {batch} ...", flush=True)
            step, r, cs = run(name, batch, cfg, dram)
            s = summary(name, step, r, cfg, cs)
            results.append(s)
            if batch == args.batch:
                s["whatif"] = [
                    sum(step.macs.values()) / (perf.simulate(
                        step.descs, step.meta, cfg, perf.Dram(ports=ports),
                        write_banks=banks).cycles * cfg.macs)
                    for ports, banks in ((2, False), (1, True), (2, True))]
                rows = layer_rows(step, r, cfg, dram)
                png = out / f"bench_networks_{name}.png"
                figure(name, rows, png)
                s["rows"] = rows
                hosts[name] = [(h.layer, h.kind) for h in step.hosts]
                s["step"] = step
    lines = write(results, hosts, cfg, dram, args.batch)
    (out / "bench_networks.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines[:40]))


def write(results, hosts, cfg, dram, batch):
    lines = [
        "# Whole networks on the cycle model",
        "",
        "Produced by `make bench-networks` (`python -m sim.bench_networks`): each network is "
        "compiled (`sim.compiler.compile_step`) for the VC709 preset and its training step "
        "(FP, BP, WG and the weight update of one batch) timed by the cycle model "
        f"(`sim.perf`). DRAM: {dram.describe(cfg)}. Useful work counts 2 operations per MAC "
        "of Eq. 1-6 of the real layers (no padding channels, no inserted zeros). Host steps "
        "(softmax, and the layers the hardware cannot run yet) take no accelerator time here "
        "and are listed below.",
        "",
        "## One training step",
        "",
        "| network | batch | time per image (ms) | images/s | useful GOPS at 200 MHz | PE "
        "utilization | C-Core / A-Core / loads / stores busy | DRAM per image (MB) | "
        "descriptors | compile (s) | DRAM footprint (MB) |",
        "|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|",
    ]
    for s in results:
        b = s["busy"]
        lines.append(
            f"| {s['name']} | {s['batch']} | {s['ms']:.2f} | {s['ips']:.1f} | "
            f"{s['gops']:.0f} | {100 * s['util']:.1f}% | {100 * b['CC']:.0f}% / "
            f"{100 * b['AC']:.0f}% / {100 * b['LD']:.0f}% / {100 * b['ST']:.0f}% | "
            f"{s['dram_mb']:.1f} | {s['descs']} | {s['compile']:.1f} | "
            f"{s['footprint'] / 1e6:.1f} |")
    lines += [
        "",
        "The paper (Table III, VC709, 200 MHz, with DRAM time), beside ours at batch "
        f"{batch}: its GOPS for the ResNets count the zeros stride-2 layers insert; "
        "'useful' is its images/s times the useful operations per image of our description "
        "of the same network.",
        "",
        "| network | paper images/s | paper GOPS | paper PE utilization | paper useful GOPS "
        "(ours per image) | ours images/s | ours useful GOPS | ours PE utilization |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in results:
        if s["batch"] != batch:
            continue
        ips, gops, util = PAPER[s["name"]]
        lines.append(f"| {s['name']} | {ips} | {gops} | {util}% | "
                     f"{2 * s['macs'] * ips / 1e9:.0f} | {s['ips']:.1f} | {s['gops']:.0f} | "
                     f"{100 * s['util']:.1f}% |")
    lines += ["", f"What the model says two changes would give (PE utilization, batch {batch}): "
              "a second AXI port (both SODIMMs), the buffers taking one entry per bank per "
              "cycle instead of one per cycle, both:", "",
              "| network | today | 2 AXI ports | one entry per bank per cycle | both |",
              "|---|---:|---:|---:|---:|"]
    for s in results:
        if s["batch"] == batch:
            lines.append(f"| {s['name']} | {100 * s['util']:.1f}% | " + " | ".join(
                f"{100 * u:.1f}%" for u in s["whatif"]) + " |")
    lines += ["", f"DRAM bytes per image by category (batch {batch}; RdSum and WrSum are the "
              "C-Core's 32-bit sums on their way to the A-Core through DRAM):", "",
              "| network | " + " | ".join(perf.CATEGORIES) + " | total (MB) |",
              "|---|" + "---:|" * (len(perf.CATEGORIES) + 1)]
    for s in results:
        if s["batch"] == batch:
            tot = sum(s["bytes"].values())
            lines.append(f"| {s['name']} | " + " | ".join(
                f"{100 * s['bytes'][c] / tot:.0f}%" for c in perf.CATEGORIES)
                + f" | {tot / s['batch'] / 1e6:.1f} |")
    lines += ["", f"The DRAM plan at batch {batch} (MB): every tensor of the step, with the "
              "memory of dead ones reused (`sim/compiler/plan.py`):", "",
              "| network | " + " | ".join(KINDS) + " | footprint | without reuse |",
              "|---|" + "---:|" * (len(KINDS) + 2)]
    for s in results:
        if s["batch"] == batch:
            kinds, foot, no_reuse = s["step"].plan.report()
            by = {k: b for k, b, _ in kinds}
            lines.append(f"| {s['name']} | " + " | ".join(f"{by.get(k, 0) / 1e6:.1f}"
                                                          for k in KINDS)
                         + f" | {foot / 1e6:.1f} | {no_reuse / 1e6:.1f} |")
    lines += ["", "## Where the time goes", ""]
    for s in results:
        if s["batch"] != batch:
            continue
        rows = sorted(s["rows"], key=lambda r: -r["span"])[:8]
        lines += [f"**{s['name']}** (figure: `bench_networks_{s['name']}.png`; the eight "
                  f"longest layer phases; spans overlap, so they do not add up to the step):",
                  "",
                  "| layer | phase | elapsed (kcycles) | C-Core | A-Core | loads (RdAct + RdWt) "
                  "| useful PE utilization |",
                  "|---|---|---:|---:|---:|---:|---:|"]
        for r in rows:
            u = r["macs"] / (r["span"] * cfg.macs) if r["span"] else 0
            lines.append(f"| {r['layer']} | {r['phase']} | {r['span'] / 1e3:.0f} | "
                         f"{r['Calc'] / 1e3:.0f} | {r['A-Core'] / 1e3:.0f} | "
                         f"{(r['RdAct'] + r['RdWt']) / 1e3:.0f} | {100 * u:.0f}% |")
        lines.append("")
    lines += ["## What runs where", "",
              "Everything not listed runs on the accelerator. Host steps (HOST descriptors: "
              "the controller drains every unit and stops; the host reads and writes the "
              "tensors named in the program, then resumes it):", ""]
    for name, hs in hosts.items():
        kinds = {}
        for layer, kind in hs:
            kinds.setdefault(kind, []).append(layer)
        lines.append(f"- {name}: " + "; ".join(f"{k} ({', '.join(v)})"
                                                for k, v in kinds.items()))
    lines += [
        "",
        "On the accelerator, every conv layer's FP, BP (but the first layer's) and WG, "
        "L1-FRN + TLU forward and backward, the residual adds and the conversions of "
        "errors, SGD of weights and FRN parameters (after the batch sums of the FRN "
        "gradients, the SUM program). FC layers run as 1x1 layers on the batch; 1x1 and "
        "FC WG as the centre tap of 3x3 WG (9x the products of a 1x1 layer's WG, counted "
        "as 1x in useful work).",
        "",
        "## The cycle model against the RTL",
        "",
        "Every row of `docs/bench_tiles.md` (whole C-Core from its buffers, measured under "
        "Verilator) with the cycle model's C-Core rules (`sim/perf.py`); "
        "`tests/test_perf.py` holds each within 3%.",
        "",
        "| network | layer tile | pattern | RTL cycles | model cycles | difference |",
        "|---|---|---|---:|---:|---:|",
    ] + model_vs_rtl(cfg) + ["", NOTES]
    return lines


NOTES = """## Reading the numbers

- The model times the hardware as built today, through the program the compiler makes.
  What it shows as the limits (see the busy columns and the figures):
  - **Buffer writes**: the input, error and weight buffers take one entry per cycle
    (16 and 8 bytes), far below the DRAM's 64 bytes per cycle; layers whose maps or
    weights are reloaded often (small maps, many channels, and the WG windows) wait on
    their loads ('loads busy').
  - **The C-Core's sums go to DRAM** (32 bits each) and come back for the A-Core
    (RdSum / WrSum); the paper streams them directly.
  - **Small maps** keep the tile overheads of `docs/bench_tiles.md` (padding beats, row
    groups, 4 cycles per tile change).
  - **1x1 and FC WG** run as the centre tap of 3x3 WG: nine times the products.
- Host steps are not timed: ResNet18's stem and max-pool (and their backward) and the
  pools of the other two networks leave the accelerator for the host.
"""


if __name__ == "__main__":
    main()
