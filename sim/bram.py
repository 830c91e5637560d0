"""On-chip memory budget in RAMB36 from the configuration (7-series block RAM).

    python -m sim.bram [--preset vc709]

A RAMB36 is 512 x 72, 1K x 36, 2K x 18, 4K x 9 ...; a RAMB18 half of it (512 x 36, 1K x 18,
...). A memory of `depth` words of `width` bits takes, per bank, the cheaper of whole
RAMB36s or pairs of RAMB18s at the aspect ratio its depth needs (what Vivado infers for a
simple dual-port memory).
"""

import argparse
import math

from hw.ccore import ccore_lanes
from hw.config import PRESETS
from hw.pint import pint_layout

__all__ = ["ramb36", "budget"]


def ramb36(depth, width):
    """RAMB36 equivalents for one depth x width memory."""
    # (depth limit, width) per configuration: RAMB36 then RAMB18.
    b36 = [(512, 72), (1024, 36), (2048, 18), (4096, 9), (8192, 4), (16384, 2), (32768, 1)]
    b18 = [(512, 36), (1024, 18), (2048, 9), (4096, 4), (8192, 2), (16384, 1)]
    best = []
    for table, cost in ((b36, 1.0), (b18, 0.5)):
        for limit, w in table:
            if depth <= limit:
                best.append(math.ceil(width / w) * cost)
                break
        else:
            best.append(math.ceil(depth / table[-1][0]) * width * cost)
    return min(best)


def budget(cfg):
    """[(memory, organisation, RAMB36)] for the configuration."""
    code = pint_layout(cfg.pint).size
    nb = cfg.pe_rows * cfg.wpus
    wbuf = (3 * cfg.clusters, 1 << cfg.wbuf_bits, cfg.pe_cols * code)
    ibuf = (nb, 1 << cfg.ibuf_bits, 2 * cfg.pe_cols * code)
    psum = (ccore_lanes(cfg), 1 << cfg.psum_bits, cfg.psum_sum_bits + 1)
    # An APU's channel buffer: two banks of (element, coefficient, flag), hw/apu.py.
    apu = (2 * cfg.apus, 1 << cfg.apu_buffer_bits, cfg.acore.word_bits + cfg.acore.coef_bits
           + 1)
    rows = []
    for name, (banks, depth, width) in (("weight buffer", wbuf), ("input buffer", ibuf),
                                         ("error buffer (WG)", ibuf),
                                         ("partial-sum buffer", psum),
                                         ("A-Core channel buffers", apu)):
        rows.append((name, f"{banks} x {depth} x {width} bits",
                     banks * ramb36(depth, width)))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="vc709", choices=sorted(PRESETS))
    args = parser.parse_args(argv)
    rows = budget(PRESETS[args.preset]())
    print("| memory | banks x words x width | RAMB36 |")
    print("|---|---|---:|")
    for name, org, n in rows:
        print(f"| {name} | {org} | {n:g} |")
    print(f"| **total** | | **{sum(n for *_, n in rows):g}** |")


if __name__ == "__main__":
    main()
