"""Training scaled models at fidelity, each network and seed once.

Every model is counted at two sizes: *nominal* (the base's own width and resolution, e.g. 224 px,
3 input channels and 1000 classes like ``scaler zoo``: the ladder) and *fidelity* (times the proxy
width, at the training resolution and the data's channels and classes: what is planned). What is
trained is the fidelity Spec through the stride rule of ``scaler.strides`` at its training
resolution (a net written for 224 px would end in a 1x1 map at 28 px); ladders count the model as
written, the matched-MACs comparison the model as trained. A trained model is saved as a run (kind
``scale``, its trained Spec) keyed by the trained network, data cut and trainer settings (seed
included), so a later call (or another stage) reuses it instead of training it again.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scaler.data import DataConfig, Dataset
from scaler.dsl import Spec
from scaler.scaling.growth import count, grow, network_identity
from scaler.stats import compare, spread
from scaler.strides import DEFAULT_MIN_FEATURE, adapt_strides
from scaler.training.config import training_key
from scaler.training.trainer import TrainConfig


class DataCache:
    """The data set at the resolutions scaled models need, loaded on demand (the last two kept)."""

    def __init__(self, cfg: DataConfig, keep: int = 2):
        from scaler.data import load_data

        self.cfg, self.keep, self._load = cfg, keep, load_data
        self._sets: dict[int | None, Dataset] = {}
        self.base = self.get(cfg.resolution)

    def get(self, resolution: int | None) -> Dataset:
        """The data at ``resolution``, loaded now unless it is one of the last kept."""
        if resolution not in self._sets:
            if len(self._sets) >= self.keep:
                oldest = next(k for k in self._sets if self._sets[k] is not getattr(self, "base", None))
                del self._sets[oldest]
            self._sets[resolution] = self._load(dataclasses.replace(self.cfg, resolution=resolution))
        return self._sets[resolution]

    def config(self, resolution: int) -> DataConfig:
        """The data settings at ``resolution``."""
        return dataclasses.replace(self.cfg, resolution=resolution)


@dataclass
class Fidelity:
    """How scaled models are trained: proxy width, the data (at the base's resolution), the trainer, the
    stride rule every trained Spec goes through at its training resolution, and the seeds per cell."""

    width: float
    data: DataCache
    train: TrainConfig
    results: str | Path | None = None
    log: Callable[[str], None] = print
    strides: str = "adapt"
    min_feature: int = DEFAULT_MIN_FEATURE
    seeds: int = 1
    jobs: int = 1  # training processes of grid points and comparison cells (scaler.training.parallel)
    _index: dict[str, dict] | None = None

    @property
    def resolution(self) -> int:
        return self.data.base.resolution

    @property
    def in_channels(self) -> int:
        return self.data.base.in_channels

    @property
    def num_classes(self) -> int:
        return self.data.base.num_classes

    @property
    def seed_values(self) -> list[int]:
        """The trainer seeds of a cell trained with every seed: ``--seed`` and the next ``seeds - 1``."""
        return [self.train.seed + i for i in range(self.seeds)]

    def base(self, spec: Spec) -> Spec:
        """The nominal base at fidelity: proxy width, training resolution (strides as written)."""
        return grow(spec, width=self.width).scale(resolution=self.resolution)

    def trained(self, spec: Spec) -> Spec:
        """The Spec as trained: the stride rule applied at its own (training) resolution. Plans and MAC
        ratios use the model as written; this is what is trained, keyed and saved."""
        return adapt_strides(spec, spec.resolution, self.min_feature, self.strides)

    def count(self, spec: Spec) -> Any:
        """The Spec's counts with the data's input channels and classes."""
        return count(spec, self.in_channels, self.num_classes)

    def trained_macs(self, spec: Spec) -> int:
        """The MACs of ``spec`` as trained (the stride rule at its resolution): what a comparison at
        matched MACs must match, since below ~33 px the rule makes a lower resolution cost more."""
        return self.count(self.trained(spec)).macs

    def describe(self) -> dict:
        """The fidelity as JSON: proxy width, resolution, stride rule, data and trainer settings (what a
        grid study pins: a resumed study must match it)."""
        d = self.data.base
        return {"width": self.width, "resolution": self.resolution, "strides": self.strides,
                "min_feature": self.min_feature, "data": d.name, "train_size": len(d.x_train),
                "val_size": len(d.x_val), "seed": self.data.cfg.seed, "epochs": self.train.epochs,
                "batch_size": self.train.batch_size, "optimizer": self.train.optimizer, "lr": self.train.lr}

    def key(self, trained: Spec, train: TrainConfig) -> str:
        """What makes two trainings the same: the network trained (not its name), the data cut, the trainer."""
        return training_key(network_identity(trained), self.data.config(trained.resolution), train)

    def index(self) -> dict[str, dict]:
        """The finished scale runs by key, read from the results folder once."""
        if self._index is None:
            from scaler.results import load_runs

            runs, _ = load_runs(self.results)
            self._index = {r["extra"]["key"]: r for r in runs if r.get("kind") == "scale"
                           and isinstance(r.get("extra"), dict) and r["extra"].get("key")}
        return self._index

    def forget_runs(self) -> None:
        """Drop the cached run index, so that runs other processes saved since it was read (the grid's
        ``--jobs`` helpers, other workers) are reused, not trained again."""
        self._index = None

    def train_or_reuse(self, spec: Spec, extra: dict, save_weights: bool = False,
                       callback: Callable[[Any], None] | None = None, seed: int | None = None,
                       evaluate_test: bool = False) -> tuple[dict, bool]:
        """Train ``spec`` (as written) at this fidelity with the stride rule and trainer ``seed`` (default
        the trainer's), or reuse a finished run of the same trained network and settings.

        Returns the run record and whether it was reused. Every trained model is saved as a run (kind
        ``scale``, its trained Spec, ``extra`` with ``key`` plus what the caller passes). With
        ``evaluate_test`` a run that has no test accuracy yet is trained again to get one.
        """
        trained = self.trained(spec)
        train = self.train if seed is None else dataclasses.replace(self.train, seed=seed)
        key = self.key(trained, train)
        known = self.index().get(key)
        if known is not None and not (evaluate_test and known.get("status") == "ok" and known.get("test_acc") is None):
            return known, True
        data = self.data.get(trained.resolution)
        record, model = train_spec(trained, data, train, callback=callback, evaluate_test=evaluate_test)
        state = None
        if save_weights:
            state = {k: v.detach().cpu() for k, v in getattr(model, "module", model).state_dict().items()}
        return self._keep(record, trained, key, extra, state), False

    def _keep(self, record: dict, trained: Spec, key: str, extra: dict, state: dict | None = None) -> dict:
        """Save a finished training as a scale run under ``key`` and index it."""
        from scaler.results import save_run

        record["data"] = dataclasses.asdict(self.data.config(trained.resolution))
        path = save_run(record, "scale", self.results, state_dict=state, extra={**extra, "key": key})
        record = {**record, "path": str(path), "extra": {**extra, "key": key}}
        self.index()[key] = record
        return record

    def train_seeds(self, spec: Spec, extra: dict, seeds: Sequence[int] | None = None) -> tuple[list[dict], int]:
        """``spec`` trained (or reused) with each trainer seed (default ``seed_values``): the records in seed
        order and how many were trained now."""
        records, trained = [], 0
        for seed in self.seed_values if seeds is None else seeds:
            record, reused = self.train_or_reuse(spec, {**extra, "seed": seed}, seed=seed)
            records.append(record)
            trained += not reused
        return records, trained


    def train_cells(self, cells: Sequence[tuple[Spec, dict]], seeds: Sequence[int] | None = None
                    ) -> Iterator[tuple[list[dict], int]]:
        """``train_seeds`` of every (spec, extra) cell, yielded in order as each is ready. With ``jobs``
        above 1 the missing trainings of consecutive cells at one training resolution run together in
        that many processes (``scaler.training.parallel``), each saved as it arrives; cells that round
        to the same network (compound 2x whose depth rounds back to 1 is width 2x) are trained once."""
        if self.jobs <= 1:
            for spec, extra in cells:
                yield self.train_seeds(spec, extra, seeds)
            return
        from scaler.training.parallel import FitTask, fit_each

        seeds = self.seed_values if seeds is None else list(seeds)
        trained = [self.trained(spec) for spec, _ in cells]
        for resolution, group in itertools.groupby(range(len(cells)), key=lambda i: trained[i].resolution):
            indices = list(group)
            got: dict[tuple[int, int], dict] = {}
            missing = []  # (cell, seed, key, trainer settings), in cell order
            first: dict[str, tuple[int, int]] = {}  # key -> the (cell, seed) that trains it
            same: dict[tuple[int, int], tuple[int, int]] = {}  # a later cell's training -> that one
            for i in indices:
                for seed in seeds:
                    train = dataclasses.replace(self.train, seed=seed)
                    key = self.key(trained[i], train)
                    if key in self.index():
                        got[(i, seed)] = self.index()[key]
                    elif key in first:
                        same[(i, seed)] = first[key]
                    else:
                        first[key] = (i, seed)
                        missing.append((i, seed, key, train))
            arrivals = zip(missing, fit_each([FitTask(trained[i], train) for i, _, _, train in missing],
                                             self.data.get(resolution), self.jobs), strict=True)
            for i in indices:
                now = 0
                while any((i, seed) not in got and (i, seed) not in same for seed in seeds):
                    (cell, seed, key, _), record = next(arrivals)
                    got[(cell, seed)] = self._keep(record, trained[cell], key, {**cells[cell][1], "seed": seed})
                    now += 1
                got.update({(i, seed): got[same[(i, seed)]] for seed in seeds if (i, seed) in same})
                yield [got[(i, seed)] for seed in seeds], now

    def detached(self) -> Fidelity:
        """This fidelity for a helper process (``scaler.training.parallel.helper_workers``): one job, its log on stderr, the
        run index read again there."""
        from scaler.training.parallel import log_to_stderr

        return dataclasses.replace(self, log=log_to_stderr, jobs=1, _index=None)


def seed_summary(records: Sequence[dict]) -> dict:
    """One cell's accuracy over its seeds, from its runs in seed order: ``val_acc`` (mean of the finished
    seeds, None if all diverged), ``val_std``, ``seeds`` (finished) and ``val_accs`` (per seed, None for a
    diverged one)."""
    accs = [r.get("val_acc") for r in records]
    done = [a for a in accs if a is not None]
    s = spread(done) if done else None
    return {"val_acc": s.mean if s else None, "val_std": s.std if s else None, "seeds": len(done),
            "val_accs": accs}


def paired(accs: Sequence[float | None], against: Sequence[float | None], name: str) -> dict:
    """``accs`` against ``against`` paired by seed over the seeds both finished (``scaler.stats.compare``):
    the mean difference as ``name``, ``vs_low`` and ``vs_high`` (its 95% interval, None with fewer than
    two pairs) and ``verdict`` (None without a pair)."""
    pairs = [(a, b) for a, b in zip(accs, against, strict=True) if a is not None and b is not None]
    if not pairs:
        return {name: None, "vs_low": None, "vs_high": None, "verdict": None}
    c = compare([a for a, _ in pairs], [b for _, b in pairs])
    interval = c.n > 1
    return {name: c.diff, "vs_low": c.low if interval else None, "vs_high": c.high if interval else None,
            "verdict": c.verdict}


def train_spec(spec: Spec, data: Dataset, cfg: TrainConfig, callback: Callable[[Any], None] | None = None,
               evaluate_test: bool = False) -> tuple[dict, Any]:
    """Train ``spec`` on ``data`` (``scaler.training.fit.fit``): the run record and the model.

    A module-level name so that tests can watch or interrupt the training of scaled models.
    """
    from scaler.training.fit import fit

    return fit(spec, data, cfg, callback=callback, evaluate_test=evaluate_test)
