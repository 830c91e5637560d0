"""Compile one training step of a network and write its program.

    python -m sim.compiler NETWORK [--batch 16] [--preset vc709] [--out step.bin]
                                    [--listing step.txt]

NETWORK: digits, ResNet18, CIFAR-ResNet20 or CIFAR-VGG16. Prints the DRAM plan and the
descriptor counts; --out writes the program's bytes (what the controller fetches), --listing
its disassembly.
"""

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

from hw.config import PRESETS
from sim.train.net import DIGITS_NET, NETWORKS

from . import program
from .compile import CompileError
from .step import compile_step


def main(argv=None):
    nets = {"digits": (DIGITS_NET, (1, 8, 8)), **NETWORKS}
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("network", choices=sorted(nets))
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--preset", choices=sorted(PRESETS), default="vc709")
    parser.add_argument("--out", help="write the program's bytes here")
    parser.add_argument("--listing", help="write the disassembly here")
    args = parser.parse_args(argv)
    cfg = PRESETS[args.preset]()
    arch, shape = nets[args.network]
    start = time.monotonic()
    try:
        step = compile_step(arch, shape, args.batch, cfg)
    except CompileError as exc:
        print(f"cannot compile {args.network} for '{cfg.name}': {exc}", file=sys.stderr)
        return 1
    took = time.monotonic() - start
    ops = Counter(d.op.name for d in step.descs)
    print(f"{args.network}, batch {args.batch}, preset '{cfg.name}': {len(step.descs)} "
          f"descriptors ({', '.join(f'{k} {v}' for k, v in ops.most_common())}) in "
          f"{took:.1f} s")
    kinds, footprint, no_reuse = step.plan.report()
    print(f"DRAM: {footprint / 1e6:.1f} MB ({no_reuse / 1e6:.1f} MB without reuse)")
    for kind, nbytes, count in kinds:
        print(f"  {kind:<18} {nbytes / 1e6:9.2f} MB in {count} tensors")
    for h in step.hosts:
        print(f"  host step {h.index}: {h.kind} ({h.layer})")
    if args.out:
        Path(args.out).write_bytes(program.encode(step.descs, cfg))
        print(f"program: {args.out}")
    if args.listing:
        Path(args.listing).write_text(program.disassemble(step.descs, cfg, step.meta,
                                                          step.slots) + "\n")
        print(f"listing: {args.listing}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
