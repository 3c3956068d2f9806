"""Trainings a long benchmark keeps on disk, so that a rerun trains only what is missing.

A cell is one training: a Spec, its ``TrainConfig`` and the ``DataConfig`` of its data. Its outcome
is kept as JSON under a folder, named by ``training_key`` (the key ``scaler scale`` finds its
trainings by), so a changed network, setting or data cut is a new cell, never a stale reuse, and two
benchmarks that train the same network the same way share the cell. Missing cells train in a pool
of ``jobs`` processes (``scaler.training.parallel``), each written the moment it is in, so an
interrupted run loses at most the cells in flight.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from scaler.data import DataConfig, Dataset, load_data
from scaler.dsl import Spec
from scaler.results import read_json, results_root, schema, write_json
from scaler.results.record import BENCHMARK_CELL
from scaler.scaling.growth import network_identity
from scaler.search import load_space
from scaler.training.config import TrainConfig, training_key
from scaler.training.parallel import FitTask, fit_each

#: Where cells are kept when a benchmark is not told otherwise.
DEFAULT_FOLDER = results_root() / schema.BENCHMARKS / schema.BENCH_CELLS
#: Fashion-MNIST's side, the benchmarks' data set.
RESOLUTION = 28
#: What a cell keeps of a run record.
KEPT = BENCHMARK_CELL


@dataclasses.dataclass(frozen=True)
class Cell:
    """One training of a benchmark."""

    spec: Spec
    train: TrainConfig
    data: DataConfig

    def path(self, folder: Path) -> Path:
        return folder / f"{training_key(network_identity(self.spec), self.data, self.train)}.json"


def fit_kept(cells: Sequence[Cell], folder: Path, jobs: int, trained: Callable[[int, dict], None] | None = None,
             loaded: Mapping[DataConfig, Dataset] | None = None) -> list[dict]:
    """The kept outcome of every cell, in order: read from ``folder`` where kept, else trained
    (``jobs`` at a time), written there and passed to ``trained(index, outcome)``. Data sets the
    caller already has (``loaded``, by their config) are not loaded again."""
    outcomes: list[dict | None] = [read_json(cell.path(folder))[0] for cell in cells]
    missing = [i for i, outcome in enumerate(outcomes) if outcome is None]
    print(f"{len(cells) - len(missing)} of {len(cells)} trainings kept under {folder}; training {len(missing)} "
          f"with {jobs} job(s)", flush=True)
    configs = list(dict.fromkeys(cells[i].data for i in missing))
    data = {str(k): (loaded or {}).get(cfg) or load_data(cfg) for k, cfg in enumerate(configs)}
    tasks = [FitTask(cells[i].spec, cells[i].train, str(configs.index(cells[i].data))) for i in missing]
    for i, record in zip(missing, fit_each(tasks, data, jobs), strict=True):
        outcomes[i] = {key: record[key] for key in KEPT}
        write_json(cells[i].path(folder), outcomes[i])
        if trained:
            trained(i, outcomes[i])
    return outcomes  # type: ignore[return-value]


def sample_mbconv(count: int, width: float, seed: int) -> list[Spec]:
    """``count`` architectures of the mbconv space drawn by a seeded random sampler, at ``width``: the
    same nets (and so the same cells) in every benchmark given the same seed."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = load_space("mbconv")
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    return [space.sample(study.ask(), name=f"arch{i}").scale(width=width, resolution=RESOLUTION) for i in range(count)]
