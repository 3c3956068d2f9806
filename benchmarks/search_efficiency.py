"""TPE + Hyperband vs random search without pruning, at equal wall-clock budget, over seeds.

Each arm runs `run_search` on the mbconv space at Fashion-MNIST proxy fidelity for the same time
budget (one study per arm and seed; the arms alternate so machine noise hits both). Reports the
best objective value each reached (the search's reward: accuracy traded against MACs, what TPE is
steering by; comparing raw accuracy would score random search on a goal TPE is not pursuing) and
how long TPE + Hyperband took to match the random search's final best.

    .venv/bin/python benchmarks/search_efficiency.py [--budget 240] [--seeds 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import optuna

from scaler.data import DataConfig, load_data
from scaler.search import SearchConfig, run_search
from scaler.training.trainer import TrainConfig


def arm(sampler: str, pruner: str, seed: int, budget: float, data, fidelity: TrainConfig) -> list[tuple[float, float]]:
    """(seconds since start, objective value) of every completed trial of one budget-limited search."""
    with tempfile.TemporaryDirectory() as results:
        cfg = SearchConfig(sampler=sampler, pruner=pruner, trials=10_000, timeout=budget, seed=seed,
                           storage=f"sqlite:///{results}/s.db", study="bench")
        start = time.time()
        run_search(cfg, data, fidelity, results, progress=False, log=lambda m: None)
        study = optuna.load_study(study_name="bench", storage=cfg.storage)
        done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
        return sorted((t.datetime_complete.timestamp() - start, t.value) for t in done)


def best_so_far(curve: list[tuple[float, float]]) -> float:
    return max((value for _, value in curve), default=0.0)


def time_to_reach(curve: list[tuple[float, float]], target: float) -> float | None:
    return next((t for t, value in curve if value >= target), None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=240.0, help="seconds per search")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--train-size", type=int, default=5000)
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    data = load_data(DataConfig(train_size=args.train_size, val_size=2000))
    fidelity = TrainConfig(epochs=args.epochs, device="cpu", reports_per_epoch=2)
    tpe, rnd, reach = [], [], []
    for seed in range(args.seeds):
        a = arm("tpe", "hyperband", seed, args.budget, data, fidelity)
        b = arm("random", "none", seed, args.budget, data, fidelity)
        tpe.append(best_so_far(a))
        rnd.append(best_so_far(b))
        reach.append(time_to_reach(a, best_so_far(b)))
        print(f"seed {seed}: TPE+Hyperband best {tpe[-1]:.4f} ({len(a)} completed), "
              f"random best {rnd[-1]:.4f} ({len(b)} completed), "
              f"TPE reached random's best after {reach[-1]:.0f} s" if reach[-1] is not None else
              f"seed {seed}: TPE+Hyperband best {tpe[-1]:.4f}, random best {rnd[-1]:.4f}, TPE never reached it",
              flush=True)
    print(f"\nbudget {args.budget:.0f} s per search, {args.seeds} seeds, Fashion-MNIST proxies "
          f"({args.train_size} images, {args.epochs} epochs, mbconv x0.5 width)")
    print(f"median best reward: TPE+Hyperband {statistics.median(tpe):.4f}, random {statistics.median(rnd):.4f}, "
          f"ratio {statistics.median(tpe) / statistics.median(rnd):.3f}")
    hits = [r for r in reach if r is not None]
    print(f"TPE+Hyperband reached random's final best in {len(hits)}/{args.seeds} seeds"
          + (f", median {statistics.median(hits):.0f} s of {args.budget:.0f} s" if hits else ""))


if __name__ == "__main__":
    main()
