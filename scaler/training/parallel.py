"""Several trainings at once on one CPU: ``jobs`` processes of ``cores // jobs`` threads each.

Small proxy nets do not keep two cores busy from one process (a 28 px batch is a few small GEMMs
per layer, and the step's Python and synchronisation are serial), so two one-thread processes train
more images per second than one two-thread process (``benchmarks/jobs.py`` measures it side by
side). On a GPU one process owns the device, so the default there is one job.

Processes are started with ``spawn`` (forking a process whose OpenMP pool already runs can hang the
child); each receives the data set once, through the pool's initializer.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

import torch

from scaler.data import Dataset
from scaler.dsl import Spec
from scaler.errors import ScalerError
from scaler.training.trainer import TrainConfig

#: The environment variable that sets ``--jobs`` when the flag is not given.
JOBS_ENV = "SCALER_JOBS"


def cpu_cores() -> int:
    """The cores this process may run on (its affinity, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def default_jobs(device: str) -> int:
    """Training processes when ``--jobs`` is not given: ``$SCALER_JOBS`` if set, else on a CPU one per
    core, at most 4 (measured on 2 cores, two one-thread processes against one two-thread process,
    ``benchmarks/jobs.py``; more than 4 was not measured), and one on a GPU, which one process keeps busy."""
    told = os.environ.get(JOBS_ENV)
    if told:
        if not told.isdigit() or int(told) < 1:
            raise ScalerError(f"${JOBS_ENV} must be a whole number of at least 1, got {told!r}")
        return int(told)
    if device.startswith("cuda") or (device == "auto" and torch.cuda.is_available()):
        return 1
    return max(1, min(4, cpu_cores()))


def threads_per_job(jobs: int) -> int:
    """Torch intra-op threads of each of ``jobs`` processes sharing this machine's cores."""
    return max(1, cpu_cores() // max(1, jobs))


@contextmanager
def threads(count: int) -> Iterator[None]:
    """Run the block with ``count`` torch threads, then put the previous number back."""
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@dataclass(frozen=True)
class FitTask:
    """One training of ``fit_each``: a Spec, its training settings (its seed) and which of the data
    sets it trains on (a key of the mapping given to ``fit_each``; one data set: the empty key)."""

    spec: Spec
    train: TrainConfig
    data: str = ""


_DATA: Mapping[str, Dataset] = {}  # the data sets of this pool process, set once by ``_start_job``


def _start_job(data: Mapping[str, Dataset], count: int) -> None:
    global _DATA
    _DATA = data
    torch.set_num_threads(count)


def _fit_record(task: FitTask, data: Mapping[str, Dataset] | None = None) -> dict:
    from scaler.training.fit import fit

    return fit(task.spec, (_DATA if data is None else data)[task.data], task.train, evaluate_test=True)[0]


def fit_each(tasks: Sequence[FitTask], data: Dataset | Mapping[str, Dataset], jobs: int) -> Iterator[dict]:
    """The run record of every task (validation and test accuracy evaluated), yielded in the tasks'
    order as each is ready (a caller can save each at once): one after another in this process for
    ``jobs`` 1, else in ``jobs`` spawned processes. A task's numbers depend on its Spec, settings and
    thread count, not on which process ran it or when."""
    sets = {"": data} if isinstance(data, Dataset) else dict(data)
    if jobs <= 1 or len(tasks) <= 1:
        for task in tasks:
            yield _fit_record(task, sets)
        return
    import multiprocessing

    workers = min(jobs, len(tasks))
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_start_job, initargs=(sets, threads_per_job(workers))) as pool:
        yield from pool.map(_fit_record, tasks)
