"""The main job: the accelerator's top (`hw.top.Top`, the module Vivado takes) into Verilog
under build/verilog/<config name>/top.v, every block once inside it; `--all` writes every
block of `MODULES` as its own file instead (what `make lint` checks).

    python -m hw.generate [--preset vc709|small] [--config cfg.json] [--set key=value ...]
                          [--out build/verilog] [--all] [--jobs N]

A JSON configuration (any fields of `EtaConfig.to_json`) and key=value overrides
(`--set clusters=4 --set acore.word_bits=40`) apply over the preset; they are checked before
any Verilog is written.

(`python -m sim.lint` writes the same files and lints each with Verilator.)
"""

import argparse
import os
import sys
import time
from pathlib import Path

from .config import PRESETS, configure
from .acore import ACore
from .acore_unit import ACoreUnit
from .apu import Apu
from .array import CCoreArray
from .axi import AxiReadArbiter, AxiWriteArbiter
from .ccore import CCore
from .cluster import Cluster
from .controller import Controller
from .convert import PintConverter
from .divider import Divider
from .dma import DmaReader, DmaWriter
from .dma_hub import DmaHub
from .input_buffer import InputBuffer
from .lfsr import Lfsr
from .load import LoadUnit
from .tile_unit import TileUnit
from .top import READS, WRITES, Top
from .mac import PintMac
from .operands import OperandStreams
from .pe import Pe
from .pint import PintDecoder, PintDetector, PintMultiplier
from .psum_buffer import PsumBuffer
from .regs import Regs
from .results import ResultStreams
from .store import StoreUnit
from .verilog import to_verilog
from .weight_buffer import WeightBuffer
from .wpu import Wpu

__all__ = ["MODULES", "generate"]

# Top-module name -> constructor from the configuration. Every generated block is listed here
# once; lint and the tests walk the same list.

MODULES = {
    "pint_detector": lambda cfg: PintDetector(cfg.pint),
    "pint_decoder": lambda cfg: PintDecoder(cfg.pint),
    "pint_multiplier": lambda cfg: PintMultiplier(cfg.pint),
    "pint_mac": PintMac,
    "lfsr": Lfsr,
    "pint_converter": PintConverter,
    "pe": Pe,
    "wpu": Wpu,
    "cluster": Cluster,
    "ccore_array": CCoreArray,
    "weight_buffer": WeightBuffer,
    "input_buffer": InputBuffer,
    "psum_buffer": PsumBuffer,
    "ccore": CCore,
    "divider": Divider,
    "apu": Apu,
    "acore": ACore,
    "regs": Regs,
    "dma_reader": DmaReader,
    "dma_writer": DmaWriter,
    "load_unit": LoadUnit,
    "controller": Controller,
    "tile_unit": TileUnit,
    "store_unit": StoreUnit,
    "operand_streams": OperandStreams,
    "result_streams": ResultStreams,
    # The top's sharing of its AXI4 master: readers (fetch, load, A-Core operands and
    # parameters) and writers (STORE, A-Core results).
    "axi_read_arbiter": lambda cfg: AxiReadArbiter(len(READS), cfg.dram_addr_bits,
                                                   cfg.axi_data_bits),
    "axi_write_arbiter": lambda cfg: AxiWriteArbiter(len(WRITES), cfg.dram_addr_bits,
                                                     cfg.axi_data_bits),
    "dma_hub": lambda cfg: DmaHub(cfg, READS, WRITES),
    "acore_unit": ACoreUnit,
    "top": Top,
}


def generate(cfg, out, check=None, names=None, jobs=1):
    """Write one Verilog file per module of `names` (default: all of MODULES), each converted
    in `jobs` processes; return rows (name, path, lines, ports, status).

    `check(text, name, folder)`, if given, returns (ok, messages) for each file (the lint of
    `sim.lint`); status is then "clean" or "FAIL"."""
    out = Path(out) / cfg.name
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in names or MODULES:
        component = MODULES[name](cfg)
        text = to_verilog(component, name, jobs)
        path = out / f"{name}.v"
        path.write_text(text)
        ports = len(list(component.signature.flatten(component)))
        status = "-"
        if check is not None:
            ok, msg = check(text, name, out / "lint")
            status = "clean" if ok else "FAIL"
            if not ok:
                print(msg, file=sys.stderr)
        rows.append((name, path, text.count("\n"), ports, status))
    return rows


def main(argv=None, check=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", choices=sorted(PRESETS), default="vc709")
    parser.add_argument("--config", help="a JSON file of configuration fields")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override one field (repeatable)")
    parser.add_argument("--out", default="build/verilog")
    parser.add_argument("--all", action="store_true",
                        help="every block as its own file (default: the top alone)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="processes converting modules (default: one per core)")
    args = parser.parse_args(argv)
    try:
        text = Path(args.config).read_text() if args.config else None
        cfg = configure(args.preset, text, args.set)
    except (OSError, ValueError, TypeError) as exc:
        print(f"bad configuration: {exc}", file=sys.stderr)
        return 2
    start = time.monotonic()
    if args.jobs < 1:
        parser.error(f"--jobs must be at least 1, not {args.jobs}")
    rows = generate(cfg, args.out, check, None if args.all else ["top"], args.jobs)
    print(f"ETA Verilog, preset '{cfg.name}': {cfg.clusters} clusters x {cfg.wpus} WPUs x "
          f"{cfg.pe_rows}x{cfg.pe_cols} PEs x {cfg.macs_per_pe} MACs = {cfg.macs} MACs, "
          f"PINT({cfg.pint.k},{cfg.pint.d}), {cfg.acc_bits}-bit accumulators")
    print(f"{'module':<18} {'lines':>6} {'ports':>6} {'lint':>6}  file")
    for name, path, lines, ports, status in rows:
        print(f"{name:<18} {lines:>6} {ports:>6} {status:>6}  {path}")
    print(f"{len(rows)} modules in {time.monotonic() - start:.1f} s")
    return 1 if any(r[4] == "FAIL" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
