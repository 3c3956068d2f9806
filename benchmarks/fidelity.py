"""Does the default proxy fidelity rank architectures the way a higher one does, with strides as
written and with the resolution-aware stride rule?

Samples N architectures of the mbconv space (seeded), trains each at the search's default fidelity
(width 0.5, 2 epochs on 10,000 Fashion-MNIST images) and at a higher one (``--high-epochs`` on
``--high-train-size`` images), once with strides as written and once adapted (``scaler.strides``),
and prints, per stride policy, the Spearman and Kendall rank correlation between the two fidelities'
validation accuracies, the mean accuracy at each, and the training time: the figure that justifies
the default. Measured side by side in one run: the four cells of a net (two policies, two
fidelities) are queued together, so load on the machine hits both policies alike.

A full run takes hours on 2 CPU cores: its trainings are kept (``cells.py``), so a rerun trains only
the missing ones, and ``--jobs`` trains that many at once.

    .venv/bin/python benchmarks/fidelity.py [--archs 12] [--high-epochs 6] [--high-train-size 20000] [--jobs 2]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from cells import DEFAULT_FOLDER, RESOLUTION, fit_kept, sample_mbconv

from scaler.data import DataConfig
from scaler.stats import kendall, spearman
from scaler.strides import adapt_strides, last_feature_size
from scaler.training.fidelity import PROXY
from scaler.training.parallel import default_jobs
from scaler.training.store import Training
from scaler.training.trainer import TrainConfig

LEVELS = ("low", "high")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", type=int, default=12)
    parser.add_argument("--epochs", type=int, default=PROXY.epochs)
    parser.add_argument("--train-size", type=int, default=PROXY.train_size)
    parser.add_argument("--high-epochs", type=int, default=6)
    parser.add_argument("--high-train-size", type=int, default=20000)
    parser.add_argument("--width", type=float, default=PROXY.width)
    parser.add_argument("--min-feature", type=int, default=PROXY.min_feature)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=default_jobs("cpu"))
    parser.add_argument("--cells", type=Path, default=DEFAULT_FOLDER, help="where trainings are kept")
    args = parser.parse_args()
    fidelity = {"low": (args.epochs, args.train_size), "high": (args.high_epochs, args.high_train_size)}
    policies = {"as-written": lambda s: s, "adapt": lambda s: adapt_strides(s, RESOLUTION, args.min_feature)}
    keys = [(i, p, level) for i in range(args.archs) for p in policies for level in LEVELS]
    nets = sample_mbconv(args.archs, args.width, args.seed)
    specs = {(i, p): rule(net) for i, net in enumerate(nets) for p, rule in policies.items()}
    cells = [Training(specs[i, p], TrainConfig(epochs=fidelity[level][0], device="cpu", seed=args.seed),
                  DataConfig(train_size=fidelity[level][1], val_size=5000, seed=args.seed)) for i, p, level in keys]

    def trained(index: int, cell: dict) -> None:
        i, p, level = keys[index]
        print(f"{p:10s} arch {i + 1:2d}/{args.archs} ({last_feature_size(specs[i, p], RESOLUTION)} px map) "
              f"{level:4s}: val {cell['val_acc'] or 0.0:.4f} ({cell['train_time_s']:.0f} s)", flush=True)

    got = dict(zip(keys, fit_kept(cells, args.cells, args.jobs, trained), strict=True))
    columns = [(p, level) for p in policies for level in LEVELS]
    print(f"\n{args.archs} architectures of mbconv at width x{args.width}, {RESOLUTION} px; default fidelity "
          f"{args.epochs} epochs on {args.train_size} images, high {args.high_epochs} epochs on "
          f"{args.high_train_size}; adapt: last map >= {args.min_feature} px")
    print(f"{'strides':10s} {'Spearman':>9s} {'Kendall':>8s} {'mean low':>9s} {'mean high':>10s} "
          f"{'low s/arch':>11s} {'high s/arch':>12s}")
    acc = {(p, lv): np.array([got[i, p, lv]["val_acc"] or 0.0 for i in range(args.archs)]) for p, lv in columns}
    secs = {(p, lv): np.array([got[i, p, lv]["train_time_s"] for i in range(args.archs)]) for p, lv in columns}
    for p in policies:
        lo, hi = acc[p, "low"], acc[p, "high"]
        print(f"{p:10s} {spearman(lo, hi):9.3f} {kendall(lo, hi):8.3f} {lo.mean():9.4f} {hi.mean():10.4f} "
              f"{secs[p, 'low'].mean():11.1f} {secs[p, 'high'].mean():12.1f}")
    gain = acc["adapt", "low"] - acc["as-written", "low"]
    print(f"adapt - as-written at the default fidelity: mean {gain.mean():+.4f} (per net {gain.min():+.4f} to "
          f"{gain.max():+.4f}), training time {secs['adapt', 'low'].mean() / secs['as-written', 'low'].mean():.2f}x")


if __name__ == "__main__":
    main()
