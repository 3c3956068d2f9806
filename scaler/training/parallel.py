"""Several trainings at once on one CPU (``--jobs N``): ``N`` processes of ``cores // N`` threads each.

Small proxy nets do not keep two cores busy from one process (a 28 px batch is a few small GEMMs
per layer, and the step's Python and synchronisation are serial), so two one-thread processes train
more images per second than one two-thread process (``benchmarks/jobs.py`` measures it side by
side). On a GPU one process owns the device, so the default there is one job.

Two shapes: ``fit_each`` trains a known list of (Spec, settings) in a pool, yielding each record in
order; ``helper_workers`` runs ``N - 1`` helper processes beside the caller, each an ordinary worker of
the caller's Optuna study (a search or a scale grid: the budget is counted in the storage, a dead
helper's trial is queued again by the others). Helpers start after the caller has created the study
and end when it has its budget; Ctrl-C or a stop of the caller stops them the same clean way. With
more than one helper, trials finish in an order that depends on timing, so the sampler sees its
history in another order: ``--jobs 1`` is the reproducible setting.

Processes are started with ``spawn`` (forking a process whose OpenMP pool already runs can hang the
child); a pool's processes receive the data set once, through the pool's initializer. On Linux every
such process ends with the process that started it, even one killed outright: a pool process at once,
a helper by the clean stop of Ctrl-C.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from scaler.data import Dataset
from scaler.dsl import Spec
from scaler.errors import ScalerError
from scaler.training.trainer import TrainConfig

#: The environment variable that sets ``--jobs`` when the flag is not given.
JOBS_ENV = "SCALER_JOBS"
STOP_WAIT_S = 120  # how long a stopped helper may take to give its trial back before it is killed


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
    weights: bool = False  # return the trained weights too (under WEIGHTS, on the CPU)
    label: str = ""  # with a label, the training's progress goes to stderr (``scaler.training.fit.EpochLog``)
    checkpoint: str = ""  # with a path, the training keeps its checkpoint there (``scaler.training.checkpoint``)


WEIGHTS = "state_dict"
"""The key of a ``fit_each`` record that holds the trained weights of a task that asked for them."""


_DATA: Mapping[str, Dataset] = {}  # the data sets of this pool process, set once by ``_start_job``


def end_with_parent(signum: int) -> None:
    """Have the kernel send this process ``signum`` when the process that started it dies (Linux), so a
    parent stopped by ``kill`` or SIGKILL leaves no orphan training on; elsewhere nothing is done."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signum, 0, 0, 0)
    if os.getppid() == 1:  # the parent died before the request was made
        os.kill(os.getpid(), signum)


def _start_job(data: Mapping[str, Dataset], count: int) -> None:
    global _DATA
    end_with_parent(signal.SIGTERM)  # a pool process's work is only wanted by the process that queued it
    _DATA = data
    torch.set_num_threads(count)


def _fit_record(task: FitTask, data: Mapping[str, Dataset] | None = None) -> dict:
    from scaler.training.fit import EpochLog, cpu_weights, fit

    checkpoint = Path(task.checkpoint) if task.checkpoint else None
    progress = EpochLog.starting(task.label, task.train.epochs, log_to_stderr, checkpoint) if task.label else None
    record, model = fit(task.spec, (_DATA if data is None else data)[task.data], task.train, callback=progress,
                        evaluate_test=True, checkpoint=checkpoint)
    if task.weights:
        record[WEIGHTS] = cpu_weights(model)
    return record


def fit_each(tasks: Sequence[FitTask], data: Dataset | Mapping[str, Dataset], jobs: int) -> Iterator[dict]:
    """The run record of every task (validation and test accuracy evaluated), yielded in the tasks'
    order as each is ready (a caller can save each at once; a task with ``weights`` has them under
    ``WEIGHTS``): one after another in this process for
    ``jobs`` 1, else in ``jobs`` spawned processes. A task's numbers depend on its Spec, settings and
    thread count, not on which process ran it or when."""
    sets = {"": data} if isinstance(data, Dataset) else dict(data)
    if jobs <= 1 or len(tasks) <= 1:
        for task in tasks:
            yield _fit_record(task, sets)
        return
    workers = min(jobs, len(tasks))
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_start_job, initargs=(sets, threads_per_job(workers))) as pool:
        yield from pool.map(_fit_record, tasks)


def log_to_stderr(message: str) -> None:
    """A helper's log: a module-level function, since what a spawned process is given must be importable."""
    print(message, file=sys.stderr)


def _helper(target: Callable[..., Any], args: tuple, count: int) -> None:
    """A helper process: ``target(*args)`` with ``count`` threads; a ScalerError is its one line."""
    end_with_parent(signal.SIGINT)  # the loop's clean stop: its trial is queued again
    torch.set_num_threads(count)
    try:
        target(*args)
    except ScalerError as exc:
        print(f"scaler: job {multiprocessing.current_process().name}: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:  # the loop gave its trial back; nothing more to say
        sys.exit(130)


@contextmanager
def helper_workers(target: Callable[..., Any], args: tuple, jobs: int, log: Callable[[str], None]) -> Iterator[list[int]]:
    """Run the block in this process beside ``jobs - 1`` spawned processes running ``target(*args)``
    (``target`` a module-level function, ``args`` what a spawned process can be given), all at
    ``threads_per_job(jobs)`` threads. Yields the helpers' process ids (none for one job), so the caller
    can tell its helpers' trials from other workers'."""
    if jobs <= 1:
        yield []
        return
    count = threads_per_job(jobs)
    context = multiprocessing.get_context("spawn")
    helpers = [context.Process(target=_helper, args=(target, args, count), name=f"{i + 1}/{jobs}")
               for i in range(1, jobs)]
    for process in helpers:
        process.start()
    log(f"{jobs} worker processes of {count} thread(s) each (--jobs {jobs})")
    stopped = True
    try:
        with threads(count):
            yield [process.pid for process in helpers if process.pid is not None]
        stopped = False
    finally:
        for process in helpers:
            if stopped and process.is_alive():
                os.kill(process.pid, signal.SIGINT)  # the loop's clean stop: its trial is queued again
            process.join(STOP_WAIT_S if stopped else None)
            if process.is_alive():
                process.kill()
                process.join()
            if not stopped and process.exitcode:
                log(f"worker process {process.name} ended with exit code {process.exitcode}; "
                    f"the others trained its share")
