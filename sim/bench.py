"""C-Core compute benchmark: layer tiles of every pattern through a VC709-sized WPU (RTL,
Verilator), cycles against the ideal, PE utilization, GOPS of the full array at 200 MHz.

    python -m sim.bench [--out docs/bench_ccore.md]

The clusters and WPUs of the array run in lockstep on their own windows, so one WPU's
utilization is the array's for a tile that fills it. Useful MACs are those of Eq. 1-6 for
the tile (each product of a weight, or an error, with an input once; never an inserted zero).
"""

import argparse
from pathlib import Path

from hw.config import vc709
from hw.wpu import Wpu
from sim.golden import conv, pe
from sim.golden.pe import Phase
from sim.runner import run_bench

CLOCK_HZ = 200e6

# (label, mode, h, w): h x w is the map the tile's rows are read from (FP, WG, 1x1: the
# input map; BP: the error map).
TILES = [
    ("3x3 FP s1, 56x56", pe.Mode(Phase.FP, 1, 3), 56, 56),
    ("3x3 FP s1, 14x14", pe.Mode(Phase.FP, 1, 3), 14, 14),
    ("3x3 FP s1, 7x7", pe.Mode(Phase.FP, 1, 3), 7, 7),
    ("3x3 BP s1, 56x56", pe.Mode(Phase.BP, 1, 3), 56, 56),
    ("3x3 WG s1, 56x56", pe.Mode(Phase.WG, 1, 3), 56, 56),
    ("3x3 FP s2, 56x56 -> 28x28", pe.Mode(Phase.FP, 2, 3), 56, 56),
    ("3x3 BP s2, 28x28 -> 55x55", pe.Mode(Phase.BP, 2, 3), 28, 28),
    ("3x3 WG s2, 56x56 / 28x28", pe.Mode(Phase.WG, 2, 3), 56, 56),
    ("1x1 FP/BP, 28x28", pe.Mode(Phase.FP, 1, 1), 28, 28),
    ("1x1 WG, 28x28", pe.Mode(Phase.WG, 1, 1), 28, 28),
]


def useful_macs(mode, h, w, cfg):
    """Products of Eq. 1-6 in one WPU tile (one output channel of 3x3 layers, pe_cols input
    channels; 1x1: three output channels per PE row)."""
    ph, s, k = mode
    cols, rows = cfg.pe_cols, cfg.pe_rows
    if k == 1:
        return h * w * cols * 3 * (rows if ph == Phase.WG else 1)
    if ph == Phase.BP:
        return h * w * 9 * cols                       # one product per error and tap
    oh, ow = conv.out_size(h, 3, s, 1), conv.out_size(w, 3, s, 1)
    return oh * ow * 9 * cols


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/bench_ccore.md")
    args = parser.parse_args(argv)
    cfg = vc709()
    wpu_macs = cfg.pe_rows * cfg.pe_cols * cfg.macs_per_pe
    tiles = [{"label": l, "mode": list(m), "h": h, "w": w} for l, m, h, w in TILES]
    results = run_bench(Wpu(cfg), "wpu_bench", "sim.tb.bench_wpu", cfg, "ETA_BENCH_TILES",
                        tiles)
    peak = cfg.macs * 2 * CLOCK_HZ / 1e9
    lines = [
        "# C-Core compute benchmark",
        "",
        f"Produced by `make bench` (`python -m sim.bench`): each tile runs through one "
        f"VC709-sized WPU ({cfg.pe_rows}x{cfg.pe_cols} PEs, {wpu_macs} MACs) under Verilator "
        "with no stalls, and its result is checked against the golden model. Cycles run from "
        "the first input transfer to the last result. Ideal = useful MACs / MACs available; "
        "utilization = ideal / cycles. GOPS: the full array "
        f"({cfg.macs} MACs, peak {peak:.1f} GOPS at 200 MHz) at that utilization, 2 "
        "operations per useful MAC.",
        "",
        "| tile | useful MACs | cycles | ideal | utilization | GOPS @ 200 MHz |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        mode = pe.Mode(*r["mode"])
        macs = useful_macs(mode, r["h"], r["w"], cfg)
        ideal = macs / wpu_macs
        util = ideal / r["cycles"]
        lines.append(f"| {r['label']} | {macs} | {r['cycles']} | {ideal:.0f} | "
                     f"{100 * util:.1f}% | {util * peak:.0f} |")
    lines += ["", "Rows are fed with their padding (FP, WG) or the zeros BP stride 1 needs at "
              "its edges, one beat each; that is what separates small maps from the ideal.", ""]
    Path(args.out).write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
