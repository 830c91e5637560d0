"""FPGA resource estimates with Debian's yosys: `synth_xilinx -family xc7 -flatten -noiopad`, then `stat`.

    python -m sim.resources [--preset vc709] [--out docs/resources.md] [--jobs 2] [module ...]

Two tables: the named blocks, each flattened; and the whole accelerator (`hw.top.Top`) as
units synthesized out of context, one per shared module (`hw.reuse`) and one for the top's
own logic, each with the shared modules it instantiates left as black boxes, multiplied by
how many times the hierarchy instantiates it. The sum is the whole design's estimate.

Needs `yosys` on PATH (Debian: apt-get install yosys; the Makefile target installs it).
These are yosys' counts, not Vivado's: an estimate to compare designs, not a sign-off.
"""

import argparse
import concurrent.futures
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from hw.config import PRESETS, configure
from hw.generate import MODULES
from sim.runner import to_verilog

DEFAULT_MODULES = ["pint_multiplier", "pint_mac", "pint_converter", "pe", "wpu", "divider", "apu"]
CELLS = ["DSP48E1", "LUT", "LUTRAM", "CARRY4", "FD", "RAMB36E1", "RAMB18E1", "MUXF7", "MUXF8"]
# Distributed RAM and shift registers, as the LUTs they take (a SLICEM's LUT6 each; Vivado
# counts them in its Slice LUTs as "LUT as Memory").
LUTRAM = {"RAM32M": 4, "RAM64M": 4, "RAM32X1D": 2, "RAM64X1D": 2, "RAM128X1D": 4,
          "RAM32X1S": 1, "RAM64X1S": 1, "RAM128X1S": 2, "RAM256X1S": 4, "SRL16E": 1,
          "SRLC32E": 1}


# The XC7VX690T (the VC709's part), and the issue's budget for the whole accelerator.
DEVICE = {"LUT": 433200, "FD": 866400, "DSP48E1": 3600, "RAMB36": 1470}
BUDGET = {"LUT": 200000, "DSP48E1": 1800, "RAMB36": 240}


# Where a register-to-register path ends: flip-flops, block RAMs, DSP48E1s (the MACs' P
# register is inside theirs, and the ALU before it is not counted), shift registers and
# distributed RAMs. `ltp` cannot tell a distributed RAM's synchronous write from its
# asynchronous read and would chain one FIFO's write enable to its read data; cut there,
# a path that reads one (address to data) is one cell longer than counted.
SEQUENTIAL = "t:FD* t:RAM* t:DSP48E1 t:SRL*"


def synth(verilog_text, top, boxes=(), timeout=None):
    """Run yosys on one module; return {cell class: count} and the longest path in cells
    between sequential cells or ports. `boxes`: module names left as black boxes (their
    cells are not counted, and the path stops at them)."""
    yosys = shutil.which("yosys")
    if yosys is None:
        raise SystemExit("yosys not found: apt-get install -y yosys (or run `make resources`)")
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "design.v"
        src.write_text(verilog_text)
        cut = f"delete {' '.join(f't:{b}' for b in boxes)}; " if boxes else ""
        # `ltp -noff` only knows yosys' own flip-flop cells: after synth_xilinx it walks
        # through FDRE and friends. Deleting the sequential cells cuts every path at them.
        script = (f"read_verilog {src}; synth_xilinx -family xc7 -flatten -noiopad -top {top}; "
                  f"stat; {cut}delete {SEQUENTIAL}; ltp -noff")
        res = subprocess.run([yosys, "-q", "-p", script, "-l", str(Path(tmp) / "log")],
                             capture_output=True, text=True, timeout=timeout)
        log = (Path(tmp) / "log").read_text() if (Path(tmp) / "log").exists() else ""
    if res.returncode != 0:
        raise RuntimeError(f"yosys failed on {top}:\n{res.stderr[-3000:]}")
    depth = re.findall(r"Longest topological path .*?\(length=(\d+)\)", log)
    return cell_counts(log), int(depth[-1]) if depth else None


def cell_counts(log):
    """{CELLS class: count} from the last `stat` of a yosys log; LUTRAM in LUTs."""
    stat = log[log.rfind("Printing statistics"):]
    counts = {}
    for cell, n in re.findall(r"^\s+(\w+)\s+(\d+)\s*$", stat, re.M):
        if cell in LUTRAM:
            key, n = "LUTRAM", int(n) * LUTRAM[cell]
        else:
            key = next((c for c in CELLS if cell.startswith(c)), None)
        if key is not None:
            counts[key] = counts.get(key, 0) + int(n)
    return counts


def luts(counts):
    """Slice LUTs: logic and memory."""
    return counts.get("LUT", 0) + counts.get("LUTRAM", 0)


_MODULE = re.compile(r"^module (\\\S+|\w+)\s*\(", re.M)
_INSTANCE = re.compile(r"^\s+(\\\S+|\w+)\s+(\\\S+|\w+)\s*\($", re.M)
_SHARED = re.compile(r"^\w+_[0-9a-f]{8}$")         # hw.reuse's module names
_PORT = re.compile(r"^\s+(?:input|output)\b[^;]*;$", re.M)


def modules(text):
    """{module name: its Verilog} of a design's text (attributes kept with their module)."""
    out = {}
    for block in re.split(r"^endmodule\s*$", text, flags=re.M):
        found = _MODULE.search(block)
        if found:
            out[found.group(1)] = block.strip("\n") + "\nendmodule\n"
    return out


def instances(body, names):
    """{module name: times} that one module's Verilog instantiates."""
    out = {}
    for kind, _ in _INSTANCE.findall(body):
        if kind in names:
            out[kind] = out.get(kind, 0) + 1
    return out


def _stub(body):
    """A black box with the module's ports."""
    head = body[body.index("module "):]
    head = head[:head.index(";") + 1]
    return "(* blackbox *)\n" + head + "\n" + "\n".join(_PORT.findall(body)) + "\nendmodule\n"


def units(text, top):
    """The design cut into units: [(root, Verilog of the root and the non-shared modules
    under it with shared ones as black boxes, the black boxes' names, instance count)]."""
    mods = modules(text)
    names = set(mods)
    edges = {n: instances(b, names) for n, b in mods.items()}
    count = {top: 1}
    order, seen = [], set()

    def visit(n):                  # (post-order: every parent after its children)
        if n in seen:
            return
        seen.add(n)
        for child in edges[n]:
            visit(child)
        order.append(n)
    visit(top)
    for n in reversed(order):      # (parents first)
        for child, times in edges[n].items():
            count[child] = count.get(child, 0) + count[n] * times
    out = []
    for root in [top] + sorted(n for n in order if _SHARED.match(n) and n != top):
        members, boxes, pending = [], set(), [root]
        while pending:
            n = pending.pop()
            if n in members:
                continue
            members.append(n)
            for child in edges[n]:
                if _SHARED.match(child):
                    boxes.add(child)
                else:
                    pending.append(child)
        verilog = "\n".join([mods[n] for n in members] + [_stub(mods[b]) for b in sorted(boxes)])
        out.append((root, verilog, sorted(boxes), count[root]))
    return out


def whole(cfg, jobs=2, timeout=3600):
    """Markdown lines: the whole accelerator, unit by unit, and its total."""
    from hw.top import Top
    text = to_verilog(Top(cfg), "top", jobs=jobs)
    cut = units(text, "top")
    with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        futures = {root: pool.submit(synth, verilog, root, boxes, timeout)
                   for root, verilog, boxes, _ in cut}
        results = {}
        for root, _, _, times in cut:
            try:
                results[root] = futures[root].result()
            except subprocess.TimeoutExpired:
                results[root] = None
            print(f"{root}: x{times} {results[root]}", flush=True)
    macs = cfg.macs
    total = {c: 0 for c in CELLS}
    lines = ["## The whole accelerator", "",
             f"`hw.top.Top` of preset `{cfg.name}` ({macs} MACs) cut into units: one per shared "
             "module (`hw.reuse`), synthesized out of context with the shared modules it "
             "instantiates as black boxes, and the top's own logic (`top`: controller, DMA, "
             "registers and the wrappers). Each unit's count is per instance; `x` is how many "
             "times the hierarchy instantiates it.", "",
             "| unit | x | " + " | ".join(CELLS) + " | depth | LUT + LUTRAM, all |",
             "|---|---:|" + "---:|" * (len(CELLS) + 2)]
    missing = []
    for root, _, _, times in sorted(cut, key=lambda u: -luts((results[u[0]] or ({}, 0))[0])
                                    * u[3]):
        if results[root] is None:
            missing.append(root)
            lines.append(f"| {root} | {times} | " + " | ".join("?" for _ in CELLS)
                         + f" | ? | timed out after {timeout} s |")
            continue
        counts, depth = results[root]
        for c in CELLS:
            total[c] += counts.get(c, 0) * times
        lines.append(f"| {root} | {times} | " + " | ".join(str(counts.get(c, 0)) for c in CELLS)
                     + f" | {depth} | {luts(counts) * times} |")
    ramb36 = total["RAMB36E1"] + total["RAMB18E1"] / 2
    lines.append("| **total** | | " + " | ".join(f"**{total[c]}**" for c in CELLS) + " | | |")
    used = {"LUT": luts(total), "FD": total["FD"], "DSP48E1": total["DSP48E1"],
            "RAMB36": ramb36}
    lines += ["", "| resource | whole accelerator | XC7VX690T | share | budget (issue 13) |",
              "|---|---:|---:|---:|---:|"]
    for k, v in used.items():
        budget = f"{BUDGET[k]}" + (" (over)" if v > BUDGET[k] else "") if k in BUDGET else "-"
        lines.append(f"| {k} | {v:g} | {DEVICE[k]} | {100 * v / DEVICE[k]:.0f}% | {budget} |")
    lines += ["", f"**{luts(total) / macs:.0f} LUTs per MAC** ({luts(total)} LUTs for {macs} "
              "MACs; LUT here is logic and LUTRAM together, Vivado's Slice LUTs; RAMB36 "
              "counts a RAMB18 as half).", ""]
    if missing:
        lines += [f"Not finished within {timeout} s, so missing from the total: "
                  f"{', '.join(missing)}.", ""]
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description="yosys synth_xilinx resource estimates")
    parser.add_argument("--preset", choices=sorted(PRESETS), default="vc709")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a configuration field (as `make verilog`)")
    parser.add_argument("--out", default="docs/resources.md")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--no-whole", action="store_true",
                        help="only the named blocks, not the whole accelerator")
    parser.add_argument("modules", nargs="*", default=DEFAULT_MODULES)
    args = parser.parse_args(argv)
    cfg = configure(args.preset, None, args.set)
    version = subprocess.run(["yosys", "-V"], capture_output=True, text=True).stdout.strip() \
        if shutil.which("yosys") else "?"
    lines = [
        "# Resource estimates",
        "",
        f"Produced by `make resources` (`python -m sim.resources`), preset `{cfg.name}`, with "
        f"{version}: `synth_xilinx -family xc7 -flatten -noiopad`, then `stat` and `ltp -noff` (logic depth in "
        "cells between registers or ports, with the sequential cells deleted first). Yosys' counts, not Vivado's.",
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
    lines += ["", "LUT counts all LUT1..LUT6 (logic); LUTRAM the LUTs of distributed RAM and "
              "shift registers (a RAM32M is 4); FD counts all flip-flop kinds; depth is the cell "
              "count of the longest combinational path between flip-flops, block and distributed "
              "RAMs, DSP48E1s, shift registers and ports (`ltp -noff` after deleting those cells; "
              "a carry chain counts every CARRY4; a path reading a distributed RAM is one cell "
              "longer than counted), a rough timing indicator only.", ""]
    if not args.no_whole:
        lines += whole(cfg, args.jobs)
    Path(args.out).write_text("\n".join(lines))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    sys.exit(main())
