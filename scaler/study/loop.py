"""A worker's way through a shared study: create or join it, refuse one run with other settings, and
run trials one at a time until the study has its budget, whoever trains them.

The search and the scaling grid both run ``run_trials``; any number of workers (processes, machines)
may run it on one study at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import optuna

from scaler.errors import RunFailedError, ScalerError, first_line
from scaler.study.budget import CLAIMS, COUNTED, BudgetSampler, TrialNotCounted
from scaler.study.storage import mask_url
from scaler.study.workers import MAX_RETRIES, fail, recover_dead_trials, retry_trial, stored_trial

POLL_S = 1.0  # how often a worker with nothing to start looks at the study again


@dataclass(frozen=True)
class LoopOutcome:
    """How this worker's run of trials ended: ``stopped_by`` is None (the study has its budget),
    ``"timeout"`` or ``"interrupt"``; ``recovered`` counts dead workers' trials it re-queued;
    ``requeued`` is the number of its trial in flight at an interrupt, failed and queued again."""

    stopped_by: str | None
    recovered: int
    requeued: int | None = None


def open_study(storage: Any, name: str, sampler: BudgetSampler, pruner: Any = None,
               directions: Sequence[str] = ("maximize",)) -> tuple[Any, bool]:
    """(the study, whether this call created it): a study that exists is resumed or joined."""
    try:
        return optuna.create_study(storage=storage, study_name=name, directions=list(directions), sampler=sampler,
                                   pruner=pruner), True
    except optuna.exceptions.DuplicatedStudyError:
        return optuna.load_study(study_name=name, storage=storage, sampler=sampler, pruner=pruner), False


def pin_settings(study: Any, settings: dict, what: str) -> None:
    """Record ``settings`` on a new study; refuse to resume one that was run with other settings
    (its trials would not be comparable), naming the settings that differ."""
    previous = study.user_attrs.get("settings")
    if previous is None:
        study.set_user_attr("settings", settings)
    elif previous != settings:
        changed = sorted(k for k in settings if previous.get(k) != settings[k])
        raise ScalerError(f"{what} {study.study_name!r} was run with other settings ({', '.join(changed)}); "
                          f"use another --study or the same flags")


class _QuietFailures(logging.Filter):
    """Optuna logs every failed trial with its traceback; scaler says why in one line of its own
    (surplus, interrupted, out of memory) or lets the error propagate."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (message.startswith("Trial ") and " failed with " in message)


def quiet_optuna() -> None:
    """Optuna's own logging down to warnings, without its per-failed-trial tracebacks."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    logger = logging.getLogger("optuna.study._optimize")
    if not any(isinstance(f, _QuietFailures) for f in logger.filters):
        logger.addFilter(_QuietFailures())


def run_trials(study: Any, objective: Callable[[Any], Any], sampler: BudgetSampler, log: Callable[[str], None],
               noun: str = "trial", timeout: float | None = None, callbacks: Sequence[Callable] = (),
               on_count: Callable[[int], None] | None = None, poll_s: float = POLL_S) -> LoopOutcome:
    """Run trials of ``study`` (whose sampler is ``sampler``) one at a time until it has
    ``sampler.budget`` COMPLETE+PRUNED trials, trained by this worker or others.

    One trial per ``optimize`` call (Optuna still runs the heartbeat and fails stale trials), so that
    between trials this worker looks at the whole study: it re-queues the trials of dead workers of
    this host, stops at the budget or after ``timeout`` seconds, and waits while the last trials run
    elsewhere, failing and re-queueing them if their workers die. ``on_count`` gets the number of
    finished trials at each look; ``callbacks`` are Optuna's, after each trial. Ctrl-C fails and
    re-queues the trial in flight and returns (``stopped_by="interrupt"``); so does a RunFailedError,
    which is raised again.
    """
    guarded = _skip_surplus(objective, sampler)
    started, recovered, waiting_said = time.monotonic(), 0, False
    try:
        while True:
            trials = study.get_trials(deepcopy=False)
            dead = recover_dead_trials(study, trials)
            if dead:
                log(f"re-queued {dead} {noun}(s) of a worker process on this host that is gone")
                recovered += dead
                continue
            done = sum(t.state in COUNTED for t in trials)
            if on_count is not None:
                on_count(done)
            if done >= sampler.budget:
                return LoopOutcome(None, recovered)
            if timeout is not None and time.monotonic() - started >= timeout:
                return LoopOutcome("timeout", recovered)
            live = sum(t.state in CLAIMS for t in trials)
            if live >= sampler.budget and not any(t.state == optuna.trial.TrialState.WAITING for t in trials):
                if not waiting_said:
                    log(f"waiting for the last {live - done} {noun}(s), running on other workers")
                    waiting_said = True
                time.sleep(poll_s)
                optuna.storages.fail_stale_trials(study)  # other hosts' dead workers (this host's: above)
                continue
            study.optimize(guarded, n_trials=1, catch=(TrialNotCounted,), callbacks=list(callbacks))
            sampler.current = None
    except KeyboardInterrupt:
        return LoopOutcome("interrupt", recovered, _release(study, sampler, "its worker was interrupted", log))
    except RunFailedError:
        _release(study, sampler, "its worker could not write its results", log)
        raise


def _skip_surplus(objective: Callable[[Any], Any], sampler: BudgetSampler) -> Callable[[Any], Any]:
    """``objective``, except that a trial beyond the budget ends at once, FAIL and not counted."""

    def run(trial: Any) -> Any:
        if sampler.is_surplus(trial):
            trial.set_user_attr("surplus", True)
            raise TrialNotCounted(f"trial {trial.number} is surplus: the study's {sampler.budget} trials are taken")
        return objective(trial)

    return run


def _release(study: Any, sampler: BudgetSampler, reason: str, log: Callable[[str], None]) -> int | None:
    """Fail this worker's trial in flight (if Optuna has not already) and queue it again, so that
    another worker or a rerun trains it; returns its number, or None when nothing was in flight."""
    trial_id, sampler.current = sampler.current, None
    if trial_id is None or trial_id in sampler.surplus:
        return None
    try:
        trial = stored_trial(study, trial_id)
        if trial.state == optuna.trial.TrialState.RUNNING and not fail(study, trial):
            return None
        if stored_trial(study, trial_id).state != optuna.trial.TrialState.FAIL or "duplicate_of" in trial.user_attrs:
            return None  # it finished before the stop
        if retry_trial(study, trial, reason):
            log(f"trial {trial.number} marked failed and queued again ({reason})")
            return trial.number
        log(f"trial {trial.number} marked failed (already retried {MAX_RETRIES} times)")
    except Exception as exc:  # noqa: BLE001 - e.g. the storage is gone: the heartbeat / PID check will fail it
        log(f"could not mark the trial in flight failed: {mask_url(first_line(exc))}")
    return None
