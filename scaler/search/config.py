"""What a search is: its config, its space, and the Optuna sampler, pruner and settings it implies."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scaler.dsl import Space, Spec
from scaler.errors import ScalerError
from scaler.training.config import TrainConfig
from scaler.training.fidelity import PROXIES, PROXY, ProxyFidelity

if TYPE_CHECKING:  # torch comes with it; the CLI reads this module's constants without it
    from scaler.data import Dataset

OBJECTIVES = ("reward", "constraint", "pareto")
SAMPLERS = ("tpe", "random", "nsga2", "grid")
PRUNERS = ("hyperband", "median", "none")
PARETO_METRICS = ("macs", "latency")
#: How many of the best candidates a search confirms with seeds unless told (at most its trials).
DEFAULT_CONFIRM = 3


def default_confirm(trials: int) -> int:
    """The candidates a search of ``trials`` trials confirms with seeds when ``confirm`` is not given."""
    return min(DEFAULT_CONFIRM, trials)


@dataclass(frozen=True)
class SearchConfig:
    """What to search and how. The proxy fidelity's defaults and checks are ``ProxyFidelity``'s (its
    epochs and training images are the TrainConfig's and DataConfig's); ``jobs`` None is ``default_jobs``
    of the device; ``confirm`` None is ``default_confirm(trials)`` (``confirmations`` resolves it), the same
    from Python as from ``scaler search``."""

    space: str = "mbconv"
    objective: str = OBJECTIVES[0]
    target_macs: float | None = None
    w: float = -0.07
    max_macs: float | None = None
    max_params: float | None = None
    pareto_metric: str = PARETO_METRICS[0]
    sampler: str = SAMPLERS[0]
    pruner: str = PRUNERS[0]
    trials: int = 16
    timeout: float | None = None
    width: float = PROXY.width
    prefilter: int = 0
    proxy: str = "synflow"
    study: str | None = None
    storage: str | None = None
    seed: int = 0
    proxy_batch: int = 64
    strides: str = PROXY.strides  # the stride rule of scaler.strides, for every candidate and the reference
    min_feature: int = PROXY.min_feature
    confirm: int | None = None  # the best K candidates (and the reference) trained again with more seeds
    seeds: int = PROXY.seeds  # seeds per confirmed candidate, the trial's own seed among them
    jobs: int | None = PROXY.jobs  # worker processes on this machine (scaler.training.parallel)

    @property
    def fidelity(self) -> ProxyFidelity:
        """The proxy fidelity of every candidate (its epochs and train size are the run's TrainConfig's
        and DataConfig's)."""
        return ProxyFidelity(width=self.width, strides=self.strides, min_feature=self.min_feature,
                             seeds=self.seeds, jobs=self.jobs)

    @property
    def confirmations(self) -> int:
        """How many of the best candidates the search confirms with seeds: ``confirm``, else
        ``default_confirm(trials)`` (resolved here, not stored, so ``replace(cfg, trials=...)`` follows)."""
        return default_confirm(self.trials) if self.confirm is None else self.confirm

    def __post_init__(self) -> None:
        self.fidelity  # noqa: B018 (its checks)
        if self.confirmations < 0:
            raise ScalerError(f"--confirm must be >= 0, got {self.confirmations}")
        if self.confirmations > self.trials:
            raise ScalerError(f"--confirm {self.confirmations} is more than the {self.trials} trials (--trials) "
                              "it confirms")
        for value, allowed, what in ((self.objective, OBJECTIVES, "objective"), (self.sampler, SAMPLERS, "sampler"),
                                     (self.pruner, PRUNERS, "pruner"), (self.proxy, PROXIES, "proxy"),
                                     (self.pareto_metric, PARETO_METRICS, "pareto metric")):
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


def grid_size(space: Space) -> int:
    """How many points a grid over ``space`` has."""
    return math.prod(len(p.values) for p in space.params().values())


def make_sampler(cfg: SearchConfig, space: Space) -> Any:
    """The Optuna sampler ``cfg.sampler`` names, seeded with ``cfg.seed``."""
    import optuna

    if cfg.sampler == "tpe":
        # constant_liar: with several workers, trials still running count as bad, so workers spread out;
        # multivariate: the space's choices interact (a wide stage with a large expansion is costly).
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.samplers.TPESampler(seed=cfg.seed, n_startup_trials=startup_trials(cfg.trials),
                                              multivariate=True, constant_liar=True)
    if cfg.sampler == "random":
        return optuna.samplers.RandomSampler(seed=cfg.seed)
    if cfg.sampler == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=cfg.seed, population_size=max(4, min(50, cfg.trials // 2)))
    grid = {name: list(p.values) for name, p in space.params().items()}
    size = math.prod(len(v) for v in grid.values())
    if size > 100_000:
        raise ScalerError(f"a grid over this space has {size:,} points; use --sampler tpe or random")
    return optuna.samplers.GridSampler(grid, seed=cfg.seed)


def startup_trials(trials: int) -> int:
    """TPE's random start-up trials: a quarter of the budget (at least 2, at most 10), so that a small
    search still has trials left for TPE to model (16 trials: 4 random, 12 modelled)."""
    return max(2, min(10, trials // 4))


def make_pruner(cfg: SearchConfig, train_cfg: TrainConfig) -> Any:
    """The Optuna pruner ``cfg.pruner`` names; none for a Pareto search (no single value to compare).

    Sized to the run: nothing is pruned before the first epoch ends (the warm-up: a net's accuracy
    after a few hundred steps says little), and Hyperband's smallest resource is that epoch, so its
    brackets are the ones that exist between one epoch and the last report."""
    import optuna

    if cfg.objective == "pareto" or cfg.pruner == "none":
        return optuna.pruners.NopPruner()
    steps = train_cfg.epochs * train_cfg.reports_per_epoch
    warmup = min(train_cfg.reports_per_epoch, steps - 1)
    if cfg.pruner == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=startup_trials(cfg.trials), n_warmup_steps=warmup)
    return optuna.pruners.HyperbandPruner(min_resource=max(1, warmup), max_resource=steps, reduction_factor=2)


def study_settings(space: Space, cfg: SearchConfig, train_cfg: TrainConfig, data: Dataset, target: float) -> dict:
    """What a study's trials must share to be comparable; a resumed study must match it."""
    return {
        "space": space.text(), "objective": cfg.objective, "w": cfg.w, "target_macs": target,
        "max_macs": cfg.max_macs, "max_params": cfg.max_params, "pareto_metric": cfg.pareto_metric,
        "width": cfg.width, "data": data.name, "resolution": data.resolution, "train_size": len(data.x_train),
        "val_size": len(data.x_val), "epochs": train_cfg.epochs, "batch_size": train_cfg.batch_size,
        "optimizer": train_cfg.optimizer, "lr": train_cfg.lr, "strides": cfg.strides, "min_feature": cfg.min_feature,
        "sampler": cfg.sampler, "pruner": cfg.pruner, "startup_trials": startup_trials(cfg.trials),
        "reports_per_epoch": train_cfg.reports_per_epoch,
    }
