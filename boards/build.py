"""`make board`: the VC709 build plan (Verilog, XDC, Tcl, build script) into build/vc709/,
checked by `boards.check`; with Vivado on PATH, run to a bitstream.

    python -m boards.build [--design eta|blinky] [--preset vc709] [--config cfg.json]
                           [--set key=value ...] [--out build/vc709] [--jobs N] [--no-run]

`eta`: the accelerator (`boards.core` as module eta_core) in the block design of
`boards.system`, top `vc709_eta`. `blinky`: LEDs and the UART (`boards.blinky`), top
`vc709_blinky`. Reports Vivado writes (utilization, timing) are copied to docs/ as
`board_<design>_*.rpt`.
"""

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

from hw.config import PRESETS, configure

from .check import check_plan, clock_ports
from .vc709 import VC709Platform

__all__ = ["plan", "main", "VIVADO_VERSION"]

VIVADO_VERSION = "2023.2"          # what the Tcl targets (XDMA 4.1, MIG 4.2, SmartConnect 1.0)
CONSTRAINTS = Path(__file__).resolve().parent.parent / "constraints"
TOPS = {"eta": "vc709_eta", "blinky": "vc709_blinky"}


def plan(design, cfg=None, jobs=1):
    """(top name, BuildPlan, problems) of `design` ("eta" needs `cfg`)."""
    platform = VC709Platform()
    platform.add_file("vc709_common.xdc", (CONSTRAINTS / "vc709_common.xdc").read_text())
    hook = ""
    if design == "eta":
        from hw.verilog import to_verilog
        from .core import BoardCore
        from .mig import prj
        from .system import CORE, system_tcl
        from .top import BoardTop
        platform.add_file("vc709_accel.xdc", (CONSTRAINTS / "vc709_accel.xdc").read_text())
        platform.add_file(f"{CORE}.v", to_verilog(BoardCore(cfg), CORE, jobs))
        platform.add_file("vc709_ddr3.prj", prj())
        hook = system_tcl("vc709_ddr3.prj")
        top = BoardTop()
    elif design == "blinky":
        from .blinky import Blinky
        top = Blinky()
    else:
        raise ValueError(f"design must be one of {sorted(TOPS)}, not {design!r}")
    name = TOPS[design]
    result = platform.build(top, name=name, do_build=False, script_after_read=hook)
    return name, result, check_plan(result.files, name, clock_ports(platform), hook)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--design", choices=sorted(TOPS), default="eta")
    parser.add_argument("--preset", choices=sorted(PRESETS), default="vc709")
    parser.add_argument("--config", help="a JSON file of configuration fields")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--out", default="build/vc709")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--no-run", action="store_true", help="stop after the plan")
    parser.add_argument("--docs", default="docs", help="where Vivado's reports are copied")
    args = parser.parse_args(argv)
    cfg = None
    if args.design == "eta":
        try:
            text = Path(args.config).read_text() if args.config else None
            cfg = configure(args.preset, text, args.set)
        except (OSError, ValueError, TypeError) as exc:
            sys.exit(f"configuration: {exc}")
    t0 = time.time()
    name, result, problems = plan(args.design, cfg, args.jobs)
    out = Path(args.out)
    result.extract(out)
    print(f"build plan for {name} in {out}/ ({time.time() - t0:.0f} s)")
    if problems:
        print("\n".join(f"  problem: {p}" for p in problems), file=sys.stderr)
        sys.exit(f"{len(problems)} problems in the plan's constraints")
    print("checked: every port on a pin with a suitable I/O standard, every clock constrained,"
          " every file the Tcl reads present")
    vivado = shutil.which("vivado")
    if vivado is None or args.no_run:
        print(f"{'Vivado is not on PATH' if vivado is None else 'stopped after the plan'}: "
              f"to build the bitstream where Vivado {VIVADO_VERSION} is installed, run\n"
              f"  cd {out} && sh build_{name}.sh\n"
              f"then `make flash` loads {out}/{name}.bit onto the board")
        return
    subprocess.run(["sh", f"build_{name}.sh"], cwd=out, check=True)
    docs = Path(args.docs)
    for report in sorted(out.glob(f"{name}_*.rpt")):
        if "utilization" in report.name or "timing" in report.name:
            shutil.copy(report, docs / f"board_{args.design}_{report.name[len(name) + 1:]}")
    print(f"bitstream: {out}/{name}.bit; reports copied to {docs}/")


if __name__ == "__main__":
    main()
