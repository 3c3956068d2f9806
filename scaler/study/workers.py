"""Workers and dead workers: who runs a trial, whether that process still lives, and the one retry
mechanism (fail the dead worker's trial, queue it again with its parameters).

A trial's worker is stored in its user attribute ``worker`` (``host[/pid-namespace]:pid``). A dead
worker of this host is noticed at once by its PID; one of another host by its stopped heartbeat.
Either way ``retry_trial`` queues the trial again, at most ``MAX_RETRIES`` times along a chain.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

import optuna

MAX_RETRIES = 2  # a trial whose worker died (or was stopped) is queued again at most this often

#: User attributes a re-queued trial keeps (the search's marks from when it was first queued); the
#: rest (worker, metrics) belong to the failed attempt.
_QUEUE_ATTRS = ("reference", "prefiltered", "prefilter_score")


def host_id() -> str:
    """This machine as the dead-worker check sees it: the host name and, on Linux, the PID namespace
    (containers that share a host name have their own PIDs, which mean nothing to each other)."""
    try:
        return f"{socket.gethostname()}/{os.stat('/proc/self/ns/pid').st_ino}"
    except OSError:
        return socket.gethostname()


def worker_id() -> str:
    """``host[/pid-namespace]:pid`` of this process, asked anew each time (a forked child is another worker)."""
    return f"{host_id()}:{os.getpid()}"


def alive(pid: int) -> bool:
    """Whether process ``pid`` of this PID namespace still runs (a zombie, killed but not yet reaped by
    its parent, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def claim(study: Any, trial: Any) -> None:
    """Record this process as ``trial``'s worker: the first thing a trial does, so ``reap`` can judge it."""
    study._storage.set_trial_user_attr(trial._trial_id, "worker", worker_id())


def fail(study: Any, trial: Any) -> bool:
    """Mark a RUNNING trial failed; False if it had already finished (another worker got there first:
    the storage locks the trial's row, so exactly one caller wins)."""
    try:
        return bool(study._storage.set_trial_state_values(trial._trial_id, state=optuna.trial.TrialState.FAIL))
    except optuna.exceptions.UpdateFinishedTrialError:
        return False


def stored_trial(study: Any, trial_id: int) -> Any:
    """The trial with storage id ``trial_id`` as the storage has it now."""
    return study._storage.get_trial(trial_id)


def retry_trial(study: Any, trial: Any, reason: str) -> bool:
    """Queue a failed trial again with its parameters and system attributes (a GridSampler's grid
    point among them), at most ``MAX_RETRIES`` times along a chain of retries. The new trial has
    user attributes ``retry_of`` (the failed trial's number) and ``retry_reason``; Optuna's
    ``failed_trial``/``retry_history`` system attributes are kept as its own retry callback sets them."""
    history = [*trial.system_attrs.get("retry_history", []), trial.number]
    if len(history) > MAX_RETRIES:
        return False
    user = {k: v for k, v in trial.user_attrs.items() if k in _QUEUE_ATTRS}
    system = {**trial.system_attrs, "failed_trial": trial.number, "retry_history": history}
    study.add_trial(optuna.trial.create_trial(
        state=optuna.trial.TrialState.WAITING, params=trial.params, distributions=trial.distributions,
        user_attrs={**user, "retry_of": trial.number, "retry_reason": reason}, system_attrs=system))
    return True


def retry_stale(study: Any, trial: Any) -> None:
    """The heartbeat callback: Optuna has failed ``trial`` because its worker stopped beating."""
    retry_trial(study, trial, "its worker's heartbeat stopped")


def recover_dead_trials(study: Any, trials: list | None = None) -> int:
    """Fail and re-queue trials left RUNNING by a process of this host that no longer exists (at once,
    without waiting for the heartbeat grace period). Safe with many workers: each dead trial is failed
    and re-queued once, by the worker whose ``fail`` wins. ``trials``: the study's trials if just read."""
    recovered = 0
    if trials is None:
        trials = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
    host = host_id()
    for trial in trials:
        if trial.state != optuna.trial.TrialState.RUNNING:
            continue
        owner_host, _, pid = trial.user_attrs.get("worker", "").rpartition(":")
        if owner_host == host and pid.isdigit() and not alive(int(pid)) and fail(study, trial):
            retry_trial(study, trial, "its worker process is gone")
            recovered += 1
    return recovered


def reap(study: Any) -> int:
    """Fail and re-queue every trial whose worker is dead: heartbeats (any host) and PIDs (this host)."""
    optuna.storages.fail_stale_trials(study)
    return recover_dead_trials(study)
