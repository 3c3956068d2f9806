"""``--jobs N``: N worker processes of one study on this machine, the caller's own among them.

The N - 1 helpers are ordinary workers of the study (``scaler.study.loop.run_trials`` in each,
the budget counted in the storage, a dead one's trial queued again by the others), spawned with
``cores // N`` torch threads each while the caller's process runs with as many. They start after the
caller has created the study and queued its first trials, and end when the study has its budget;
Ctrl-C or a stop of the caller stops them the same clean way (their trials in flight are failed and
queued again).

With more than one job, trials finish in an order that depends on timing, so the sampler sees its
history in another order and the same seed need not give the same trials: ``--jobs 1`` is the
reproducible setting.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from scaler.errors import ScalerError
from scaler.training.parallel import threads, threads_per_job

STOP_WAIT_S = 120  # how long a stopped helper may take to give its trial back before it is killed


def log_to_stderr(message: str) -> None:
    """A helper's log (a lambda of the caller's would not pickle)."""
    print(message, file=sys.stderr)


def _helper(target: Callable[..., Any], args: tuple, count: int) -> None:
    """A helper process: ``target(*args)`` with ``count`` threads; a ScalerError is its one line."""
    import torch

    torch.set_num_threads(count)
    try:
        target(*args)
    except ScalerError as exc:
        print(f"scaler: job {multiprocessing.current_process().name}: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:  # the loop gave its trial back; nothing more to say
        sys.exit(130)


@contextmanager
def helper_workers(target: Callable[..., Any], args: tuple, jobs: int, log: Callable[[str], None]) -> Iterator[None]:
    """Run the block in this process beside ``jobs - 1`` spawned processes running ``target(*args)``
    (``target`` a module-level function, ``args`` picklable), all at ``threads_per_job(jobs)`` threads."""
    if jobs <= 1:
        yield
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
            yield
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
