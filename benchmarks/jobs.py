"""Training processes on a CPU: the same trainings one after another in one process (all cores)
against ``--jobs`` processes of ``cores // jobs`` threads, side by side in one run.

The trainings are what a search and its confirmation run: candidates of the mbconv space (and B0)
at search fidelity (width 0.5, 2 epochs, the adapted strides) on Fashion-MNIST. Wall time includes
the pool's start (spawning, importing torch, receiving the data), as a search pays it.

    .venv/bin/python benchmarks/jobs.py [--nets 4] [--jobs 2] [--train-size 4000]
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import optuna

from scaler.data import DataConfig, load_data
from scaler.search.config import load_space, reference_point
from scaler.strides import adapt_strides
from scaler.training.fidelity import PROXY
from scaler.training.parallel import FitTask, cpu_cores, fit_each, threads
from scaler.training.trainer import TrainConfig


def tasks(nets: int, resolution: int, train: TrainConfig) -> list[FitTask]:
    """B0 and ``nets - 1`` random candidates of the mbconv space, at search fidelity."""
    space = load_space("mbconv")
    sampler = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    specs = [space.fix(reference_point(space)[1])] + [space.sample(sampler.ask()) for _ in range(nets - 1)]
    return [FitTask(adapt_strides(s.scale(width=PROXY.width, resolution=resolution), resolution, PROXY.min_feature,
                                  PROXY.strides), dataclasses.replace(train, seed=i)) for i, s in enumerate(specs)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nets", type=int, default=4)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--train-size", type=int, default=4000)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    data = load_data(DataConfig(train_size=args.train_size))
    work = tasks(args.nets, data.resolution, TrainConfig(epochs=PROXY.epochs, device="cpu"))
    images = sum(len(data.x_train) * t.train.epochs for t in work)
    print(f"{args.nets} trainings of {len(data.x_train)} images x {PROXY.epochs} epochs on {cpu_cores()} cores")
    timings = {}
    for jobs in (1, args.jobs):
        with threads(cpu_cores()):
            start = time.perf_counter()
            records = list(fit_each(work, data, jobs))
            timings[jobs] = time.perf_counter() - start
        accs = " ".join(f"{r['val_acc']:.3f}" for r in records)
        print(f"jobs {jobs}: {timings[jobs]:6.1f} s, {images / timings[jobs]:5.0f} img/s; val acc {accs}")
    print(f"jobs {args.jobs} / jobs 1 throughput: {timings[1] / timings[args.jobs]:.2f}x")


if __name__ == "__main__":
    main()
