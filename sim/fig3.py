"""Regenerate the paper's Fig. 3 (decimal accuracy of INT8 and PINT8) from the golden model.

    python -m sim.fig3 [--out docs/fig3_decimal_accuracy.png]

Decimal accuracy of a value r quantized to q is -log10|log10(q / r)| (paper Eq. 10). Both
formats are scaled so that their largest magnitude is 1; r sweeps the positive range on a
fine logarithmic grid and each format rounds to its nearest point.
"""

import argparse

import numpy as np

from hw.config import PintFormat
from sim.golden import pint


def decimal_accuracy(q, r):
    with np.errstate(divide="ignore"):
        return -np.log10(np.abs(np.log10(q / r)))


def curves(fmt=PintFormat(), points=4000):
    g = pint.grid(fmt)
    scale = float(-fmt.t_min)                  # PINT spans [-4096, 4032]: 4096 is "1"
    int_max = (1 << (fmt.k - 1))               # INT8 spans [-128, 127]: 128 is "1"
    r = np.logspace(np.log10(1 / scale), 0, points)
    q_pint = pint.round_to_grid(r * scale, fmt=fmt) / scale
    q_int = np.clip(np.round(r * int_max), 1, int_max - 1) / int_max
    return r, decimal_accuracy(q_int, r), decimal_accuracy(q_pint, r), g


def main(argv=None):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    parser = argparse.ArgumentParser(description="Fig. 3: decimal accuracy of INT8 and PINT8")
    parser.add_argument("--out", default="docs/fig3_decimal_accuracy.png")
    args = parser.parse_args(argv)
    r, acc_int, acc_pint, _ = curves()
    cap = 6.0                                  # exact hits are infinitely accurate: clip them
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(r, np.minimum(acc_int, cap), label="INT8 (k=8)", lw=0.8)
    ax.plot(r, np.minimum(acc_pint, cap), label="PINT(8,3)", lw=0.8)
    # Worst case per octave shows the trend the paper plots.
    octave = np.floor(np.log2(r))
    for name, acc in (("INT8 worst per octave", acc_int), ("PINT8 worst per octave", acc_pint)):
        xs = [r[octave == o].mean() for o in np.unique(octave)]
        ys = [acc[octave == o].min() for o in np.unique(octave)]
        ax.plot(xs, ys, "o--", ms=3, label=name)
    ax.set_xscale("log")
    ax.set_xlabel("magnitude of data (largest representable = 1)")
    ax.set_ylabel("decimal accuracy (digits)")
    ax.set_ylim(-0.5, cap)
    ax.set_title("Decimal accuracy of INT8 and PINT(8,3), from sim/golden/pint.py")
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(True, which="both", lw=0.3)
    fig.tight_layout()
    fig.savefig(args.out, dpi=120)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
