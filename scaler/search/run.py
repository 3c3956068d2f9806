"""``run_search``: join (or create) the study, queue its first candidates, train trials with the shared
worker loop until the study has its budget, then summarize and save what it found."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

from scaler.data import Dataset
from scaler.dsl import Space, TrainedFor
from scaler.search.config import (
    SearchConfig,
    grid_size,
    load_space,
    make_pruner,
    make_sampler,
    reference_point,
    study_settings,
)
from scaler.search.objective import Objective, default_target, prefilter
from scaler.search.summary import SearchInterrupted, SearchResult, save_search, summarize
from scaler.study.budget import COUNTED, BudgetSampler
from scaler.study.loop import LoopOutcome, open_study, pin_settings, quiet_optuna, run_trials
from scaler.study.storage import open_storage, storage_failures
from scaler.training.parallel import helper_workers, log_to_stderr
from scaler.training.trainer import TrainConfig


def run_search(cfg: SearchConfig, data: Dataset, train_cfg: TrainConfig, results: str | Path | None = None,
               progress: bool = True, log: Callable[[str], None] = print, storage: Any = None) -> SearchResult:
    """Run (or resume, or join) the study, then save the best Spec and the tables under results/search/.

    Any number of processes may run this on one study (an RDB storage such as PostgreSQL): between them
    they finish exactly ``cfg.trials`` COMPLETE+PRUNED trials (``BudgetSampler``); each keeps going
    until the study has them, re-queueing the trials of dead workers. ``storage``: an already opened
    Optuna storage (else ``cfg.storage`` or the default is opened). Raises ``SearchInterrupted`` (a
    KeyboardInterrupt) after a clean stop on Ctrl-C, and ``RunFailedError`` with the URL's password
    masked when the storage fails mid-run.
    """
    from scaler.results import default_storage

    url = cfg.storage or default_storage(results)
    with storage_failures(url):
        return _run_search(cfg, data, train_cfg, results, progress, log, url, storage or open_storage(url))


def _run_search(cfg: SearchConfig, data: Dataset, train_cfg: TrainConfig, results: str | Path | None,
                progress: bool, log: Callable[[str], None], url: str, storage: Any) -> SearchResult:
    quiet_optuna()
    cfg = dataclasses.replace(cfg, jobs=cfg.fidelity.processes(train_cfg.device))  # --jobs, else default_jobs
    space = load_space(cfg.space)
    target, target_source = (cfg.target_macs, "--target-macs") if cfg.target_macs else default_target(space, cfg, data)
    study, sampler, created = _join_study(space, cfg, train_cfg, data, target, storage)
    reference = reference_point(space)
    _queue_first(study, space, cfg, data, reference, created, log)
    objective = Objective(cfg, space, data, train_cfg, study, target, reference, results, log)
    with helper_workers(search_worker, (cfg, data, train_cfg, results, url, target), cfg.jobs, log):
        outcome = _train(study, sampler, objective, cfg, progress, log)
    # the worker that created the study confirms its finding once the budget is done (the others wait
    # for the same trials, so it sees the whole study); an interrupted or timed-out run does not
    confirming = created and outcome.stopped_by is None
    result = _save(study, url, cfg, target, results, _stats(study, outcome, sampler.budget, target_source, cfg.jobs),
                   TrainedFor(data.name, data.num_classes, data.in_channels),
                   (data, train_cfg, log) if confirming else None)
    if outcome.stopped_by == "interrupt":
        raise SearchInterrupted(result, outcome.requeued)
    return result


def search_worker(cfg: SearchConfig, data: Dataset, train_cfg: TrainConfig, results: str | Path | None, url: str,
                  target: float) -> None:
    """One of the ``--jobs`` helpers: trains trials of the study the calling process created and
    queued until it has its budget; the caller summarizes, confirms and saves."""
    quiet_optuna()
    with storage_failures(url):
        space = load_space(cfg.space)
        study, sampler, _ = _join_study(space, cfg, train_cfg, data, target, open_storage(url))
        objective = Objective(cfg, space, data, train_cfg, study, target, reference_point(space), results, log_to_stderr)
        _train(study, sampler, objective, cfg, False, log_to_stderr)


def _join_study(space: Space, cfg: SearchConfig, train_cfg: TrainConfig, data: Dataset, target: float,
                storage: Any) -> tuple[Any, BudgetSampler, bool]:
    """(the study, its budget sampler, whether this worker created it); a resumed or joined study must
    have been run with the same settings. A grid's budget is at most its number of points."""
    budget = min(cfg.trials, grid_size(space)) if cfg.sampler == "grid" else cfg.trials
    sampler = BudgetSampler(make_sampler(cfg, space), budget, cfg.seed)
    directions = ["maximize", "minimize"] if cfg.objective == "pareto" else ["maximize"]
    study, created = open_study(storage, cfg.study or f"{space.name}-{cfg.objective}", sampler,
                                make_pruner(cfg, train_cfg), directions)
    pin_settings(study, study_settings(space, cfg, train_cfg, data, target), "study")
    return study, sampler, created


def _queue_first(study: Any, space: Space, cfg: SearchConfig, data: Dataset, reference: tuple[str, dict] | None,
                 created: bool, log: Callable[[str], None]) -> None:
    """Only the worker that created the study queues the reference and the prefiltered candidates (the
    others may be starting at the same moment); a grid reaches the reference point by itself."""
    if created and reference is not None and cfg.sampler != "grid":
        study.enqueue_trial(reference[1], user_attrs={"reference": reference[0]})
    if cfg.prefilter and created:
        prefilter(study, space, cfg, data, log)
    elif cfg.prefilter and not any(t.user_attrs.get("prefiltered") for t in study.get_trials(deepcopy=False)):
        log(f"--prefilter ignored: study {study.study_name!r} already exists "
            f"(only the run that creates a study prefilters)")


def _train(study: Any, sampler: BudgetSampler, objective: Objective, cfg: SearchConfig, progress: bool,
           log: Callable[[str], None]) -> LoopOutcome:
    """The shared worker loop, with a progress bar of the study's finished trials."""
    from tqdm import tqdm

    bar = tqdm(total=sampler.budget, desc=f"search {study.study_name}", unit="trial", disable=not progress,
               dynamic_ncols=True)
    try:
        return run_trials(study, objective, sampler, log, timeout=cfg.timeout,
                          callbacks=[lambda s, t: _show_best(bar, s, t, cfg)],
                          on_count=lambda done: bar.update(done - bar.n))
    finally:
        bar.close()


def _show_best(bar: Any, study: Any, trial: Any, cfg: SearchConfig) -> None:
    """Best value so far after each trial (the count itself is the study's, set by the loop)."""
    if bar.disable:  # --json, tests: spare the storage the query
        return
    try:
        if cfg.objective == "pareto":
            bar.set_postfix(front=len(study.best_trials))
        else:
            bar.set_postfix(best=f"{study.best_value:.4f}", last=trial.state.name.lower())
    except ValueError:  # no completed trial yet
        pass


def _save(study: Any, url: str, cfg: SearchConfig, target: float, results: str | Path | None,
          stats: dict, trained: TrainedFor,
          confirming: tuple[Dataset, TrainConfig, Callable[[str], None]] | None) -> SearchResult:
    """The summary with ``stats`` (and the seed confirmation, when this worker runs it), saved under
    results/search/<study>/: best.arch is the confirmed baseline, marked with the data it was ``trained`` for."""
    from scaler.results import results_root, schema
    from scaler.search.confirm import confirm

    result = summarize(study, url, cfg, target)
    result.stats = stats
    if confirming is not None:
        data, train_cfg, log = confirming
        result.confirmed = confirm(result.rows, result.reference, result.baseline, cfg, data, train_cfg, target,
                                   results, log)
        if result.confirmed is not None:
            result.baseline = next(r for r in result.rows if r["trial"] == result.confirmed["baseline_trial"])
    result.out_dir = save_search(result, results_root(results) / schema.SEARCH / study.study_name, trained)
    return result


def _stats(study: Any, outcome: LoopOutcome, budget: int, target_source: str, jobs: int) -> dict:
    """How the study stands after this worker's run, and how the run ended."""
    import optuna

    states = [t.state for t in study.get_trials(deepcopy=False)]
    return {"target_source": target_source, "recovered": outcome.recovered, "budget": budget,
            "finished": sum(s in COUNTED for s in states), "failed": states.count(optuna.trial.TrialState.FAIL),
            "running": states.count(optuna.trial.TrialState.RUNNING), "stopped_by": outcome.stopped_by,
            "jobs": jobs}
