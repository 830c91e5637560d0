"""`make train-rtl`: the digits CNN trained on the accelerator's RTL (small preset, Verilator)
through the runtime's RTL backend, every step checked against the golden machine (the whole
DRAM image) and the whole-tensor PINT8 model (the trained state); the loss per step into
docs/train_rtl.png and docs/train_rtl.md.

    python -m sim.train_rtl [--steps 16] [--batch 4] [--lr 0.05] [--momentum 0.5] [--out docs]

Progress: one line per step in the log the runner names (build/sim/top-*/run-*/sim.log), and
in build/train_rtl.jsonl as the steps finish.
"""

import argparse
import json
import sys
import time
from pathlib import Path

from hw.config import small
from hw.top import Top
from sim.runner import run_cocotb


def plot(rows, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 3.5))
    steps = [r["step"] for r in rows]
    loss = [r["loss"] for r in rows]
    ax.plot(steps, loss, ".", alpha=0.5, label="per step (batch)")
    k = 5
    if len(loss) >= k:
        smooth = [sum(loss[i - k + 1:i + 1]) / k for i in range(k - 1, len(loss))]
        ax.plot(steps[k - 1:], smooth, label=f"mean of {k}")
    ax.set(xlabel="training step", ylabel="softmax cross-entropy (batch mean)",
           title="Digits CNN trained on the RTL (small preset)")
    if all("test_loss" in r for r in rows):
        ax.plot(steps, [r["test_loss"] for r in rows], "k--", label="held-out")
    ax.legend(loc="upper left")
    if all("test_acc" in r for r in rows):
        ax2 = ax.twinx()
        ax2.plot(steps, [100 * r["test_acc"] for r in rows], "g-", label="held-out accuracy")
        ax2.set(ylabel="held-out accuracy %", ylim=(0, 100))
        ax2.legend(loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def table(rows, args, seconds):
    first, last = rows[:5], rows[-5:]
    mean = lambda rs: sum(r["loss"] for r in rs) / len(rs)
    lines = [
        "# Training on the RTL",
        "",
        "Produced by `make train-rtl` (`python -m sim.train_rtl`): the digits CNN "
        "(`sim.train.net.DIGITS_NET`, 8x8 inputs) on the accelerator's top, small preset, "
        "under Verilator, through the runtime's RTL backend (registers over AXI4-Lite, DRAM a "
        "cocotbext-axi AxiRam with random pauses). After every step the whole DRAM image "
        "equals the golden machine's after the same step, and the weights, velocities, PINT "
        "weights and FRN parameters in DRAM equal the whole-tensor PINT8 model's.",
        "",
        f"{len(rows)} steps of batch {args.batch}, learning rate {args.lr}, momentum "
        f"{args.momentum}, in "
        f"{seconds / 60:.1f} minutes. Mean loss of the first five steps "
        f"{mean(first):.3f}, of the last five {mean(last):.3f}.",
        "",
        "![loss per step](train_rtl.png)",
        "",
        "| step | loss | held-out loss | held-out accuracy % | cycles | values checked |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    acc = lambda r: f"{100 * r['test_acc']:.1f}" if "test_acc" in r else "-"
    held = lambda r: f"{r['test_loss']:.4f}" if "test_loss" in r else "-"
    lines += [f"| {r['step']} | {r['loss']:.4f} | {held(r)} | {acc(r)} | {r['cycles']} | "
              f"{r['checked']} |" for r in rows]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=16)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--momentum", type=float, default=0.5)
    parser.add_argument("--out", default="docs")
    args = parser.parse_args(argv)
    if args.steps < 1 or args.batch < 1:
        parser.error("--steps and --batch must be at least 1")
    if not (args.lr > 0 and 0 <= args.momentum < 1):
        parser.error("--lr must be positive and --momentum in [0, 1)")
    cfg = small()
    progress = Path("build/train_rtl.jsonl").resolve()
    progress.parent.mkdir(parents=True, exist_ok=True)
    print(f"training {args.steps} steps on the RTL; progress in {progress}", flush=True)
    start = time.monotonic()
    run_cocotb(Top(cfg), "top", "sim.tb.tb_train_rtl", cfg, testcase="train",
               env={"ETA_STEPS": str(args.steps), "ETA_BATCH": str(args.batch),
                    "ETA_LR": str(args.lr), "ETA_MOMENTUM": str(args.momentum),
                    "ETA_OUT": str(progress)})
    rows = [json.loads(line) for line in progress.read_text().splitlines()]
    out = Path(args.out)
    plot(rows, out / "train_rtl.png")
    (out / "train_rtl.md").write_text(table(rows, args, time.monotonic() - start))
    print(f"{len(rows)} steps; {out / 'train_rtl.png'}, {out / 'train_rtl.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
