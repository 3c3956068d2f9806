"""The one store of trainings: train or reuse by ``training_key``, over a results folder's runs.

A training is a Spec, its trainer settings (seed included) and the cut of the data it trains on;
``scaler.training.config.training_key`` says when two are the same. The store finds a finished run
of the same key under ``<root>/runs/`` (any kind: a bench reuses a scaled model trained the same
way) and returns it; otherwise it trains it (``fit`` here, or ``fit_each`` in the ``--jobs`` pool),
saves it as a run of its kind with the key in ``extra`` the moment it is in, and indexes it. So a
stopped caller resumes with what had finished, a changed network, data cut or setting is another key
and never a stale reuse, and a key asked for twice in one call is trained once. A training under way
keeps a checkpoint after every epoch under ``<root>/checkpoints/<key>.pt`` (``scaler.training.checkpoint``),
so a stopped caller started again also goes on with the trainings it had begun, from their last whole
epoch; the file goes when the run is kept. ``scaler scale``,
``scaler bench`` and the long benchmarks (``benchmarks/cells.py``) keep their trainings here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from scaler.dsl import Spec
from scaler.training.config import TrainConfig, training_key

if TYPE_CHECKING:  # torch comes with these
    from scaler.data import DataConfig, Dataset
    from scaler.training.trainer import BatchSource


@dataclass(frozen=True)
class Training:
    """One training: the Spec as trained, its trainer settings, its data cut, and what its run keeps
    in ``extra`` beside the key (the caller's labels: stage, strategy, bench, seed...)."""

    spec: Spec
    train: TrainConfig
    data: DataConfig
    extra: dict = field(default_factory=dict, compare=False)
    recipe: dict | None = None  # what a training with its own batch source learns from (``training_key``)

    @property
    def key(self) -> str:
        return training_key(self.spec, self.data, self.train, self.recipe)

    @property
    def label(self) -> str:
        """How progress lines name this training: its network, its role where it has one, its seed."""
        role = self.extra.get("role")
        return f"{self.spec.name}{f' {role}' if role else ''} seed {self.train.seed}"


class DataCache:
    """The data set at the resolutions trainings need, each loaded once on demand. The data as given
    (``base``) serves its own resolution; of the others the last ``keep`` are kept (None: all)."""

    def __init__(self, cfg: DataConfig, keep: int | None = 1) -> None:
        from scaler.data import load_data

        self.cfg, self.keep, self._load = cfg, keep, load_data
        self.base = load_data(cfg)
        self._sets: dict[int, Dataset] = {}

    def get(self, resolution: int | None) -> Dataset:
        """The data at ``resolution`` (None: as given), loaded now unless kept."""
        if resolution is None or resolution == self.base.resolution:
            return self.base
        if resolution not in self._sets:
            if self.keep is not None and len(self._sets) >= self.keep:
                del self._sets[next(iter(self._sets))]
            self._sets[resolution] = self._load(self.config(resolution))
        return self._sets[resolution]

    def config(self, resolution: int) -> DataConfig:
        """The data settings at ``resolution``: the cut a training at that resolution is keyed by."""
        return dataclasses.replace(self.cfg, resolution=resolution)

    def load(self, cfg: DataConfig) -> Dataset:
        """The data of ``cfg``, one of this cache's cuts (``Store.train_all``'s loader)."""
        return self.get(cfg.resolution)


class Store:
    """The trainings kept under ``<root>/runs/`` (``root`` None: the results folder), saved as runs of
    ``kind``. The index of finished runs is read once, on first use."""

    def __init__(self, root: str | Path | None, kind: str) -> None:
        self.root, self.kind = root, kind
        self._index: dict[str, dict] | None = None

    def index(self) -> dict[str, dict]:
        """The finished runs by key."""
        if self._index is None:
            from scaler.results import load_runs

            runs, _ = load_runs(self.root)
            self._index = {r["extra"]["key"]: r for r in runs
                           if isinstance(r.get("extra"), dict) and r["extra"].get("key")}
        return self._index

    def forget(self) -> None:
        """Drop the index, so that runs other processes saved since it was read (``--jobs`` helpers,
        other workers) are reused, not trained again."""
        self._index = None

    def find(self, training: Training, need_test: bool = False, need_weights: bool = False) -> dict | None:
        """The finished run of ``training``, or None; with ``need_test`` a run that finished without a
        test accuracy, with ``need_weights`` one that kept no weights, does not count (it is trained
        again to get them)."""
        from scaler.results.schema import RUN_WEIGHTS

        known = self.index().get(training.key)
        if known is None or known.get("status") != "ok":
            return known
        no_test = need_test and known.get("test_acc") is None
        no_weights = need_weights and not (Path(known["path"]) / RUN_WEIGHTS).is_file()
        return None if no_test or no_weights else known

    def checkpoint(self, training: Training) -> Path:
        """Where ``training`` keeps its checkpoint while it trains."""
        from scaler.results import results_root
        from scaler.results.schema import CHECKPOINTS

        return results_root(self.root) / CHECKPOINTS / f"{training.key}.pt"

    def keep(self, record: dict, training: Training, state: dict | None = None) -> dict:
        """Save a finished training as a run under its key (weights too if ``state``), remove its
        checkpoint, index it and return the record as the index holds it."""
        from scaler.results import save_run
        from scaler.training.checkpoint import remove

        key, extra = training.key, {**training.extra, "key": training.key}
        record["data"] = dataclasses.asdict(training.data)
        path = save_run(record, self.kind, self.root, state_dict=state, extra=extra)
        remove(self.checkpoint(training))
        record = {**record, "run_id": path.name, "kind": self.kind, "path": str(path), "extra": extra}
        self.index()[key] = record
        return record

    def train(self, training: Training, data: Callable[[DataConfig], Dataset],
              log: Callable[[str], None] | None = None, save_weights: bool = False,
              need_test: bool = False, source: BatchSource | None = None) -> tuple[dict, bool]:
        """The run of ``training`` and whether it was reused: found, else trained here on ``data(cut)``
        (``scaler.training.fit.fit``, on ``source``'s batches if given, going on from its checkpoint, its
        progress on ``log``; the weights kept with ``save_weights``; the test split evaluated, as
        ``train_all``'s workers do, so a run's fields do not depend on ``--jobs``) and kept. With
        ``need_test`` a run kept without a test accuracy (by an older version) is trained again."""
        known = self.find(training, need_test=need_test)
        if known is not None:
            return known, True
        from scaler.training.fit import EpochLog, cpu_weights, fit

        checkpoint = self.checkpoint(training)
        progress = EpochLog.starting(training.label, training.train.epochs, log, checkpoint) if log else None
        record, model = fit(training.spec, data(training.data), training.train, callback=progress,
                            evaluate_test=True, source=source, checkpoint=checkpoint)
        return self.keep(record, training, cpu_weights(model) if save_weights else None), False

    def train_all(self, trainings: Sequence[Training], data: Callable[[DataConfig], Dataset], jobs: int,
                  need_test: bool = False, save_weights: bool = False) -> Iterator[tuple[dict, bool]]:
        """The run of every training and whether it was reused, yielded in order as each is ready: the
        missing ones trained in ``jobs`` processes (``scaler.training.parallel.fit_each``, test accuracy
        evaluated, each going on from its checkpoint) on ``data(cut)``, each kept as it arrives (its weights
        too with ``save_weights``, and a run kept without them is then missing), each key once."""
        from scaler.training.parallel import WEIGHTS, FitTask, fit_each

        keys = [t.key for t in trainings]
        first: dict[str, int] = {}  # a missing key -> the training that trains it
        for i, (training, key) in enumerate(zip(trainings, keys, strict=True)):
            if key not in first and self.find(training, need_test, save_weights) is None:
                first[key] = i
        cuts = list(dict.fromkeys(trainings[i].data for i in first.values()))
        sets = {str(n): data(cut) for n, cut in enumerate(cuts)}
        tasks = [FitTask(trainings[i].spec, trainings[i].train, str(cuts.index(trainings[i].data)), save_weights,
                         trainings[i].label, str(self.checkpoint(trainings[i])))
                 for i in first.values()]
        arrivals = fit_each(tasks, sets, jobs)
        for i, (training, key) in enumerate(zip(trainings, keys, strict=True)):
            if first.get(key) == i:
                record = next(arrivals)
                yield self.keep(record, training, record.pop(WEIGHTS, None)), False
            else:
                yield self.index()[key], True
