"""Does the default proxy fidelity rank architectures the way a higher one does, with strides as
written and with the resolution-aware stride rule?

Samples N architectures of the mbconv space (seeded), trains each at the search's default fidelity
(width 0.5, 2 epochs on 10,000 Fashion-MNIST images) and at a higher one (``--high-epochs`` on
``--high-train-size`` images), once with strides as written and once adapted (``scaler.fidelity``),
and prints, per stride policy, the Spearman and Kendall rank correlation between the two fidelities'
validation accuracies, the mean accuracy at each, and the training time: the figure that justifies
the default. Measured side by side in one run.

    .venv/bin/python benchmarks/fidelity.py [--archs 12] [--high-epochs 6] [--high-train-size 20000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import optuna

from scaler.data import DataConfig, load_data
from scaler.fidelity import DEFAULT_MIN_FEATURE, adapt_strides, last_feature_size
from scaler.search import load_space
from scaler.stats import kendall, spearman
from scaler.training.fit import fit
from scaler.training.trainer import TrainConfig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", type=int, default=12)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--train-size", type=int, default=10000)
    parser.add_argument("--high-epochs", type=int, default=6)
    parser.add_argument("--high-train-size", type=int, default=20000)
    parser.add_argument("--width", type=float, default=0.5)
    parser.add_argument("--min-feature", type=int, default=DEFAULT_MIN_FEATURE)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    low = load_data(DataConfig(train_size=args.train_size, val_size=5000, seed=args.seed))
    high = load_data(DataConfig(train_size=args.high_train_size, val_size=5000, seed=args.seed))
    space = load_space("mbconv")
    sampler = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=args.seed))
    nets = [space.sample(sampler.ask(), name=f"arch{i}").scale(width=args.width, resolution=low.resolution)
            for i in range(args.archs)]
    policies = {"as-written": lambda s: s, "adapt": lambda s: adapt_strides(s, low.resolution, args.min_feature)}
    results = {policy: {"low": [], "high": [], "low_s": [], "high_s": []} for policy in policies}
    for i, net in enumerate(nets):  # policies interleaved per net, so machine load hits both alike
        for policy, rule in policies.items():
            got, spec = results[policy], rule(net)
            for level, data, epochs in (("low", low, args.epochs), ("high", high, args.high_epochs)):
                start = time.perf_counter()
                record, _ = fit(spec, data, TrainConfig(epochs=epochs, device="cpu", seed=args.seed))
                got[level].append(record["val_acc"] or 0.0)
                got[f"{level}_s"].append(time.perf_counter() - start)
            print(f"{policy:10s} arch {i + 1:2d}/{args.archs} ({last_feature_size(spec, low.resolution)} px map): "
                  f"low {got['low'][-1]:.4f} ({got['low_s'][-1]:.0f} s)  high {got['high'][-1]:.4f} "
                  f"({got['high_s'][-1]:.0f} s)", flush=True)
    print(f"\n{args.archs} architectures of mbconv at width x{args.width}, {low.resolution} px; default fidelity "
          f"{args.epochs} epochs on {args.train_size} images, high {args.high_epochs} epochs on "
          f"{args.high_train_size}; adapt: last map >= {args.min_feature} px")
    print(f"{'strides':10s} {'Spearman':>9s} {'Kendall':>8s} {'mean low':>9s} {'mean high':>10s} "
          f"{'low s/arch':>11s} {'high s/arch':>12s}")
    for policy, got in results.items():
        lo, hi = np.array(got["low"]), np.array(got["high"])
        print(f"{policy:10s} {spearman(lo, hi):9.3f} {kendall(lo, hi):8.3f} {lo.mean():9.4f} {hi.mean():10.4f} "
              f"{np.mean(got['low_s']):11.1f} {np.mean(got['high_s']):12.1f}")
    a, w = results["adapt"], results["as-written"]
    print(f"adapt / as-written: mean low acc {np.mean(a['low']) - np.mean(w['low']):+.4f}, "
          f"time {np.mean(a['low_s']) / np.mean(w['low_s']):.2f}x")


if __name__ == "__main__":
    main()
