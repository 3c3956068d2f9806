"""Hold a ``scaler`` process inside a trial's training, so a test can stop a worker provably mid-trial.

A test starts ``scaler`` with ``held(path)`` in its environment: this folder on PYTHONPATH makes
Python import this module at start-up (as ``sitecustomize``), and ``SCALER_TEST_HOLD_TRIAL`` names
``path``. The first process to reach a training report of a trial (the search's or the grid's: any
training inside an Optuna objective) creates ``path`` with ``<pid> <trial number>`` and blocks there
until it is killed or interrupted; the others go on. Without the variable nothing is changed, and
nothing of this is in scaler itself.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

HOLD_ENV = "SCALER_TEST_HOLD_TRIAL"


def held(path: Path) -> dict[str, str]:
    """The environment variables that make a ``scaler`` process started with them hold at ``path``."""
    paths = [str(Path(__file__).parent), *filter(None, [os.environ.get("PYTHONPATH")])]
    return {HOLD_ENV: str(path), "PYTHONPATH": os.pathsep.join(paths)}


def _hold(path: str, trial_number: int) -> None:
    """Create ``path`` with ``<pid> <trial number>`` and sleep until killed; if it exists, return."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return
    os.write(fd, f"{os.getpid()} {trial_number}\n".encode())
    os.close(fd)
    while True:  # short sleeps: a signal the kernel hands to another thread is only seen when this one wakes
        time.sleep(0.1)


def _install(path: str) -> None:
    """Note the trial each Optuna objective runs, and wrap every training's report callback so that a
    report inside an objective holds first."""
    import optuna

    from scaler.training import trainer

    running: list[int] = []  # the number of the trial whose objective runs now, if any
    optimize, train = optuna.study.Study.optimize, trainer.train

    def optimize_noting_the_trial(self: Any, func: Any, *args: Any, **kwargs: Any) -> Any:
        def objective(trial: Any) -> Any:
            running.append(trial.number)
            try:
                return func(trial)
            finally:
                running.pop()

        return optimize(self, objective, *args, **kwargs)

    def train_holding(model: Any, data: Any, cfg: Any, callback: Any = None, *args: Any, **kwargs: Any) -> Any:
        def report(r: Any) -> None:
            if running:
                _hold(path, running[-1])
            if callback is not None:
                callback(r)

        return train(model, data, cfg, report, *args, **kwargs)

    optuna.study.Study.optimize = optimize_noting_the_trial
    trainer.train = train_holding


if os.environ.get(HOLD_ENV):
    _install(os.environ[HOLD_ENV])
