"""Neural architecture search on Optuna: every sampled architecture of a Space is one trial.

Objectives (MnasNet, Tan et al. 2019; EfficientNet, Tan & Le 2019):
- ``reward``: maximise ACC * (MACs / T) ** w with w = -0.07 (a soft compute target T);
- ``constraint``: maximise ACC subject to MACs <= --max-macs and/or params <= --max-params
  (``Trial.set_constraint``, Optuna 5's API: infeasible trials are kept but ranked below feasible ones);
- ``pareto``: maximise ACC and minimise MACs (or latency) with NSGA-II; the result is the front.

Trials carry the Spec as DSL text and its counts in user attributes; the study lives in an Optuna
storage (SQLite under results/ by default), so a search resumes where it stopped. Any number of
workers (processes, machines) may share one study in PostgreSQL: ``BudgetSampler`` keeps the trial
budget exact across them, ``recover_dead_trials``/heartbeats fail and re-queue a dead worker's trial,
and Ctrl-C fails and re-queues the trial in flight (``SearchInterrupted``).
"""

from __future__ import annotations

import dataclasses
import gc
import logging
import math
import os
import re
import socket
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import optuna

from scaler.nn.complexity import complexity
from scaler.data import Dataset
from scaler.dsl import Space, Spec
from scaler.errors import RunFailedError, ScalerError
from scaler.training.trainer import Report, TrainConfig

OBJECTIVES = ("reward", "constraint", "pareto")
SAMPLERS = ("tpe", "random", "nsga2", "grid")
PRUNERS = ("hyperband", "median", "none")
MAX_RETRIES = 2  # a trial whose worker died (or was stopped) is queued again at most this often
POLL_S = 1.0  # how often a worker with nothing to start looks at the study again


def _host_id() -> str:
    """This machine as the dead-worker check sees it: the host name and, on Linux, the PID namespace
    (containers that share a host name have their own PIDs, which mean nothing to each other)."""
    try:
        return f"{socket.gethostname()}/{os.stat('/proc/self/ns/pid').st_ino}"
    except OSError:
        return socket.gethostname()


HOST = _host_id()


def worker_id() -> str:
    """``host[/pid-namespace]:pid`` of this process, stored in every trial it runs (user attribute ``worker``)."""
    return f"{HOST}:{os.getpid()}"


WORKER = worker_id()


@dataclass(frozen=True)
class SearchConfig:
    """What to search and how; the fidelity knobs live here and in the TrainConfig/DataConfig."""

    space: str = "mbconv"
    objective: str = "reward"
    target_macs: float | None = None
    w: float = -0.07
    max_macs: float | None = None
    max_params: float | None = None
    pareto_metric: str = "macs"
    sampler: str = "tpe"
    pruner: str = "hyperband"
    trials: int = 16
    timeout: float | None = None
    width: float = 0.5
    prefilter: int = 0
    proxy: str = "synflow"
    study: str | None = None
    storage: str | None = None
    seed: int = 0
    proxy_batch: int = 64

    def __post_init__(self) -> None:
        for value, allowed, what in ((self.objective, OBJECTIVES, "objective"), (self.sampler, SAMPLERS, "sampler"),
                                     (self.pruner, PRUNERS, "pruner"), (self.pareto_metric, ("macs", "latency"), "pareto metric")):
            if value not in allowed:
                raise ScalerError(f"unknown {what} {value!r}; use one of {', '.join(allowed)}")
        if self.target_macs is not None and not self.target_macs > 0:
            raise ScalerError(f"--target-macs must be positive, got {self.target_macs:g}")
        if self.objective == "constraint" and self.max_macs is None and self.max_params is None:
            raise ScalerError("--objective constraint needs --max-macs and/or --max-params")
        for name in ("max_macs", "max_params"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ScalerError(f"--{name.replace('_', '-')} must be positive, got {value:g}")
        if self.sampler == "grid" and self.prefilter:
            raise ScalerError("--prefilter does not combine with --sampler grid (the grid visits every point)")
        if self.objective == "pareto" and self.sampler == "tpe":
            object.__setattr__(self, "sampler", "nsga2")


@dataclass
class SearchResult:
    """What a search found: the study, the chosen baseline and the table rows of its trials."""

    study_name: str
    storage: str
    baseline: dict | None
    reference: dict | None
    target_macs: float
    rows: list[dict]
    pareto: list[dict]
    out_dir: Path | None = None
    stats: dict = field(default_factory=dict)


def load_space(name: str) -> Space:
    """A search space by zoo name or file; a fixed model is refused."""
    from scaler.zoo import load_target

    model = load_target(name)
    if not isinstance(model, Space):
        raise ScalerError(f"{name!r} is a fixed model without choices, not a search space (e.g. --space mbconv)")
    return model


def reference_point(space: Space) -> tuple[str, dict[str, Any]] | None:
    """A zoo model that is a point of ``space`` (EfficientNet-B0 for mbconv), with its choice values."""
    from scaler.zoo import library

    for name, model in library().items():
        if isinstance(model, Spec):
            values = space.values_of(model)
            if values is not None:
                return name, values
    return None


def trial_model_name(space: str, study: str, number: int) -> str:
    """The name of trial ``number``'s model: ``<space>-<study>-t<N>``, the space said once when the
    study's name already starts with it (the default study mbconv-reward: ``mbconv-reward-t5``)."""
    prefix = study if study.startswith(f"{space}-") else f"{space}-{study}"
    return f"{prefix}-t{number}"


def proxy_spec(spec: Spec, cfg: SearchConfig, data: Dataset) -> Spec:
    """The model at search fidelity: the proxy width and the data's resolution."""
    return spec.scale(width=cfg.width, resolution=data.resolution)


def macs_of(spec: Spec, data: Dataset) -> int:
    return complexity(spec, in_channels=data.in_channels, num_classes=data.num_classes).macs


def default_target(space: Space, cfg: SearchConfig, data: Dataset) -> tuple[float, str]:
    """The MACs target: the reference model's at search fidelity, else the median of 32 samples."""
    ref = reference_point(space)
    if ref is not None:
        return float(macs_of(proxy_spec(space.fix(ref[1]), cfg, data), data)), f"{ref[0]} at search fidelity"
    import optuna

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=cfg.seed))
    samples = sorted(macs_of(proxy_spec(space.sample(study.ask()), cfg, data), data) for _ in range(32))
    return float(samples[16]), "median of 32 random samples of the space"


def reward(acc: float, macs: float, target: float, w: float) -> float:
    """MnasNet's soft-constrained objective ACC * (MACs / T) ** w."""
    return acc * (macs / target) ** w


def open_storage(url: str, heartbeat: int | None = 30) -> Any:
    """An Optuna RDB storage with heartbeats: a trial whose worker stops beating for 4 intervals is
    failed and queued again (``retry_trial``) by whichever worker notices first."""
    import sqlalchemy.exc

    # Heartbeats are marked experimental in Optuna 5; they are the documented way to retry dead workers.
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    if url.startswith("sqlite:///"):
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    for attempt in range(4):
        try:
            storage = optuna.storages.RDBStorage(
                url, heartbeat_interval=heartbeat, grace_period=None if heartbeat is None else 4 * heartbeat,
                heartbeat_stale_trial_callback=_retry_stale,
                engine_kwargs=_engine_kwargs(url))
            beat = storage.record_heartbeat

            def record_heartbeat(trial_id: int) -> None:
                # Runs in Optuna's heartbeat thread: a database that is briefly away must not print a
                # thread traceback; the worker's own next storage call reports a lasting outage.
                try:
                    beat(trial_id)
                except (sqlalchemy.exc.SQLAlchemyError, optuna.exceptions.StorageInternalError):
                    pass

            storage.record_heartbeat = record_heartbeat
            return storage
        except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError):
            # N workers starting on an empty database race to create Optuna's tables; the losers retry.
            if attempt == 3:
                raise ScalerError(f"cannot open storage {mask_url(url)}: its tables could not be created") from None
            time.sleep(0.2 + 0.3 * attempt)
        except (sqlalchemy.exc.SQLAlchemyError, ImportError, ValueError) as exc:
            raise ScalerError(f"cannot open storage {mask_url(url)}: {redact(_first_line(exc), url)}") from None
    raise AssertionError("unreachable")


def _engine_kwargs(url: str) -> dict | None:
    """Pre-ping pooled connections (a database restart must not fail the next call); with libpq, give
    up connecting after 10 s instead of the TCP timeout (minutes) when the host does not answer."""
    if url.startswith("sqlite"):
        return None
    kwargs: dict = {"pool_pre_ping": True}
    if re.match(r"postgres(ql)?(\+psycopg2)?://", url):
        kwargs["connect_args"] = {"connect_timeout": 10}
    return kwargs


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


_USERINFO = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://[^\s:/@?#]*):[^\s/?#]*@")
_QUERY_PASSWORD = re.compile(r"([?&](?:password|pass|pwd)=)[^&\s]*", re.IGNORECASE)


def mask_url(url: str) -> str:
    """A storage URL (or any text holding URLs) with passwords hidden, for logs, output and errors:
    ``user:***@host`` (a password may hold ``@``) and ``password=***`` in a query string."""
    return _QUERY_PASSWORD.sub(r"\1***", _USERINFO.sub(r"\1:***@", url))


def redact(text: str, url: str | None) -> str:
    """``text`` with URL passwords masked and ``url``'s password (raw or percent-decoded) removed wherever
    it appears, e.g. quoted back by a driver's error message."""
    from urllib.parse import unquote

    text = mask_url(text)
    if url:
        match = re.match(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s:/@?#]*:([^\s/?#]*)@", url)
        secrets = {match.group(1), unquote(match.group(1))} if match else set()
        secrets |= {m.group(1) for m in re.finditer(r"[?&](?:password|pass|pwd)=([^&\s]*)", url, re.IGNORECASE)}
        for secret in sorted((s for s in secrets if len(s) >= 3), key=len, reverse=True):
            text = text.replace(secret, "***")
    return text


def _fail(study: Any, trial: Any) -> bool:
    """Mark a RUNNING trial failed; False if it had already finished (another worker got there first:
    the storage locks the trial's row, so exactly one caller wins)."""
    try:
        return bool(study._storage.set_trial_state_values(trial._trial_id, state=optuna.trial.TrialState.FAIL))
    except optuna.exceptions.UpdateFinishedTrialError:
        return False


#: User attributes a re-queued trial keeps; the rest (worker, metrics) belong to the failed attempt.
_QUEUE_ATTRS = ("reference", "prefiltered", "prefilter_score")


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


def _retry_stale(study: Any, trial: Any) -> None:
    """The heartbeat callback: Optuna has failed ``trial`` because its worker stopped beating."""
    retry_trial(study, trial, "its worker's heartbeat stopped")


def recover_dead_trials(study: Any, trials: list | None = None) -> int:
    """Fail and re-queue trials left RUNNING by a process of this host that no longer exists (at once,
    without waiting for the heartbeat grace period). Safe with many workers: each dead trial is failed
    and re-queued once, by the worker whose ``_fail`` wins. ``trials``: the study's trials if just read."""
    recovered = 0
    if trials is None:
        trials = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
    for trial in trials:
        if trial.state != optuna.trial.TrialState.RUNNING:
            continue
        owner_host, _, pid = trial.user_attrs.get("worker", "").rpartition(":")
        if owner_host == HOST and pid.isdigit() and not _alive(int(pid)) and _fail(study, trial):
            retry_trial(study, trial, "its worker process is gone")
            recovered += 1
    return recovered


def reap(study: Any) -> int:
    """Fail and re-queue every trial whose worker is dead: heartbeats (any host) and PIDs (this host)."""
    optuna.storages.fail_stale_trials(study)
    return recover_dead_trials(study)


def _alive(pid: int) -> bool:
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


def make_sampler(cfg: SearchConfig, space: Space) -> Any:
    import optuna

    if cfg.sampler == "tpe":
        # constant_liar: with several workers, trials still running count as bad, so workers spread out.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.samplers.TPESampler(seed=cfg.seed, n_startup_trials=min(8, max(2, cfg.trials // 2)),
                                              constant_liar=True)
    if cfg.sampler == "random":
        return optuna.samplers.RandomSampler(seed=cfg.seed)
    if cfg.sampler == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=cfg.seed, population_size=max(4, min(50, cfg.trials // 2)))
    grid = {name: list(p.values) for name, p in space.params().items()}
    size = math.prod(len(v) for v in grid.values())
    if size > 100_000:
        raise ScalerError(f"a grid over this space has {size:,} points; use --sampler tpe or random")
    return optuna.samplers.GridSampler(grid, seed=cfg.seed)


def grid_size(space: Space) -> int:
    """How many points a grid over ``space`` has."""
    return math.prod(len(p.values) for p in space.params().values())


_COUNTED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
_CLAIMS = (*_COUNTED, optuna.trial.TrialState.RUNNING, optuna.trial.TrialState.WAITING)


class TrialNotCounted(Exception):
    """Ends a trial FAIL before any training: it is surplus to the budget, or a grid point another
    trial already holds. Such a trial never counts toward ``--trials`` and is never re-queued."""


class BudgetSampler(optuna.samplers.BaseSampler):
    """Wraps a sampler so that N workers sharing a study finish exactly ``budget`` trials between them.

    The rule, applied when a trial starts: it may train only if fewer than ``budget`` trials with a
    lower number are WAITING, RUNNING, COMPLETE or PRUNED. Optuna numbers trials under a lock on the
    study's row, so every lower-numbered trial is visible then. Otherwise the trial is *surplus*: the
    wrapped sampler never sees it (a GridSampler gives it no grid point), the objective ends it FAIL
    with user attribute ``surplus`` (``TrialNotCounted``), and its worker waits for the study to finish.
    A trial that fails later (a dead or interrupted worker) is re-queued under a higher number and then
    finds its slot free. So no trial finishes beyond the budget (each finished one had fewer than
    ``budget`` live trials before it) and none is missing (workers stop only once the study has
    ``budget`` COMPLETE+PRUNED trials).

    Every trial also reseeds the wrapped sampler's random state from (seed, trial number), so workers
    started with the same ``--seed`` do not draw the same candidates, and a resumed study does not draw
    its first candidates again.
    """

    def __init__(self, base: Any, budget: int, seed: int = 0) -> None:
        self.base, self.budget, self.seed = base, budget, seed
        self.surplus: set[int] = set()
        self.current: int | None = None  # trial id of this process's trial in flight

    def before_trial(self, study: Any, trial: Any) -> None:
        study._storage.set_trial_user_attr(trial._trial_id, "worker", worker_id())  # first thing: for reap()
        self.current = trial._trial_id
        before = study._storage.get_all_trials(study._study_id, deepcopy=False, states=_CLAIMS)
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


def make_pruner(cfg: SearchConfig, train_cfg: TrainConfig) -> Any:
    import optuna

    if cfg.objective == "pareto" or cfg.pruner == "none":
        return optuna.pruners.NopPruner()
    steps = train_cfg.epochs * train_cfg.reports_per_epoch
    if cfg.pruner == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=4, n_warmup_steps=1)
    return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=steps, reduction_factor=3)


def study_settings(space: Space, cfg: SearchConfig, train_cfg: TrainConfig, data: Dataset, target: float) -> dict:
    """What a study's trials must share to be comparable; a resumed study must match it."""
    return {
        "space": space.text(), "objective": cfg.objective, "w": cfg.w, "target_macs": target,
        "max_macs": cfg.max_macs, "max_params": cfg.max_params, "pareto_metric": cfg.pareto_metric,
        "width": cfg.width, "data": data.name, "resolution": data.resolution, "train_size": len(data.x_train),
        "val_size": len(data.x_val), "epochs": train_cfg.epochs, "batch_size": train_cfg.batch_size,
        "optimizer": train_cfg.optimizer, "lr": train_cfg.lr,
    }


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


class SearchInterrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM through the CLI) stopped a search cleanly: ``result`` holds the summary so far;
    ``requeued`` is the number of the trial that was in flight, now failed and queued again (or None)."""

    def __init__(self, result: SearchResult, requeued: int | None) -> None:
        super().__init__("search interrupted")
        self.result, self.requeued = result, requeued


def run_search(cfg: SearchConfig, data: Dataset, train_cfg: TrainConfig, results: str | Path | None = None,
               progress: bool = True, log: Callable[[str], None] = print, storage: Any = None) -> SearchResult:
    """Run (or resume, or join) the study, then save the best Spec and the tables under results/search/.

    Any number of processes may run this on one study (an RDB storage such as PostgreSQL): between them
    they finish exactly ``cfg.trials`` COMPLETE+PRUNED trials (``BudgetSampler``); each keeps going
    until the study has them, re-queueing the trials of dead workers (``reap``). ``storage``: an
    already opened Optuna storage (else ``cfg.storage`` or the default is opened). Raises
    ``SearchInterrupted`` (a KeyboardInterrupt) after a clean stop on Ctrl-C, and ``RunFailedError``
    with the URL's password masked when the storage fails mid-run.
    """
    import sqlalchemy.exc

    from scaler.results import default_storage

    url = cfg.storage or default_storage(results)
    try:
        return _run_search(cfg, data, train_cfg, results, progress, log, storage)
    except Exception as exc:
        # The database went away (or filled up) mid-run. Optuna may re-raise it as another error while
        # cleaning up (its failed-trial bookkeeping needs the database too), so look along the chain.
        chain, cause = [], exc
        while cause is not None and len(chain) < 10:
            chain.append(cause)
            cause = cause.__cause__ or cause.__context__
        found = [c for c in chain if isinstance(c, (sqlalchemy.exc.SQLAlchemyError, optuna.exceptions.StorageInternalError))]
        if not found:
            raise
        # the driver's own error says most (Optuna's wrapper: "An exception is raised during the commit...")
        cause = next((c for c in reversed(found) if isinstance(c, sqlalchemy.exc.SQLAlchemyError)), found[0])
        raise RunFailedError(f"storage {mask_url(url)} failed: {redact(_first_line(cause), url)}") from None


def _run_search(cfg: SearchConfig, data: Dataset, train_cfg: TrainConfig, results: str | Path | None,
                progress: bool, log: Callable[[str], None], storage: Any) -> SearchResult:
    import torch

    from scaler.training import proxies
    from scaler.training.fit import fit
    from scaler.results import default_storage, results_root, save_run

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    _quiet_optuna_failures()
    space = load_space(cfg.space)
    target, target_source = (cfg.target_macs, "--target-macs") if cfg.target_macs else default_target(space, cfg, data)
    storage_url = cfg.storage or default_storage(results)
    storage = storage or open_storage(storage_url)
    study_name = cfg.study or f"{space.name}-{cfg.objective}"
    directions = ["maximize", "minimize"] if cfg.objective == "pareto" else ["maximize"]
    settings = study_settings(space, cfg, train_cfg, data, target)
    grid = cfg.sampler == "grid"
    budget = min(cfg.trials, grid_size(space)) if grid else cfg.trials
    sampler = BudgetSampler(make_sampler(cfg, space), budget, cfg.seed)
    try:
        study = optuna.create_study(storage=storage, study_name=study_name, directions=directions,
                                    sampler=sampler, pruner=make_pruner(cfg, train_cfg))
        created = True
    except optuna.exceptions.DuplicatedStudyError:  # resume it, or join the workers already on it
        study = optuna.load_study(study_name=study_name, storage=storage, sampler=sampler,
                                  pruner=make_pruner(cfg, train_cfg))
        created = False
    pin_settings(study, settings, "study")
    recovered = recover_dead_trials(study)
    if recovered:
        log(f"re-queued {recovered} trial(s) left running by a stopped process")

    reference = reference_point(space)
    # Only the worker that created the study queues the reference and the prefiltered candidates (the
    # others may be starting at the same moment); a grid reaches the reference point by itself.
    if created and reference is not None and not grid:
        study.enqueue_trial(reference[1], user_attrs={"reference": reference[0]})
    proxy_x = data.x_val[: cfg.proxy_batch]
    if cfg.prefilter and created:
        _prefilter(study, space, cfg, data, proxy_x, log)
    elif cfg.prefilter and not any(t.user_attrs.get("prefiltered") for t in study.get_trials(deepcopy=False)):
        log(f"--prefilter ignored: study {study_name!r} already exists (only the run that creates a study prefilters)")
    out_of_memory = (getattr(torch, "OutOfMemoryError", torch.cuda.OutOfMemoryError), MemoryError)

    def objective(trial: optuna.trial.Trial) -> float | tuple[float, float]:
        if trial._trial_id in sampler.surplus:
            trial.set_user_attr("surplus", True)
            raise TrialNotCounted(f"trial {trial.number} is surplus: the study's {budget} trials are taken")
        spec = proxy_spec(space.sample(trial, name=trial_model_name(space.name, study_name, trial.number)), cfg, data)
        if reference is not None and trial.params == reference[1] and "reference" not in trial.user_attrs:
            trial.set_user_attr("reference", reference[0])
        if grid:  # a safety net: grid points go one per trial number, so this only trips on a race
            twin = next((t.number for t in study.get_trials(deepcopy=False, states=_CLAIMS)
                         if t.number < trial.number and _planned_params(t) == trial.params), None)
            if twin is not None:
                trial.set_user_attr("duplicate_of", twin)
                raise TrialNotCounted(f"trial {trial.number} is grid point of trial {twin}")
        cx = complexity(spec, in_channels=data.in_channels, num_classes=data.num_classes)
        trial.set_user_attr("spec", spec.text())
        for key in ("params", "macs", "acts"):
            trial.set_user_attr(key, getattr(cx, key))
        if cfg.objective == "constraint":  # feasible when every value is <= 0
            if cfg.max_macs:
                trial.set_constraint("macs", cx.macs - cfg.max_macs)
            if cfg.max_params:
                trial.set_constraint("params", cx.params - cfg.max_params)
        elif guard := over_limits(cfg, cx.params, cx.macs):  # too big: pruned before it is ever built
            trial.set_user_attr("guard", guard)
            log(f"trial {trial.number}: pruned before building, {guard}")
            raise optuna.TrialPruned(guard)

        def report(r: Report) -> None:
            step = round(r.epoch * train_cfg.reports_per_epoch)
            if cfg.objective != "pareto":
                trial.report(r.val_acc, step)
                if trial.should_prune():
                    trial.set_user_attr("val_acc", r.val_acc)
                    raise optuna.TrialPruned(f"pruned at epoch {r.epoch:g} with val acc {r.val_acc:.4f}")

        oom = None
        try:
            trial.set_user_attr("proxies", proxies.score(spec, proxy_x, data.num_classes, seed=cfg.seed))
            record, _ = fit(spec, data, train_cfg, callback=report)
        except out_of_memory as exc:
            oom = f"{type(exc).__name__}: {_first_line(exc)}"[:500]
        if oom is not None:  # outside the except block, so the failed step's tensors can be freed
            _free_memory()
            trial.set_user_attr("status", "oom")
            trial.set_user_attr("error", oom)
            log(f"trial {trial.number}: out of memory ({_count(cx.params)} params, {_count(cx.macs)} MACs), "
                f"pruned; the search goes on")
            raise optuna.TrialPruned(oom)
        for key in ("val_acc", "latency_ms", "train_time_s", "status"):
            trial.set_user_attr(key, record[key])
        save_run(record, "search", results, extra={"study": study_name, "trial": trial.number})
        if record["status"] != "ok":
            raise optuna.TrialPruned("training diverged (NaN/inf loss)")
        acc = record["val_acc"]
        if cfg.objective == "pareto":
            return acc, (record["latency_ms"] if cfg.pareto_metric == "latency" else float(cx.macs))
        if cfg.objective == "constraint":
            return acc
        return reward(acc, cx.macs, target, cfg.w)

    # One trial per optimize() call (Optuna still runs the heartbeat and fails stale trials), so that
    # between trials this worker can look at the whole study: stop at the budget, or wait while the
    # last trials run elsewhere, failing and re-queueing them if their workers die.
    bar = _progress(budget, study_name, progress)
    started, stopped_by, requeued, waiting_said = time.monotonic(), None, None, False
    try:
        while True:
            trials = study.get_trials(deepcopy=False)
            dead = recover_dead_trials(study, trials)
            if dead:
                log(f"re-queued {dead} trial(s) of a worker process on this host that is gone")
                recovered += dead
                continue
            done = sum(t.state in _COUNTED for t in trials)
            bar.update(done - bar.n)
            if done >= budget:
                break
            if cfg.timeout is not None and time.monotonic() - started >= cfg.timeout:
                stopped_by = "timeout"
                break
            live = sum(t.state in _CLAIMS for t in trials)
            if live >= budget and not any(t.state == optuna.trial.TrialState.WAITING for t in trials):
                if not waiting_said:
                    log(f"waiting for the last {live - done} trial(s), running on other workers")
                    waiting_said = True
                time.sleep(POLL_S)
                optuna.storages.fail_stale_trials(study)  # other hosts' dead workers (this host's: above)
                continue
            study.optimize(objective, n_trials=1, catch=(TrialNotCounted,),
                           callbacks=[lambda s, t: _advance(bar, s, t, cfg)])
            sampler.current = None
    except KeyboardInterrupt:
        stopped_by = "interrupt"
        requeued = _release(study, sampler, "its worker was interrupted", log)
    except RunFailedError:
        _release(study, sampler, "its worker could not write its results", log)
        raise
    finally:
        bar.close()
    result = summarize(study, storage_url, cfg, target)
    states = [t.state for t in study.get_trials(deepcopy=False)]
    result.stats = {"target_source": target_source, "recovered": recovered, "budget": budget,
                    "finished": sum(s in _COUNTED for s in states),
                    "failed": states.count(optuna.trial.TrialState.FAIL),
                    "running": states.count(optuna.trial.TrialState.RUNNING), "stopped_by": stopped_by}
    result.out_dir = save_search(result, study, results_root(results) / "search" / study_name)
    if stopped_by == "interrupt":
        raise SearchInterrupted(result, requeued)
    return result


def over_limits(cfg: SearchConfig, params: int, macs: int) -> str | None:
    """Why a candidate is too big for ``--max-params`` / ``--max-macs`` (guards of the reward and
    pareto objectives), or None."""
    if cfg.max_params is not None and params > cfg.max_params:
        return f"{_count(params)} params > --max-params {_count(cfg.max_params)}"
    if cfg.max_macs is not None and macs > cfg.max_macs:
        return f"{_count(macs)} MACs > --max-macs {_count(cfg.max_macs)}"
    return None


def _count(v: float) -> str:
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(v) >= scale:
            return f"{v / scale:.3g}{suffix}"
    return f"{v:g}"


def _planned_params(trial: Any) -> dict:
    """A trial's parameters, or those it was queued with."""
    return trial.params or trial.system_attrs.get("fixed_params", {})


def _free_memory() -> None:
    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _release(study: Any, sampler: BudgetSampler, reason: str, log: Callable[[str], None]) -> int | None:
    """Fail this worker's trial in flight (if Optuna has not already) and queue it again, so that
    another worker or a rerun trains it; returns its number, or None when nothing was in flight."""
    trial_id, sampler.current = sampler.current, None
    if trial_id is None or trial_id in sampler.surplus:
        return None
    try:
        trial = study._storage.get_trial(trial_id)
        if trial.state == optuna.trial.TrialState.RUNNING and not _fail(study, trial):
            return None
        if study._storage.get_trial(trial_id).state != optuna.trial.TrialState.FAIL or "duplicate_of" in trial.user_attrs:
            return None  # it finished before the stop
        if retry_trial(study, trial, reason):
            log(f"trial {trial.number} marked failed and queued again ({reason})")
            return trial.number
        log(f"trial {trial.number} marked failed (already retried {MAX_RETRIES} times)")
    except Exception as exc:  # noqa: BLE001 - e.g. the storage is gone: the heartbeat / PID check will fail it
        log(f"could not mark the trial in flight failed: {mask_url(_first_line(exc))}")
    return None


class _QuietFailures(logging.Filter):
    """Optuna logs every failed trial with its traceback; scaler says why in one line of its own
    (surplus, interrupted, out of memory) or lets the error propagate."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (message.startswith("Trial ") and " failed with " in message)


def _quiet_optuna_failures() -> None:
    logger = logging.getLogger("optuna.study._optimize")
    if not any(isinstance(f, _QuietFailures) for f in logger.filters):
        logger.addFilter(_QuietFailures())


def _prefilter(study: Any, space: Space, cfg: SearchConfig, data: Dataset, x: Any, log: Callable[[str], None]) -> None:
    """Score ``cfg.prefilter`` random candidates by a zero-cost proxy and queue the best ones first."""
    import optuna

    from scaler.training import proxies

    sampler_study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=cfg.seed + 1))
    scored = []
    for _ in range(cfg.prefilter):
        trial = sampler_study.ask()
        spec = proxy_spec(space.sample(trial), cfg, data)
        scored.append((proxies.score(spec, x, data.num_classes, (cfg.proxy,), seed=cfg.seed)[cfg.proxy], trial.params))
    scored.sort(key=lambda item: item[0], reverse=True)
    keep = max(1, cfg.trials // 2)
    for value, params in scored[:keep]:
        study.enqueue_trial(params, user_attrs={"prefiltered": True, "prefilter_score": value})
    log(f"prefilter: scored {cfg.prefilter} candidates by {cfg.proxy}, queued the best {keep}")


def _progress(total: int, name: str, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, desc=f"search {name}", unit="trial", disable=not enabled, dynamic_ncols=True)


def _advance(bar: Any, study: Any, trial: Any, cfg: SearchConfig) -> None:
    """Best value so far after each trial (the count itself is the study's, set by the run loop)."""
    if bar.disable:  # --json, tests: spare the storage the query
        return
    try:
        if cfg.objective == "pareto":
            bar.set_postfix(front=len(study.best_trials))
        else:
            bar.set_postfix(best=f"{study.best_value:.4f}", last=trial.state.name.lower())
    except ValueError:  # no completed trial yet
        pass


def trial_row(trial: Any) -> dict:
    """One trial as a table row."""
    attrs = trial.user_attrs
    return {
        "trial": trial.number, "state": trial.state.name, "value": trial.values[0] if trial.values else None,
        "val_acc": attrs.get("val_acc"), "params": attrs.get("params"), "macs": attrs.get("macs"),
        "latency_ms": attrs.get("latency_ms"), "reference": attrs.get("reference"),
        "feasible": all(c <= 0 for c in trial.constraints.values()), **{
            f"proxy_{k}": v for k, v in attrs.get("proxies", {}).items()},
        "spec": attrs.get("spec"),
    }


def summarize(study: Any, storage_url: str, cfg: SearchConfig, target: float) -> SearchResult:
    """Rank the trials and choose the baseline: the best feasible trial at or under the MACs target."""
    import optuna

    complete = [t for t in study.get_trials(deepcopy=False) if t.state == optuna.trial.TrialState.COMPLETE]
    rows = sorted((trial_row(t) for t in complete), key=lambda r: -(r["value"] if cfg.objective != "pareto" else r["val_acc"]))
    pareto = [trial_row(t) for t in study.best_trials] if cfg.objective == "pareto" else []
    candidates = pareto or rows
    feasible = [r for r in candidates if r["feasible"]]
    under = [r for r in feasible if r["macs"] <= target]
    key = (lambda r: r["val_acc"]) if cfg.objective == "pareto" else (lambda r: r["value"])
    baseline = max(under or feasible, key=key, default=None)
    reference = next((r for r in rows if r["reference"]), None)
    return SearchResult(study.study_name, mask_url(storage_url), baseline, reference, target, rows, pareto)


def save_search(result: SearchResult, study: Any, out: Path) -> Path:
    """best.arch (the baseline Spec), summary.json and trials.csv, each written atomically."""
    import pandas as pd

    from scaler.results import write_json, write_text

    if result.baseline:
        write_text(out / "best.arch", result.baseline["spec"])
    write_json(out / "summary.json", {k: v for k, v in dataclasses.asdict(result).items() if k != "out_dir"})
    frame = pd.DataFrame([{k: v for k, v in r.items() if k != "spec"} for r in result.rows])
    write_text(out / "trials.csv", frame.to_csv(index=False))
    return out


def latest_best(results: str | Path | None = None, log: Callable[[str], None] | None = None) -> Path:
    """The best.arch of the most recent search (for ``scaler scale --base latest``). A file that does
    not parse (corrupt, truncated, not text) is reported through ``log`` (default: stderr) and skipped."""
    from scaler.dsl import parse_file
    from scaler.results import results_root

    warn = log or (lambda m: print(f"scaler: warning: {m}", file=sys.stderr))

    def mtime(p: Path) -> float:
        try:
            return p.stat().st_mtime
        except OSError:
            return 0.0

    for path in sorted((results_root(results) / "search").glob("*/best.arch"), key=mtime, reverse=True):
        try:
            models = parse_file(path)
        except (ScalerError, OSError, UnicodeDecodeError, ValueError) as exc:
            warn(f"skipped {path}: {_first_line(exc)}")
            continue
        if not models:
            warn(f"skipped {path}: no model in it")
            continue
        return path
    raise ScalerError("no search result yet: run 'scaler search --space mbconv' first, or pass --base NAME|FILE")
