"""Trainings a long benchmark keeps, so that a rerun trains only what is missing.

A cell is one training (``scaler.training.store.Training``: a Spec, its ``TrainConfig`` and the
``DataConfig`` of its data), kept in the one store of trainings (``scaler.training.store``) as a run
under a folder and found by ``training_key`` (the key ``scaler scale`` and ``scaler bench`` find
their trainings by), so a changed network, setting or data cut is a new cell, never a stale reuse,
and two benchmarks that train the same network the same way share the cell. Missing cells train in
a pool of ``jobs`` processes (``scaler.training.parallel``), each kept the moment it is in, so an
interrupted run loses at most the cells in flight.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from scaler.data import DataConfig, Dataset, load_data
from scaler.dsl import Spec
from scaler.results import results_root, schema
from scaler.search import load_space
from scaler.training.store import Store, Training

#: Where cells are kept when a benchmark is not told otherwise (as runs under its ``runs/``).
DEFAULT_FOLDER = results_root() / schema.BENCHMARKS / schema.BENCHMARK_CELLS
#: Fashion-MNIST's side, the benchmarks' data set.
RESOLUTION = 28


def fit_kept(cells: Sequence[Training], folder: Path, jobs: int, trained: Callable[[int, dict], None] | None = None,
             loaded: Mapping[DataConfig, Dataset] | None = None) -> list[dict]:
    """The run record of every cell, in order: found in the store under ``folder`` where kept, else
    trained (``jobs`` at a time), kept there and passed to ``trained(index, record)``. Data sets the
    caller already has (``loaded``, by their config) are not loaded again."""
    store = Store(folder, "benchmark")
    missing = {cell.key for cell in cells if store.find(cell) is None}
    print(f"{sum(cell.key not in missing for cell in cells)} of {len(cells)} trainings kept under {folder}; "
          f"training {len(missing)} with {jobs} job(s)", flush=True)
    records = []
    runs = store.train_all(cells, lambda cut: (loaded or {}).get(cut) or load_data(cut), jobs)
    for i, (record, reused) in enumerate(runs):
        records.append(record)
        if trained and not reused:
            trained(i, record)
    return records


def sample_mbconv(count: int, width: float, seed: int) -> list[Spec]:
    """``count`` architectures of the mbconv space drawn by a seeded random sampler, at ``width``: the
    same nets (and so the same cells) in every benchmark given the same seed."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = load_space("mbconv")
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    return [space.sample(study.ask(), name=f"arch{i}").scale(width=width, resolution=RESOLUTION) for i in range(count)]
