"""The cells of scaling: scaled models trained at fidelity, each with every seed, each network and seed once.

Every model is counted at two sizes: *nominal* (the base's own width and resolution, e.g. 224 px,
3 input channels and 1000 classes like ``scaler zoo``: the ladder) and *fidelity* (times the proxy
width, at the training resolution and the data's channels and classes: what is planned). What is
trained is the fidelity Spec with the family's strides (``scaler.strides.family_strides``: the stride
rule applied once, to the base at the base's training resolution, since a net written for 224 px
would end in a 1x1 map at 28 px; every rung, grid point and comparison cell keeps the base's strides
at its own resolution); ladders count the model as written, the matched-MACs comparison the model as
trained. Trainings go through the one store of
``scaler.training.store``: a trained model is saved as a run (kind ``scale``, its trained Spec) under
its ``training_key``, so a later call (or another stage) reuses it instead of training it again. A
cell's runs over its seeds are summed up by ``seed_summary`` and set against another's by ``paired``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scaler.dsl import Spec
from scaler.scaling.growth import count, grow
from scaler.stats import compare, spread
from scaler.strides import DEFAULT_MIN_FEATURE, family_strides
from scaler.training.config import TrainConfig
from scaler.training.fidelity import upsampled
from scaler.training.store import DataCache, Store, Training


@dataclass
class Fidelity:
    """How scaled models are trained: proxy width, the data (at the base's resolution), the trainer, the
    stride rule (the family's strides, decided at the base's training resolution), the seeds per cell, and the
    store their runs are kept in (the results folder's)."""

    width: float
    data: DataCache
    train: TrainConfig
    results: str | Path | None = None
    log: Callable[[str], None] = print
    strides: str = "adapt"
    min_feature: int = DEFAULT_MIN_FEATURE
    seeds: int = 1
    jobs: int = 1  # training processes of grid points and comparison cells (scaler.training.parallel)
    native: int | None = None  # the data's native resolution (None: unknown, an image folder): what upsamples
    store: Store = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.store = Store(self.results, "scale")

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

    def upsampled(self, resolution: int) -> bool:
        """Does a training at ``resolution`` px upsample the data (above its native resolution)?"""
        return upsampled(resolution, self.native)

    def base(self, spec: Spec) -> Spec:
        """The nominal base at fidelity: proxy width, training resolution (strides as written)."""
        return grow(spec, width=self.width).scale(resolution=self.resolution)

    def trained(self, spec: Spec) -> Spec:
        """The Spec as trained: with the family's strides, the stride rule applied at the base's training
        resolution (``adapt-each``: at the Spec's own). Plans and MAC ratios use the model as written;
        this is what is trained, keyed and saved."""
        return family_strides(spec, self.resolution, self.min_feature, self.strides)

    def count(self, spec: Spec) -> Any:
        """The Spec's counts with the data's input channels and classes."""
        return count(spec, self.in_channels, self.num_classes)

    def trained_count(self, spec: Spec) -> Any:
        """The counts of ``spec`` as trained (with the family's strides): params, MACs, activations."""
        return self.count(self.trained(spec))

    def trained_macs(self, spec: Spec) -> int:
        """The MACs of ``spec`` as trained (with the family's strides): what a comparison at matched MACs
        must match (under ``adapt-each`` a rung at 33 px trains cheaper than the 28 px base)."""
        return self.trained_count(spec).macs

    def describe(self) -> dict:
        """The fidelity as JSON: proxy width, resolution, stride rule, data and trainer settings (what a
        grid study pins: a resumed study must match it)."""
        d = self.data.base
        return {"width": self.width, "resolution": self.resolution, "strides": self.strides,
                "min_feature": self.min_feature, "data": d.name, "train_size": len(d.x_train),
                "val_size": len(d.x_val), "seed": self.data.cfg.seed, "epochs": self.train.epochs,
                "batch_size": self.train.batch_size, "optimizer": self.train.optimizer, "lr": self.train.lr}

    def training(self, spec: Spec, extra: dict, seed: int | None = None) -> Training:
        """``spec`` (as written) as this fidelity trains it: the family's strides, the trainer
        with ``seed`` (default the trainer's), the data cut at that resolution; ``extra`` for its run."""
        trained = self.trained(spec)
        train = self.train if seed is None else dataclasses.replace(self.train, seed=seed)
        return Training(trained, train, self.data.config(trained.resolution), extra)

    def train_or_reuse(self, spec: Spec, extra: dict, save_weights: bool = False,
                       seed: int | None = None,
                       need_test: bool = False) -> tuple[dict, bool]:
        """Train ``spec`` (as written) at this fidelity with the family's strides and trainer ``seed`` (default
        the trainer's), or reuse a finished run of the same trained network and settings.

        Returns the run record and whether it was reused. Every trained model is saved as a run (kind
        ``scale``, its trained Spec, ``extra`` with ``key`` plus what the caller passes). With
        ``need_test`` a run that has no test accuracy yet is trained again to get one.
        """
        return self.store.train(self.training(spec, extra, seed), self.data.load, log=self.log,
                                save_weights=save_weights, need_test=need_test)

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
        above 1 the missing trainings of all cells run together in that many processes (``Store.train_all``,
        each process holding the data at every resolution the cells train at, so no core waits for a
        resolution's last training), each saved as it arrives; cells that round to the same network
        (compound 2x whose depth rounds back to 1 is width 2x) are trained once."""
        if self.jobs <= 1:
            for spec, extra in cells:
                yield self.train_seeds(spec, extra, seeds)
            return
        seeds = self.seed_values if seeds is None else list(seeds)
        trainings = [[self.training(spec, {**extra, "seed": seed}, seed) for seed in seeds] for spec, extra in cells]
        runs = self.store.train_all([t for cell in trainings for t in cell], self.data.load, self.jobs)
        for cell in trainings:
            got = [next(runs) for _ in cell]
            yield [record for record, _ in got], sum(not reused for _, reused in got)

    def detached(self) -> Fidelity:
        """This fidelity for a helper process (``scaler.training.parallel.helper_workers``): one job, its log
        on stderr, the runs read again there."""
        from scaler.training.parallel import log_to_stderr

        return dataclasses.replace(self, log=log_to_stderr, jobs=1)


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

