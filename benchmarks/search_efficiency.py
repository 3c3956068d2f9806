"""TPE + Hyperband against random search without pruning: the same `scaler search` budget, over seeds.

Each arm is the command a user runs, `scaler search --space mbconv --trials N --confirm 0`, once with
the defaults (TPE sized to N: a quarter of the trials random start-up, the rest modelled; Hyperband
over reports within each epoch) and once with `--sampler random --pruner none`, for each seed, one
after the other so machine noise hits both. Both score candidates by the search's own objective (the
reward: accuracy traded against MACs, what TPE steers by). For each seed it reports each arm's best
reward and wall clock (from its first trial's start), and when TPE + Hyperband first reached random
search's final best, as a fraction of random search's time. The goal is at most half.

    .venv/bin/python benchmarks/search_efficiency.py [--trials 16] [--seeds 3] [--train-size 4000]
        [--val-size 1000] [--epochs 2] [--batch-size 64] [--width 0.25] [--jobs 2]
"""

from __future__ import annotations

import argparse
import signal
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import optuna

from scaler.results.schema import STORAGE
from scaler.training.parallel import end_with_parent

ARMS = {"TPE+Hyperband": ("tpe", "hyperband"), "random": ("random", "none")}


@dataclass(frozen=True)
class Arm:
    """One finished search: (seconds since its first trial started, reward) of each complete trial."""

    curve: list[tuple[float, float]]
    seconds: float
    pruned: int

    @property
    def best(self) -> float:
        return max(value for _, value in self.curve)

    def time_to_reach(self, target: float) -> float | None:
        return next((t for t, value in self.curve if value >= target), None)


def run_arm(sampler: str, pruner: str, seed: int, args: argparse.Namespace) -> Arm:
    """Run `scaler search` as a user would, in a fresh results folder, and read its study back."""
    with tempfile.TemporaryDirectory() as results:
        command = [sys.executable, "-m", "scaler", "search", "--space", "mbconv", "--sampler", sampler,
                   "--pruner", pruner, "--trials", str(args.trials), "--confirm", "0", "--seed", str(seed),
                   "--study", "bench", "--results", results, "--train-size", str(args.train_size),
                   "--val-size", str(args.val_size), "--epochs", str(args.epochs), "--batch-size", str(args.batch_size),
                   "--width", str(args.width),
                   "--json"] + (["--jobs", str(args.jobs)] if args.jobs else [])
        # the search stops cleanly (Ctrl-C) when this benchmark is killed, instead of training for nobody
        done = subprocess.run(command, capture_output=True, text=True, preexec_fn=lambda: end_with_parent(signal.SIGINT))
        if done.returncode != 0:
            sys.exit(f"search_efficiency: `{' '.join(command[2:])}` failed: {done.stderr.strip()[-500:]}")
        # read the trials while their database still exists (the folder goes with the block)
        trials = optuna.load_study(study_name="bench", storage=f"sqlite:///{Path(results) / STORAGE}").trials
    start = min(t.datetime_start for t in trials).timestamp()
    end = max(t.datetime_complete for t in trials).timestamp()
    complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    pruned = sum(t.state == optuna.trial.TrialState.PRUNED for t in trials)
    curve = sorted((t.datetime_complete.timestamp() - start, t.value) for t in complete)
    return Arm(curve, end - start, pruned)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=16, help="--trials of each search (default 16, the search's)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--train-size", type=int, default=4000)
    parser.add_argument("--val-size", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64, help="64 (default): enough steps to learn on 4,000 images")
    parser.add_argument("--width", type=float, default=0.25)
    parser.add_argument("--jobs", type=int, help="--jobs of each search (default: the search's own)")
    args = parser.parse_args()
    reached, best = [], {name: [] for name in ARMS}
    for seed in range(args.seeds):
        arms = {name: run_arm(sampler, pruner, seed, args) for name, (sampler, pruner) in ARMS.items()}
        tpe, rnd = arms["TPE+Hyperband"], arms["random"]
        for name, arm in arms.items():
            best[name].append(arm.best)
        hit = tpe.time_to_reach(rnd.best)
        reached.append(None if hit is None else hit / rnd.seconds)
        print(f"seed {seed}: TPE+Hyperband best {tpe.best:.4f} ({len(tpe.curve)} complete, {tpe.pruned} pruned, "
              f"{tpe.seconds:.0f} s); random best {rnd.best:.4f} ({len(rnd.curve)} complete, {rnd.seconds:.0f} s); "
              + (f"TPE+Hyperband reached random's best after {hit:.0f} s ({reached[-1]:.2f} of random's time)"
                 if hit is not None else "TPE+Hyperband never reached random's best"), flush=True)
    print(f"\n{args.trials} trials a search, {args.seeds} seeds, Fashion-MNIST proxies ({args.train_size} images, "
          f"{args.epochs} epochs at batch {args.batch_size}, val {args.val_size}, mbconv x{args.width:g} width)")
    tpe_median, rnd_median = statistics.median(best["TPE+Hyperband"]), statistics.median(best["random"])
    print(f"median best reward: TPE+Hyperband {tpe_median:.4f}, random {rnd_median:.4f}, "
          f"ratio {tpe_median / rnd_median:.3f}")
    hits = [r for r in reached if r is not None]
    print(f"TPE+Hyperband reached random's final best in {len(hits)}/{args.seeds} seeds"
          + (f", median at {statistics.median(hits):.2f} of random's time" if hits else "")
          + f"; within half of it (the goal) in {sum(r <= 0.5 for r in hits)}/{args.seeds}")


if __name__ == "__main__":
    main()
