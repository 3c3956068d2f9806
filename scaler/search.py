"""Neural architecture search on Optuna: every sampled architecture of a Space is one trial.

Objectives (MnasNet, Tan et al. 2019; EfficientNet, Tan & Le 2019):
- ``reward``: maximise ACC * (MACs / T) ** w with w = -0.07 (a soft compute target T);
- ``constraint``: maximise ACC subject to MACs <= --max-macs and/or params <= --max-params
  (``Trial.set_constraint``, Optuna 5's API: infeasible trials are kept but ranked below feasible ones);
- ``pareto``: maximise ACC and minimise MACs (or latency) with NSGA-II; the result is the front.

Trials carry the Spec as DSL text and its counts in user attributes; the study lives in an Optuna
storage (SQLite under results/ by default), so a search resumes where it stopped.
"""

from __future__ import annotations

import dataclasses
import math
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from scaler.complexity import complexity
from scaler.data import Dataset
from scaler.dsl import Space, Spec
from scaler.errors import ScalerError
from scaler.train import Report, TrainConfig

OBJECTIVES = ("reward", "constraint", "pareto")
SAMPLERS = ("tpe", "random", "nsga2", "grid")
PRUNERS = ("hyperband", "median", "none")
WORKER = f"{socket.gethostname()}:{os.getpid()}"


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
    """An Optuna RDB storage with heartbeats (a dead worker's trial is failed and retried)."""
    import warnings

    import optuna
    import sqlalchemy.exc

    # Heartbeats are marked experimental in Optuna 5; they are the documented way to retry dead workers.
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    if url.startswith("sqlite:///"):
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    try:
        return optuna.storages.RDBStorage(
            url, heartbeat_interval=heartbeat, grace_period=None if heartbeat is None else 4 * heartbeat,
            heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=2),
            engine_kwargs={"pool_pre_ping": True} if not url.startswith("sqlite") else None)
    except (sqlalchemy.exc.SQLAlchemyError, ImportError, ValueError) as exc:
        raise ScalerError(f"cannot open storage {mask_url(url)}: {str(exc).splitlines()[0]}") from None


def mask_url(url: str) -> str:
    """A storage URL with its password hidden, for logs and errors."""
    import re

    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


def recover_dead_trials(study: Any) -> int:
    """Fail and re-queue trials left RUNNING by a process of this host that no longer exists."""
    import optuna

    host = socket.gethostname()
    recovered = 0
    for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        owner = trial.user_attrs.get("worker", "")
        owner_host, _, pid = owner.rpartition(":")
        if owner_host == host and pid.isdigit() and not _alive(int(pid)):
            study.tell(trial.number, state=optuna.trial.TrialState.FAIL)
            study.enqueue_trial(trial.params, user_attrs={"retry_of": trial.number}, skip_if_exists=False)
            recovered += 1
    return recovered


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def make_sampler(cfg: SearchConfig, space: Space) -> Any:
    import optuna

    if cfg.sampler == "tpe":
        return optuna.samplers.TPESampler(seed=cfg.seed, n_startup_trials=min(8, max(2, cfg.trials // 2)))
    if cfg.sampler == "random":
        return optuna.samplers.RandomSampler(seed=cfg.seed)
    if cfg.sampler == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=cfg.seed, population_size=max(4, min(50, cfg.trials // 2)))
    grid = {name: list(p.values) for name, p in space.params().items()}
    size = math.prod(len(v) for v in grid.values())
    if size > 100_000:
        raise ScalerError(f"a grid over this space has {size:,} points; use --sampler tpe or random")
    return optuna.samplers.GridSampler(grid, seed=cfg.seed)


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


def run_search(cfg: SearchConfig, data: Dataset, train_cfg: TrainConfig, results: str | Path | None = None,
               progress: bool = True, log: Callable[[str], None] = print, storage: Any = None) -> SearchResult:
    """Run (or resume) the study, then save the best Spec and the tables under results/search/.

    ``storage``: an already opened Optuna storage (else ``cfg.storage`` or the default is opened).
    """
    import optuna

    from scaler import proxies
    from scaler.evaluate import fit
    from scaler.results import default_storage, results_root, save_run

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = load_space(cfg.space)
    target, target_source = (cfg.target_macs, "--target-macs") if cfg.target_macs else default_target(space, cfg, data)
    storage_url = cfg.storage or default_storage(results)
    storage = storage or open_storage(storage_url)
    study_name = cfg.study or f"{space.name}-{cfg.objective}"
    directions = ["maximize", "minimize"] if cfg.objective == "pareto" else ["maximize"]
    settings = study_settings(space, cfg, train_cfg, data, target)
    study = optuna.create_study(storage=storage, study_name=study_name, directions=directions, load_if_exists=True,
                                sampler=make_sampler(cfg, space), pruner=make_pruner(cfg, train_cfg))
    previous = study.user_attrs.get("settings")
    if previous is None:
        study.set_user_attr("settings", settings)
    elif previous != settings:
        changed = sorted(k for k in settings if previous.get(k) != settings[k])
        raise ScalerError(f"study {study_name!r} was run with other settings ({', '.join(changed)}); "
                          f"use another --study or the same flags")
    recovered = recover_dead_trials(study)
    if recovered:
        log(f"re-queued {recovered} trial(s) left running by a stopped process")

    reference = reference_point(space)
    if not study.trials and reference is not None:
        study.enqueue_trial(reference[1], user_attrs={"reference": reference[0]})
    proxy_x = data.x_val[: cfg.proxy_batch]
    if cfg.prefilter and not any(t.user_attrs.get("prefiltered") for t in study.trials):
        _prefilter(study, space, cfg, data, proxy_x, log)

    finished = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)

    def objective(trial: optuna.trial.Trial) -> float | tuple[float, float]:
        trial.set_user_attr("worker", WORKER)
        spec = proxy_spec(space.sample(trial, name=f"{space.name}-{study_name}-t{trial.number}"), cfg, data)
        cx = complexity(spec, in_channels=data.in_channels, num_classes=data.num_classes)
        trial.set_user_attr("spec", spec.text())
        for key in ("params", "macs", "acts"):
            trial.set_user_attr(key, getattr(cx, key))
        if cfg.objective == "constraint":  # feasible when every value is <= 0
            if cfg.max_macs:
                trial.set_constraint("macs", cx.macs - cfg.max_macs)
            if cfg.max_params:
                trial.set_constraint("params", cx.params - cfg.max_params)
        trial.set_user_attr("proxies", proxies.score(spec, proxy_x, data.num_classes, seed=cfg.seed))

        def report(r: Report) -> None:
            step = round(r.epoch * train_cfg.reports_per_epoch)
            if cfg.objective != "pareto":
                trial.report(r.val_acc, step)
                if trial.should_prune():
                    trial.set_user_attr("val_acc", r.val_acc)
                    raise optuna.TrialPruned(f"pruned at epoch {r.epoch:g} with val acc {r.val_acc:.4f}")

        record, _ = fit(spec, data, train_cfg, callback=report)
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

    done = len(study.get_trials(deepcopy=False, states=finished))
    remaining = max(0, cfg.trials - done)
    if remaining:
        bar = _progress(remaining, study_name, progress)
        try:
            study.optimize(objective, n_trials=remaining, timeout=cfg.timeout, catch=(),
                           callbacks=[optuna.study.MaxTrialsCallback(cfg.trials, states=finished),
                                      lambda s, t: _advance(bar, s, t, cfg)])
        finally:
            bar.close()
    result = summarize(study, storage_url, cfg, target)
    result.stats = {"target_source": target_source, "recovered": recovered}
    result.out_dir = save_search(result, study, results_root(results) / "search" / study_name)
    return result


def _prefilter(study: Any, space: Space, cfg: SearchConfig, data: Dataset, x: Any, log: Callable[[str], None]) -> None:
    """Score ``cfg.prefilter`` random candidates by a zero-cost proxy and queue the best ones first."""
    import optuna

    from scaler import proxies

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
    bar.update(1)
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


def latest_best(results: str | Path | None = None) -> Path:
    """The best.arch of the most recent search (for ``scaler scale --base latest``)."""
    from scaler.results import results_root

    found = sorted((results_root(results) / "search").glob("*/best.arch"), key=lambda p: p.stat().st_mtime)
    if not found:
        raise ScalerError("no search result yet: run 'scaler search --space mbconv' first, or pass --base NAME|FILE")
    return found[-1]
