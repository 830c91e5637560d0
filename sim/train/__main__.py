"""Train the digits CNN in float32, uniform INT8 and PINT8 (the accelerator's golden model).

    python -m sim.train [--epochs E] [--seeds S] [--out docs]

Same initialization, data order and hyperparameters for the three; writes a table
(docs/train_digits.md) and the learning curves (docs/train_digits.png).
"""

import argparse
import sys
import time

import numpy as np

from .net import DIGITS_NET, FloatNet, Int8Quant, check_arch, init_params
from .pint_net import PintNet

VARIANTS = {
    "float32": lambda params, seed: FloatNet(DIGITS_NET, params),
    "int8 (Eq. 8)": lambda params, seed: FloatNet(DIGITS_NET, params,
                                                  Int8Quant(np.random.default_rng(seed))),
    "pint8 (golden HW)": lambda params, seed: PintNet(DIGITS_NET, params, seed=seed + 1),
}


def digits(seed=0, test_fraction=0.2):
    """sklearn's bundled 8x8 digits, a stratified held-out split, normalized on the train set."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    d = load_digits()
    x = d.images[:, None].astype(np.float64) / 16.0
    xtr, xte, ytr, yte = train_test_split(x, d.target, test_size=test_fraction,
                                          random_state=seed, stratify=d.target)
    mu, sd = xtr.mean(), xtr.std()
    return (xtr - mu) / sd, ytr, (xte - mu) / sd, yte


def softmax_xent(logits, labels):
    """Host side: mean cross-entropy and its gradient w.r.t. the logits."""
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    n = len(labels)
    loss = -np.log(np.maximum(p[np.arange(n), labels], 1e-300)).mean()
    p[np.arange(n), labels] -= 1
    return loss, p / n


def lr_at(step, total, peak, warmup):
    """Linear warm-up to peak, then cosine annealing to 0 (the paper's schedule)."""
    if step < warmup:
        return peak * (step + 1) / warmup
    return 0.5 * peak * (1 + np.cos(np.pi * (step - warmup) / max(1, total - warmup)))


def evaluate(net, x, y, batch=256):
    losses, correct = [], 0
    for i in range(0, len(x), batch):
        logits = net.forward(x[i:i + batch], train=False)
        losses.append(softmax_xent(logits, y[i:i + batch])[0] * len(logits))
        correct += int((logits.argmax(axis=1) == y[i:i + batch]).sum())
    return sum(losses) / len(x), correct / len(x)


def train(make, data, seed, epochs, batch=32, lr=0.05, momentum=0.9, progress=None):
    """One run; returns per-epoch train loss, test loss and test accuracy."""
    xtr, ytr, xte, yte = data
    net = make(init_params(DIGITS_NET, seed), seed)
    order = np.random.default_rng(seed)
    steps = epochs * -(-len(xtr) // batch)
    hist = {"train_loss": [], "test_loss": [], "test_acc": []}
    step = 0
    for epoch in range(epochs):
        idx = order.permutation(len(xtr))
        losses = []
        for i in range(0, len(xtr), batch):
            b = idx[i:i + batch]
            loss, dlogits = softmax_xent(net.forward(xtr[b]), ytr[b])
            if not np.isfinite(loss):
                raise FloatingPointError(f"loss became {loss} at epoch {epoch}")
            net.backward(dlogits)
            net.step(lr_at(step, steps, lr, warmup=steps // 20), momentum)
            losses.append(loss)
            step += 1
        test_loss, acc = evaluate(net, xte, yte)
        hist["train_loss"].append(float(np.mean(losses)))
        hist["test_loss"].append(test_loss)
        hist["test_acc"].append(acc)
        if progress:
            progress(epoch + 1, epochs, hist)
    return hist


def bar(label):
    start = time.time()

    def show(done, total, hist):
        filled = int(30 * done / total)
        sys.stderr.write(f"\r{label:28s} [{'#' * filled}{'.' * (30 - filled)}] {done}/{total} "
                         f"loss {hist['train_loss'][-1]:.3f} test acc "
                         f"{100 * hist['test_acc'][-1]:5.1f}%  {time.time() - start:4.0f} s")
        if done == total:
            sys.stderr.write("\n")
        sys.stderr.flush()
    return show


def plot(results, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    for name, runs in results.items():
        acc = 100 * np.mean([r["test_acc"] for r in runs], axis=0)
        loss = np.mean([r["train_loss"] for r in runs], axis=0)
        ep = np.arange(1, len(acc) + 1)
        ax1.plot(ep, loss, label=name)
        ax2.plot(ep, acc, label=name)
    ax1.set(xlabel="epoch", ylabel="train loss (mean over seeds)", yscale="log")
    ax2.set(xlabel="epoch", ylabel="test accuracy % (mean over seeds)", ylim=(80, 100))
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle("Digits CNN: float32 vs uniform INT8 vs PINT8 + fixed-point L1-FRN")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def _delta(points):
    return "0.00" if abs(points) < 5e-3 else f"{points:+.2f}"


def table(results, epochs, seeds, seconds):
    ref = np.mean([r["test_acc"][-1] for r in results["float32"]])
    lines = ["| variant | test accuracy % (mean of seeds) | per seed | vs float32 | "
             "test loss | train loss | time |", "|---|---|---|---|---|---|---|"]
    for name, runs in results.items():
        accs = [100 * r["test_acc"][-1] for r in runs]
        lines.append(
            f"| {name} | {np.mean(accs):.2f} | {' / '.join(f'{a:.1f}' for a in accs)} | "
            f"{_delta(np.mean(accs) - 100 * ref)} | "
            f"{np.mean([r['test_loss'][-1] for r in runs]):.4f} | "
            f"{np.mean([r['train_loss'][-1] for r in runs]):.4f} | {seconds[name]:.0f} s |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--out", default="docs")
    ap.add_argument("--variants", default=",".join(VARIANTS))
    args = ap.parse_args(argv)
    if args.epochs < 1 or args.seeds < 1:
        ap.error("--epochs and --seeds must be at least 1")
    names = args.variants.split(",")
    for n in names:
        if n not in VARIANTS:
            ap.error(f"unknown variant {n!r}; choose from {', '.join(VARIANTS)}")
    data = digits()
    check_arch(DIGITS_NET, data[0].shape[1:])
    results, seconds = {}, {}
    for name in names:
        t = time.time()
        results[name] = [train(VARIANTS[name], data, seed, args.epochs,
                               progress=bar(f"{name} seed {seed}"))
                         for seed in range(args.seeds)]
        seconds[name] = time.time() - t
    text = table(results, args.epochs, args.seeds, seconds)
    print(text)
    if "float32" in results and args.out:
        import os
        os.makedirs(args.out, exist_ok=True)
        plot(results, os.path.join(args.out, "train_digits.png"))
        with open(os.path.join(args.out, "train_digits.md"), "w") as f:
            f.write(REPORT.format(epochs=args.epochs, seeds=args.seeds, ntrain=len(data[0]),
                                  ntest=len(data[2]), table=text))


REPORT = """# Training on real data: digits (written by `make train`)

scikit-learn's bundled handwritten digits (8x8, 10 classes), a stratified split of
{ntrain} training and {ntest} held-out test images. The network (`sim/train/net.py`):
conv 3x3 1->16, conv 3x3 stride 2 16->32, a residual block of two conv 3x3 32->32, conv 1x1
32->32, each conv followed by L1-FRN and TLU, then FC 512->10; softmax and cross-entropy on
the host. SGD with momentum 0.9, batch 32, {epochs} epochs, learning rate warmed up to 0.05
over the first 5% of steps then cosine-annealed to 0. Every variant starts from the same
weights and sees the same batches; {seeds} seeds (initialization, data order, rounding).

- **float32**: numpy float32 convolutions, float L1-FRN/TLU/SGD.
- **int8 (Eq. 8)**: the same, with weights, activations (round to nearest) and errors
  (stochastic rounding) quantized to uniform INT8 with a max-abs scale before every conv/FC.
- **pint8 (golden HW)**: the accelerator's golden model, bit-exact with the RTL: PINT(8,3)
  weights, activations and errors with power-of-two scales from in-hindsight converters;
  exact integer convolutions saturated to 32 bits; fixed-point L1-FRN, TLU, SGD and residual
  add of the A-Core (docs/acore.md); 32-bit master weights and velocities.

Test accuracy and loss after the last epoch:

{table}

![learning curves](train_digits.png)
"""

if __name__ == "__main__":
    main()
