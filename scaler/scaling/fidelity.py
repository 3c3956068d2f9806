"""Training scaled models at fidelity, each network once.

Every model is counted at two sizes: *nominal* (the base's own width and resolution, e.g. 224 px,
3 input channels and 1000 classes like ``scaler zoo``: the ladder) and *fidelity* (times the proxy
width, at the training resolution and the data's channels and classes: what is trained). A trained
model is saved as a run (kind ``scale``) keyed by its network, data cut and trainer settings, so a
later call (or another stage) reuses it instead of training it again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from scaler.data import DataConfig, Dataset
from scaler.dsl import Spec
from scaler.scaling.growth import count, grow, network_identity
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
    """How scaled models are trained: proxy width, the data (at the base's resolution) and the trainer."""

    width: float
    data: DataCache
    train: TrainConfig
    results: str | Path | None = None
    log: Callable[[str], None] = print
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

    def base(self, spec: Spec) -> Spec:
        """The nominal base at fidelity: proxy width, training resolution."""
        return grow(spec, width=self.width).scale(resolution=self.resolution)

    def count(self, spec: Spec) -> Any:
        """The Spec's counts with the data's input channels and classes."""
        return count(spec, self.in_channels, self.num_classes)

    def describe(self) -> dict:
        """The fidelity as JSON: proxy width, resolution, data and trainer settings."""
        d = self.data.base
        return {"width": self.width, "resolution": self.resolution, "data": d.name, "train_size": len(d.x_train),
                "val_size": len(d.x_val), "seed": self.data.cfg.seed, "epochs": self.train.epochs,
                "batch_size": self.train.batch_size, "optimizer": self.train.optimizer, "lr": self.train.lr}

    def key(self, spec: Spec) -> str:
        """What makes two trainings the same: the network (not its name), the data cut, the trainer."""
        data = dataclasses.asdict(self.data.config(spec.resolution))
        data.pop("device", None)
        train = dataclasses.asdict(self.train)
        train.pop("device", None)
        text = json.dumps({"spec": network_identity(spec), "data": data, "train": train}, sort_keys=True,
                          default=str)
        return hashlib.sha1(text.encode()).hexdigest()[:16]

    def index(self) -> dict[str, dict]:
        """The finished scale runs by key, read from the results folder once."""
        if self._index is None:
            from scaler.results import load_runs

            runs, _ = load_runs(self.results)
            self._index = {r["extra"]["key"]: r for r in runs if r.get("kind") == "scale"
                           and isinstance(r.get("extra"), dict) and r["extra"].get("key")}
        return self._index

    def train_or_reuse(self, spec: Spec, extra: dict, save_weights: bool = False,
                       callback: Callable[[Any], None] | None = None) -> tuple[dict, bool]:
        """Train ``spec`` at this fidelity, or reuse a finished run of the same network and settings.

        Returns the run record and whether it was reused. Every trained model is saved as a run
        (kind ``scale``, ``extra`` with ``key`` plus what the caller passes).
        """
        from scaler.results import save_run

        key = self.key(spec)
        known = self.index().get(key)
        if known is not None:
            return known, True
        data = self.data.get(spec.resolution)
        record, model = train_spec(spec, data, self.train, callback=callback)
        record["data"] = dataclasses.asdict(self.data.config(spec.resolution))
        state = None
        if save_weights:
            state = {k: v.detach().cpu() for k, v in getattr(model, "module", model).state_dict().items()}
        path = save_run(record, "scale", self.results, state_dict=state, extra={**extra, "key": key})
        record = {**record, "path": str(path), "extra": {**extra, "key": key}}
        self.index()[key] = record
        return record, False


def train_spec(spec: Spec, data: Dataset, cfg: TrainConfig,
               callback: Callable[[Any], None] | None = None) -> tuple[dict, Any]:
    """Train ``spec`` on ``data`` (``scaler.training.fit.fit``): the run record and the model.

    A module-level name so that tests can watch or interrupt the training of scaled models.
    """
    from scaler.training.fit import fit

    return fit(spec, data, cfg, callback=callback)
