"""FPGA resource estimates with Debian's yosys: `synth_xilinx -family xc7 -flatten -noiopad`, then `stat`.

    python -m sim.resources [--preset vc709] [--out docs/resources.md] [module ...]

Needs `yosys` on PATH (Debian: apt-get install yosys; the Makefile target installs it).
These are yosys' counts, not Vivado's: an estimate to compare designs, not a sign-off.
"""

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from hw.config import PRESETS
from hw.generate import MODULES
from sim.runner import to_verilog

DEFAULT_MODULES = ["pint_multiplier", "pint_mac", "pint_converter", "pe", "wpu", "divider", "apu"]
CELLS = ["DSP48E1", "LUT", "CARRY4", "FD", "RAMB36E1", "RAMB18E1", "MUXF7", "MUXF8"]


def synth(verilog_text, top):
    """Run yosys on one module; return {cell class: count} and the longest LUT path."""
    yosys = shutil.which("yosys")
    if yosys is None:
        raise SystemExit("yosys not found: apt-get install -y yosys (or run `make resources`)")
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / f"{top}.v"
        src.write_text(verilog_text)
        script = f"read_verilog {src}; synth_xilinx -family xc7 -flatten -noiopad -top {top}; stat; ltp -noff"
        res = subprocess.run([yosys, "-q", "-p", script, "-l", str(Path(tmp) / "log")],
                             capture_output=True, text=True)
        log = (Path(tmp) / "log").read_text() if (Path(tmp) / "log").exists() else ""
    if res.returncode != 0:
        raise RuntimeError(f"yosys failed on {top}:\n{res.stderr[-3000:]}")
    stat = log[log.rfind("Printing statistics"):]
    counts = {}
    for cell, n in re.findall(r"^\s+(\w+)\s+(\d+)\s*$", stat, re.M):
        key = next((c for c in CELLS if cell.startswith(c)), None)
        if key is not None:
            counts[key] = counts.get(key, 0) + int(n)
    depth = re.findall(r"Longest topological path .*?\(length=(\d+)\)", log)
    return counts, int(depth[-1]) if depth else None


def main(argv=None):
    parser = argparse.ArgumentParser(description="yosys synth_xilinx resource estimates")
    parser.add_argument("--preset", choices=sorted(PRESETS), default="vc709")
    parser.add_argument("--out", default="docs/resources.md")
    parser.add_argument("modules", nargs="*", default=DEFAULT_MODULES)
    args = parser.parse_args(argv)
    cfg = PRESETS[args.preset]()
    version = subprocess.run(["yosys", "-V"], capture_output=True, text=True).stdout.strip() \
        if shutil.which("yosys") else "?"
    lines = [
        "# Resource estimates",
        "",
        f"Produced by `make resources` (`python -m sim.resources`), preset `{cfg.name}`, with "
        f"{version}: `synth_xilinx -family xc7 -flatten -noiopad`, then `stat` and `ltp -noff` (logic depth in "
        "cells between registers or ports). Yosys' counts, not Vivado's.",
        "",
        "| module | " + " | ".join(CELLS) + " | depth |",
        "|---|" + "---:|" * (len(CELLS) + 1),
    ]
    for name in args.modules:
        if name not in MODULES:
            raise SystemExit(f"unknown module {name!r}; known: {', '.join(MODULES)}")
        counts, depth = synth(to_verilog(MODULES[name](cfg), name), name)
        row = f"| {name} | " + " | ".join(str(counts.get(c, 0)) for c in CELLS) + f" | {depth} |"
        lines.append(row)
        print(row)
    lines += ["", "LUT counts all LUT1..LUT6; FD counts all flip-flop kinds; depth is the cell "
              "count of the longest combinational path (`ltp -noff`; a carry chain counts every "
              "CARRY4), a rough timing indicator only.", ""]
    Path(args.out).write_text("\n".join(lines))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    sys.exit(main())
