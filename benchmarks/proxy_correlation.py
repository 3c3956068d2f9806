"""Do zero-cost proxies rank architectures of the mbconv space the way training does?

Samples N architectures of the space (seeded; the same nets as ``fidelity.py`` for the same seed),
scores each with NASWOT and synflow from one minibatch at initialisation, trains each at the
search's default fidelity (2 epochs on 10,000 Fashion-MNIST images, strides adapted to 28 px), and
prints the Spearman and Kendall rank correlation of every score with the trained validation
accuracy, beside the two free baselines every proxy must beat: #params and MACs. A negative sign
means the score ranks against training. Trainings are kept (``cells.py``): cells the fidelity
benchmark already trained are not trained again.

    .venv/bin/python benchmarks/proxy_correlation.py [--archs 30] [--epochs 2] [--train-size 10000] [--jobs 2]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from cells import DEFAULT_FOLDER, RESOLUTION, fit_kept, sample_mbconv

from scaler.data import DataConfig, load_data
from scaler.stats import kendall, spearman
from scaler.strides import STRIDE_POLICIES, adapt_strides
from scaler.training.fidelity import PROXY
from scaler.training.parallel import default_jobs
from scaler.training.proxies import score
from scaler.training.store import Training
from scaler.training.trainer import TrainConfig

PROXIES = ("naswot", "synflow")
BASELINES = ("params", "macs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", type=int, default=30)
    parser.add_argument("--epochs", type=int, default=PROXY.epochs)
    parser.add_argument("--train-size", type=int, default=PROXY.train_size)
    parser.add_argument("--width", type=float, default=PROXY.width)
    parser.add_argument("--strides", choices=STRIDE_POLICIES, default=PROXY.strides)
    parser.add_argument("--min-feature", type=int, default=PROXY.min_feature)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=default_jobs("cpu"))
    parser.add_argument("--cells", type=Path, default=DEFAULT_FOLDER, help="where trainings are kept")
    args = parser.parse_args()
    data_cfg = DataConfig(train_size=args.train_size, val_size=5000, seed=args.seed)
    data = load_data(data_cfg)
    specs = [adapt_strides(net, RESOLUTION, args.min_feature, args.strides)
             for net in sample_mbconv(args.archs, args.width, args.seed)]
    scores = [score(spec, data.x_val[:64], data.num_classes, PROXIES, seed=args.seed) for spec in specs]
    cells = [Training(spec, TrainConfig(epochs=args.epochs, device="cpu", seed=args.seed), data_cfg) for spec in specs]

    def trained(i: int, cell: dict) -> None:
        print(f"arch {i + 1:2d}/{args.archs}: val acc {cell['val_acc'] or 0.0:.4f} ({cell['train_time_s']:.0f} s)  "
              + "  ".join(f"{k} {v:.4g}" for k, v in scores[i].items()), flush=True)

    outcomes = fit_kept(cells, args.cells, args.jobs, trained, loaded={data_cfg: data})
    for scored, cell in zip(scores, outcomes, strict=True):
        scored.update({key: float(cell[key]) for key in BASELINES})
    acc = np.array([cell["val_acc"] or 0.0 for cell in outcomes])
    print(f"\n{args.archs} architectures of mbconv (width x{args.width}, strides {args.strides}, {args.epochs} "
          f"epoch(s) on {args.train_size} Fashion-MNIST images); val acc {acc.min():.4f}-{acc.max():.4f}")
    print(f"{'score':8s} {'Spearman':>9s} {'Kendall':>8s}   (rank correlation with trained val acc; < 0: ranks against it)")
    rho = {}
    for key in (*PROXIES, *BASELINES):
        values = np.array([s[key] for s in scores])
        rho[key] = spearman(values, acc)
        print(f"{key:8s} {rho[key]:+9.3f} {kendall(values, acc):+8.3f}" + ("   (baseline)" if key in BASELINES else ""))
    bar = max(rho[key] for key in BASELINES)
    beat = [key for key in PROXIES if rho[key] > bar]
    print(f"better than the best free baseline (Spearman {bar:+.3f}): {', '.join(beat) or 'none'}")


if __name__ == "__main__":
    main()
