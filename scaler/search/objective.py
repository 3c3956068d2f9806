"""One search trial: sample a Spec of the space, refuse it if too big, train it at search fidelity and
score it (MnasNet's reward, accuracy under constraints, or accuracy and cost for a Pareto front)."""

from __future__ import annotations

import gc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna

from scaler.data import Dataset
from scaler.dsl import Space, Spec
from scaler.errors import first_line
from scaler.nn.complexity import complexity
from scaler.report import si
from scaler.search.config import SearchConfig, reference_point
from scaler.strides import adapt_strides
from scaler.study.budget import ensure_unique
from scaler.training.trainer import Report, TrainConfig


def reward(acc: float, macs: float, target: float, w: float) -> float:
    """MnasNet's soft-constrained objective ACC * (MACs / T) ** w."""
    return acc * (macs / target) ** w


def trial_model_name(space: str, study: str, number: int) -> str:
    """The name of trial ``number``'s model: ``<space>-<study>-t<N>``, the space said once when the
    study's name already starts with it (the default study mbconv-reward: ``mbconv-reward-t5``)."""
    prefix = study if study.startswith(f"{space}-") else f"{space}-{study}"
    return f"{prefix}-t{number}"


def proxy_spec(spec: Spec, cfg: SearchConfig, data: Dataset) -> Spec:
    """The model at search fidelity: the proxy width, the data's resolution and the stride rule
    (the same for every candidate and the reference; this is the Spec trained and saved)."""
    scaled = spec.scale(width=cfg.width, resolution=data.resolution)
    return adapt_strides(scaled, data.resolution, cfg.min_feature, cfg.strides)


def macs_of(spec: Spec, data: Dataset) -> int:
    """``spec``'s multiply-adds on ``data``'s channels and classes."""
    return complexity(spec, in_channels=data.in_channels, num_classes=data.num_classes).macs


def default_target(space: Space, cfg: SearchConfig, data: Dataset) -> tuple[float, str]:
    """The MACs target: the reference model's at search fidelity, else the median of 32 samples."""
    ref = reference_point(space)
    if ref is not None:
        return float(macs_of(proxy_spec(space.fix(ref[1]), cfg, data), data)), f"{ref[0]} at search fidelity"
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=cfg.seed))
    samples = sorted(macs_of(proxy_spec(space.sample(study.ask()), cfg, data), data) for _ in range(32))
    return float(samples[16]), "median of 32 random samples of the space"


def over_limits(cfg: SearchConfig, params: int, macs: int) -> str | None:
    """Why a candidate is too big for ``--max-params`` / ``--max-macs`` (guards of the reward and
    pareto objectives), or None."""
    if cfg.max_params is not None and params > cfg.max_params:
        return f"{si(params)} params > --max-params {si(cfg.max_params)}"
    if cfg.max_macs is not None and macs > cfg.max_macs:
        return f"{si(macs)} MACs > --max-macs {si(cfg.max_macs)}"
    return None


@dataclass
class Objective:
    """The objective of one study: ``objective(trial)`` trains one candidate and returns its value
    (a pair, accuracy and cost, for ``pareto``). A candidate too big for the limits, one that runs out
    of memory and one whose training diverges are pruned; the search goes on."""

    cfg: SearchConfig
    space: Space
    data: Dataset
    train_cfg: TrainConfig
    study: Any
    target: float
    reference: tuple[str, dict[str, Any]] | None
    results: str | Path | None
    log: Callable[[str], None]

    def __call__(self, trial: optuna.trial.Trial) -> float | tuple[float, float]:
        spec = self.sample(trial)
        cx = complexity(spec, in_channels=self.data.in_channels, num_classes=self.data.num_classes)
        self.check_size(trial, spec, cx)
        record = self.train(trial, spec, cx)
        acc = record["val_acc"]
        if self.cfg.objective == "pareto":
            return acc, (record["latency_ms"] if self.cfg.pareto_metric == "latency" else float(cx.macs))
        if self.cfg.objective == "constraint":
            return acc
        return reward(acc, cx.macs, self.target, self.cfg.w)

    def sample(self, trial: optuna.trial.Trial) -> Spec:
        """The trial's candidate at search fidelity, marked if it is the reference point."""
        name = trial_model_name(self.space.name, self.study.study_name, trial.number)
        spec = proxy_spec(self.space.sample(trial, name=name), self.cfg, self.data)
        if self.reference is not None and trial.params == self.reference[1] and "reference" not in trial.user_attrs:
            trial.set_user_attr("reference", self.reference[0])
        if self.cfg.sampler == "grid":  # grid points go one per trial number: this only trips on a race
            ensure_unique(self.study, trial)
        return spec

    def check_size(self, trial: optuna.trial.Trial, spec: Spec, cx: Any) -> None:
        """Record the Spec and its counts; set the constraints, or prune a candidate over the limits
        before it is ever built."""
        trial.set_user_attr("spec", spec.text())
        for key in ("params", "macs", "acts"):
            trial.set_user_attr(key, getattr(cx, key))
        if self.cfg.objective == "constraint":  # feasible when every value is <= 0
            if self.cfg.max_macs:
                trial.set_constraint("macs", cx.macs - self.cfg.max_macs)
            if self.cfg.max_params:
                trial.set_constraint("params", cx.params - self.cfg.max_params)
        elif guard := over_limits(self.cfg, cx.params, cx.macs):
            trial.set_user_attr("guard", guard)
            self.log(f"trial {trial.number}: pruned before building, {guard}")
            raise optuna.TrialPruned(guard)

    def train(self, trial: optuna.trial.Trial, spec: Spec, cx: Any) -> dict:
        """Score the zero-cost proxies, train (pruned early by the study's pruner) and save the run;
        the run record of a candidate that trained to the end."""
        import torch

        from scaler.results import save_run
        from scaler.training import proxies
        from scaler.training.fit import fit

        # the reference is the yardstick every candidate and the confirmation are held to: never pruned
        yardstick = "reference" in trial.user_attrs
        last = self.train_cfg.epochs * self.train_cfg.reports_per_epoch

        def report(r: Report) -> None:
            step = round(r.epoch * self.train_cfg.reports_per_epoch)
            if self.cfg.objective != "pareto":
                trial.report(r.val_acc, step)
                # at the last report the training is done: pruning then would only throw the result away
                # (Hyperband's top rung did, for 7 of 16 fully trained trials of the default search)
                if not yardstick and step < last and trial.should_prune():
                    trial.set_user_attr("val_acc", r.val_acc)
                    raise optuna.TrialPruned(f"pruned at epoch {r.epoch:g} with val acc {r.val_acc:.4f}")

        out_of_memory = (getattr(torch, "OutOfMemoryError", torch.cuda.OutOfMemoryError), MemoryError)
        oom = None
        try:
            trial.set_user_attr("proxies", proxies.score(spec, self.data.x_val[: self.cfg.proxy_batch],
                                                         self.data.num_classes, seed=self.cfg.seed))
            # the test split is only recorded (selection is on val), so a confirmed baseline has it for every seed
            record, _ = fit(spec, self.data, self.train_cfg, callback=report, evaluate_test=True)
        except out_of_memory as exc:
            oom = f"{type(exc).__name__}: {first_line(exc)}"[:500]
        if oom is not None:  # outside the except block, so the failed step's tensors can be freed
            _free_memory()
            trial.set_user_attr("status", "oom")
            trial.set_user_attr("error", oom)
            self.log(f"trial {trial.number}: out of memory ({si(cx.params)} params, {si(cx.macs)} MACs), "
                     f"pruned; the search goes on")
            raise optuna.TrialPruned(oom)
        for key in ("val_acc", "test_acc", "latency_ms", "train_time_s", "status"):
            trial.set_user_attr(key, record.get(key))
        save_run(record, "search", self.results, extra={"study": self.study.study_name, "trial": trial.number})
        if record["status"] != "ok":
            raise optuna.TrialPruned("training diverged (NaN/inf loss)")
        return record


def _free_memory() -> None:
    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def prefilter(study: Any, space: Space, cfg: SearchConfig, data: Dataset, log: Callable[[str], None]) -> None:
    """Score ``cfg.prefilter`` random candidates by a zero-cost proxy and queue the best ones first."""
    from scaler.training import proxies

    x = data.x_val[: cfg.proxy_batch]
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
