"""Do zero-cost proxies rank architectures of the mbconv space the way training does?

Samples N architectures of the space (seeded), scores each with NASWOT, synflow, #params and MACs
from one minibatch, trains each at the search's proxy fidelity on Fashion-MNIST, and prints the
Spearman and Kendall rank correlations of every score with the trained validation accuracy.

    .venv/bin/python benchmarks/proxy_correlation.py [--archs 30] [--epochs 1] [--train-size 5000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import optuna

from scaler.data import DataConfig, load_data
from scaler.nn.complexity import complexity
from scaler.search import load_space
from scaler.stats import kendall, spearman
from scaler.training.fit import fit
from scaler.training.proxies import score
from scaler.training.trainer import TrainConfig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", type=int, default=30)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--train-size", type=int, default=5000)
    parser.add_argument("--width", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    data = load_data(DataConfig(train_size=args.train_size, val_size=2000, seed=args.seed))
    space = load_space("mbconv")
    sampler = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=args.seed))
    cfg = TrainConfig(epochs=args.epochs, device="cpu", seed=args.seed)
    rows = []
    start = time.perf_counter()
    for i in range(args.archs):
        spec = space.sample(sampler.ask()).scale(width=args.width, resolution=data.resolution)
        proxies = score(spec, data.x_val[:64], data.num_classes, seed=args.seed)
        proxies["macs"] = float(complexity(spec, in_channels=1, num_classes=10).macs)
        record, _ = fit(spec, data, cfg)
        rows.append({**proxies, "val_acc": record["val_acc"] or 0.0})
        print(f"arch {i + 1:2d}/{args.archs}: val acc {rows[-1]['val_acc']:.4f}  "
              + "  ".join(f"{k} {v:.4g}" for k, v in proxies.items()), flush=True)
    acc = np.array([r["val_acc"] for r in rows])
    print(f"\n{args.archs} architectures of mbconv (width x{args.width}, {args.epochs} epoch(s) on "
          f"{args.train_size} Fashion-MNIST images), {time.perf_counter() - start:.0f} s")
    print(f"{'score':8s} {'Spearman':>9s} {'Kendall':>8s}   (rank correlation with trained val acc)")
    for key in ("naswot", "synflow", "params", "macs"):
        values = np.array([r[key] for r in rows])
        print(f"{key:8s} {spearman(values, acc):9.3f} {kendall(values, acc):8.3f}")


if __name__ == "__main__":
    main()
