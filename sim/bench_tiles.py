"""C-Core benchmark from the buffers: tiles of real layers (ResNet18 on ImageNet,
CIFAR-ResNet20, CIFAR-VGG16) through the whole C-Core in RTL: input, error and weight
buffers, the array, the partial-sum buffer.

    python -m sim.bench_tiles [--preset vc709] [--out docs/bench_tiles.md]

A layer tile is all of a layer's input channels, a band of its rows (whatever the input
buffer holds) and a block of its output channels (whatever the weight buffer holds), run as
the descriptors of `sim.golden.ccore.tiles`, checked against the golden model. Cycles run
from the first descriptor taken to the last sum out. Useful MACs are the products of
Eq. 1-6 for the real channels (padding taps of the map counted, as in docs/bench_ccore.md;
zero channels added to fill the array not counted).
"""

import argparse
from pathlib import Path

from hw.ccore import CCore
from hw.config import PRESETS
from sim.golden import ccore
from sim.golden.pe import Phase
from sim.runner import HIERARCHICAL, run_bench

CLOCK_HZ = 200e6
FP, BP, WG = Phase.FP, Phase.BP, Phase.WG

# (network, layer, mode, cin, cout, h, w): h x w is the tile's FP input map.
TILES = [
    ("ResNet18", "conv2_x 64->64 56x56, 36-row band", (FP, 1, 3), 64, 64, 36, 56),
    ("ResNet18", "conv2_x 64->64 56x56, 36-row band", (BP, 1, 3), 64, 64, 36, 56),
    ("ResNet18", "conv2_x 64->64 56x56, 36-row band", (WG, 1, 3), 64, 64, 36, 56),
    ("ResNet18", "conv3_1 64->128 s2 56x56, 36-row band", (FP, 2, 3), 64, 128, 36, 56),
    ("ResNet18", "conv3_1 64->128 s2 56x56, whole", (BP, 2, 3), 64, 128, 56, 56),
    ("ResNet18", "conv3_1 64->128 s2 56x56, 36-row band", (WG, 2, 3), 64, 128, 36, 56),
    ("ResNet18", "conv4_x 256->64 of 256, 14x14", (FP, 1, 3), 256, 64, 14, 14),
    ("ResNet18", "conv5_x 512->32 of 512, 7x7", (FP, 1, 3), 512, 32, 7, 7),
    ("ResNet18", "downsample 1x1 128->48 of 256, 28x28 sampled to 14x14", (FP, 1, 1), 128,
     48, 14, 14),
    ("ResNet18", "downsample 1x1 128->48 of 256, 28x28 sampled to 14x14", (BP, 1, 1), 128,
     48, 14, 14),
    ("CIFAR-ResNet20", "stage 1 16->16 32x32", (FP, 1, 3), 16, 16, 32, 32),
    ("CIFAR-ResNet20", "stage 1 16->16 32x32", (BP, 1, 3), 16, 16, 32, 32),
    ("CIFAR-ResNet20", "stage 1 16->16 32x32", (WG, 1, 3), 16, 16, 32, 32),
    ("CIFAR-ResNet20", "stage 3 64->64 8x8", (FP, 1, 3), 64, 64, 8, 8),
    ("CIFAR-VGG16", "conv 128->128 16x16", (FP, 1, 3), 128, 128, 16, 16),
    ("CIFAR-VGG16", "conv 512->32 of 512, 2x2", (FP, 1, 3), 512, 32, 2, 2),
    ("CIFAR-VGG16", "FC 512->48 of 512, batch 64", (FP, 1, 1), 512, 48, 64, 1),
]


NOTES = """Where the cycles go (all structural, none of it stalls on the buffers: the input
buffer serves every beat, the bank-conflict counter stays 0):

- **Padding beats**: a 3x3 stride-1 row takes W + 2 beats for W outputs, stride 2 takes
  ceil((W + 2) / 2) for ceil(W / 2), BP stride 2 takes W + 1 for a row of W errors: 3.4% on
  56-wide maps, 12.5% on 14, 22% on 7.
- **Row groups**: the wpus WPUs (3 on the VC709) of a cluster take neighbouring output rows,
  so a map's rows are rounded up to a multiple of 3 (1x1: 9): 7 rows run as 9.
- **Tile changes**: the next tile's weights load into the PEs' shadow registers while this
  tile runs; what remains is about 4 cycles per tile (one to swap the weights in, the
  buffers' pipeline around it). Tiles are (output-channel group, row band, input-channel
  block), so small maps with many channels pay it often: the 2x2 VGG16 layer runs 256 tiles
  of 2 beats.
- **Channel padding**: 1x1 layers pad input channels to a multiple of 3 x clusters (24) for
  the weight layout: 128 runs as 144.

The paper reports above 95% for most ResNet18 layers, 91% on average, and 83% (CIFAR-ResNet20)
and 88% (CIFAR-VGG16) over whole networks, counting DRAM transfers, which these tiles do not.
We meet it on large maps (conv2_x, conv3_x: 94 to 96.5%) and fall short on small ones
(14x14: 78%, 7x7: 53%, 2x2: 17%); putting several images or channel blocks side by side in
the WPU slots that small maps leave idle is the next step for those.
"""


def useful_macs(layer):
    """FP and WG: every output (dw: every FP output's error) times its k x k x cin products;
    BP: every error times its k x k taps into cin channels. The same count."""
    k = layer.mode.k
    return layer.cout * layer.oh * layer.ow * k * k * layer.cin


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="vc709", choices=sorted(PRESETS))
    parser.add_argument("--out", default="docs/bench_tiles.md")
    parser.add_argument("--only", type=int, nargs="*", help="indices into TILES")
    args = parser.parse_args(argv)
    cfg = PRESETS[args.preset]()
    chosen = [TILES[i] for i in args.only] if args.only else TILES
    specs = [{"label": f"{n}: {l}", "mode": [int(m[0]), m[1], m[2]], "cin": ci,
              "cout": co, "h": h, "w": w} for n, l, m, ci, co, h, w in chosen]
    results = run_bench(CCore(cfg), "ccore", "sim.tb.bench_ccore", cfg, "ETA_BENCH_TILES",
                        specs, build_args=HIERARCHICAL, cxx_opt="-O1")
    peak = cfg.macs * 2 * CLOCK_HZ / 1e9
    lines = [
        "# C-Core benchmark from the buffers",
        "",
        f"Produced by `python -m sim.bench_tiles` ({cfg.name} preset, {cfg.macs} MACs): "
        "each layer tile runs through the whole C-Core under Verilator with no stalls "
        "(descriptors from `sim.golden.ccore.tiles`), its result checked against the golden "
        "model. Cycles run from the first descriptor taken to the last sum out; ideal = "
        "useful MACs / MACs; utilization = ideal / cycles; GOPS = utilization x peak "
        f"({peak:.1f} GOPS at 200 MHz).",
        "",
        "| network | layer tile | pattern | tiles | useful MACs | cycles | ideal | "
        "utilization | GOPS |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        layer = ccore.Layer(r["mode"], r["cin"], r["cout"], r["h"], r["w"], cfg)
        macs = useful_macs(layer)
        ideal = macs / cfg.macs
        util = ideal / r["cycles"]
        net, label = r["label"].split(": ", 1)
        lines.append(f"| {net} | {label} | {layer.mode!r} | {r['tiles']} | {macs} | "
                     f"{r['cycles']} | {ideal:.0f} | {100 * util:.1f}% | {util * peak:.0f} |")
    lines += ["", NOTES]
    Path(args.out).write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
