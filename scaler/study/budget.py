"""The exact trial budget across workers: ``BudgetSampler`` decides, as a trial starts, whether it may
train; a trial that may not (or that repeats a grid point another trial holds) ends ``TrialNotCounted``."""

from __future__ import annotations

from typing import Any

import optuna

from scaler.study.workers import claim

#: Trials that count toward the budget once finished, and those that hold a slot of it.
COUNTED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
CLAIMS = (*COUNTED, optuna.trial.TrialState.RUNNING, optuna.trial.TrialState.WAITING)


class TrialNotCounted(Exception):
    """Ends a trial FAIL before any training: it is surplus to the budget, or a grid point another
    trial already holds. Such a trial never counts toward the budget and is never re-queued."""


class BudgetSampler(optuna.samplers.BaseSampler):
    """Wraps a sampler so that N workers sharing a study finish exactly ``budget`` trials between them.

    The rule, applied when a trial starts: it may train only if fewer than ``budget`` trials with a
    lower number are WAITING, RUNNING, COMPLETE or PRUNED. Optuna numbers trials under a lock on the
    study's row, so every lower-numbered trial is visible then. Otherwise the trial is *surplus*: the
    wrapped sampler never sees it (a GridSampler gives it no grid point), the worker loop ends it FAIL
    with user attribute ``surplus`` (``TrialNotCounted``), and its worker waits for the study to finish.
    A trial that fails later (a dead or interrupted worker) is re-queued under a higher number and then
    finds its slot free. So no trial finishes beyond the budget (each finished one had fewer than
    ``budget`` live trials before it) and none is missing (workers stop only once the study has
    ``budget`` COMPLETE+PRUNED trials).

    Every trial also reseeds the wrapped sampler's random state from (seed, trial number), so workers
    started with the same seed do not draw the same candidates, and a resumed study does not draw its
    first candidates again.
    """

    def __init__(self, base: Any, budget: int, seed: int = 0) -> None:
        self.base, self.budget, self.seed = base, budget, seed
        self.surplus: set[int] = set()
        self.current: int | None = None  # trial id of this process's trial in flight

    def is_surplus(self, trial: Any) -> bool:
        """Whether ``trial`` (started by this process) is beyond the budget."""
        return trial._trial_id in self.surplus

    def before_trial(self, study: Any, trial: Any) -> None:
        claim(study, trial)  # first thing: for reap()
        self.current = trial._trial_id
        before = study._storage.get_all_trials(study._study_id, deepcopy=False, states=CLAIMS)
        if sum(t.number < trial.number for t in before) >= self.budget:
            self.surplus.add(trial._trial_id)
            return
        _reseed(self.base, [self.seed % 2**32, trial.number])
        self.base.before_trial(study, trial)

    def infer_relative_search_space(self, study: Any, trial: Any) -> dict:
        if trial._trial_id in self.surplus:
            return {}
        return self.base.infer_relative_search_space(study, trial)

    def sample_relative(self, study: Any, trial: Any, search_space: dict) -> dict:
        if trial._trial_id in self.surplus:
            return {}
        return self.base.sample_relative(study, trial, search_space)

    def sample_independent(self, study: Any, trial: Any, param_name: str, param_distribution: Any) -> Any:
        return self.base.sample_independent(study, trial, param_name, param_distribution)

    def after_trial(self, study: Any, trial: Any, state: Any, values: Any) -> None:
        if trial._trial_id not in self.surplus:
            self.base.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        self.base.reseed_rng()


def _reseed(sampler: Any, seed: list[int], depth: int = 0) -> None:
    """Reseed every random state of an Optuna sampler (and of the samplers it holds)."""
    from optuna.samplers._lazy_random_state import LazyRandomState

    for value in vars(sampler).values():
        if isinstance(value, LazyRandomState):
            value.rng.seed(seed)
        elif isinstance(value, optuna.samplers.BaseSampler) and depth < 3:
            _reseed(value, seed, depth + 1)


def planned_params(trial: Any) -> dict:
    """A trial's parameters, or those it was queued with."""
    return trial.params or trial.system_attrs.get("fixed_params", {})


def ensure_unique(study: Any, trial: Any) -> None:
    """A grid's safety net, called once ``trial`` has its parameters: if a lower-numbered trial holds the
    same point (GridSampler hands out a running point when none is left, and two workers can draw one
    at once), this trial steps aside, FAIL with user attribute ``duplicate_of``, and is not counted."""
    twin = next((t.number for t in study.get_trials(deepcopy=False, states=CLAIMS)
                 if t.number < trial.number and planned_params(t) == trial.params), None)
    if twin is not None:
        trial.set_user_attr("duplicate_of", twin)
        raise TrialNotCounted(f"trial {trial.number} is the grid point of trial {twin}")
