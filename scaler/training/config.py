"""How to train, as plain data: the trainer's config and its choices (no torch, so the CLI and the
study settings can read them cheaply), and what makes two trainings the same (``training_key``).
``scaler.training.trainer`` runs the config; ``scaler.training.store`` finds trainings by the key."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scaler.errors import ScalerError, UnknownNameError

if TYPE_CHECKING:
    from scaler.dsl import Spec

OPTIMIZERS = ("sgd", "adamw")
SCHEDULES = ("onecycle", "cosine")


@dataclass(frozen=True)
class TrainConfig:
    """How to train. ``None`` means a per-optimizer default (see ``peak_lr``/``decay``/``warmup``).

    ``batch_size`` is the global batch: under torchrun each of the N ranks takes batch_size / N
    images per step, so a run means the same thing on one device or many.
    """

    epochs: int = 10
    batch_size: int = 128
    optimizer: str = "sgd"
    lr: float | None = None
    weight_decay: float | None = None
    schedule: str = "onecycle"
    warmup_epochs: float | None = None
    label_smoothing: float = 0.1
    ema: float | None = None
    augment: bool = True
    device: str = "auto"
    seed: int = 0
    reports_per_epoch: int = 1
    max_batches_per_epoch: int | None = None

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise UnknownNameError(f"unknown optimizer {self.optimizer!r}: use one of {', '.join(OPTIMIZERS)}")
        if self.schedule not in SCHEDULES:
            raise UnknownNameError(f"unknown schedule {self.schedule!r}: use one of {', '.join(SCHEDULES)}")
        checks = [
            (self.epochs >= 1, "epochs must be >= 1"),
            (self.batch_size >= 1, "batch_size must be >= 1"),
            (self.lr is None or self.lr > 0, "lr must be > 0"),
            (self.weight_decay is None or self.weight_decay >= 0, "weight_decay must be >= 0"),
            (self.warmup_epochs is None or 0 <= self.warmup_epochs < self.epochs, "warmup_epochs must be < epochs"),
            (0 <= self.label_smoothing < 1, "label_smoothing must be in [0, 1)"),
            (self.ema is None or 0 < self.ema < 1, "ema decay must be in (0, 1)"),
            (self.reports_per_epoch >= 1, "reports_per_epoch must be >= 1"),
            (self.max_batches_per_epoch is None or self.max_batches_per_epoch >= 1, "max_batches_per_epoch >= 1"),
        ]
        for ok, message in checks:
            if not ok:
                raise ScalerError(f"bad training option: {message}")

    @property
    def peak_lr(self) -> float:
        """``lr`` or the default: SGD 0.1 per 128 images (linear scaling), AdamW 1e-3 * sqrt(batch / 128)."""
        if self.lr is not None:
            return self.lr
        if self.optimizer == "sgd":
            return 0.1 * self.batch_size / 128
        return 1e-3 * math.sqrt(self.batch_size / 128)

    @property
    def decay(self) -> float:
        """``weight_decay`` or the default: 5e-4 for SGD, 0.05 for AdamW (whose decay is multiplied by lr)."""
        if self.weight_decay is not None:
            return self.weight_decay
        return 5e-4 if self.optimizer == "sgd" else 0.05

    @property
    def warmup(self) -> float:
        """Warm-up in epochs: ``warmup_epochs`` or 30% of the run (onecycle) / min(1, 10% of the run) (cosine)."""
        if self.warmup_epochs is not None:
            return self.warmup_epochs
        return 0.3 * self.epochs if self.schedule == "onecycle" else min(1.0, 0.1 * self.epochs)


def network_identity(spec: Spec) -> str:
    """The network a Spec builds, unrolled (name and unresolved multipliers aside): equal for equal networks.

    depth 1.9 and depth 2 give the same repeats (ceil), so they are one network and one training.
    """
    settings = {k: v for k, v in spec.settings().items() if k not in ("width", "depth", "depth_round", "divisor")}
    return repr((settings, spec.blocks()))


def training_key(spec: Spec, data: Any, train: TrainConfig, recipe: dict | None = None) -> str:
    """What makes two trainings the same, as a short hash: the network trained (``network_identity``:
    names aside), the data cut (a ``DataConfig``) and the trainer settings, the seed included; the
    device is left out, since it changes no number the record keeps. ``recipe``: what else a training
    with its own batch source learns from (``scaler.student``: the labelled split, the pseudo-label set's
    hash, the noise), None for the ordinary training. Every training kept for reuse
    (``scaler.training.store``: scaled models, bench cells, benchmark cells, students) is found by it."""
    cut = dataclasses.asdict(data)
    cut.pop("device", None)
    settings = dataclasses.asdict(train)
    settings.pop("device", None)
    key = {"spec": network_identity(spec), "data": cut, "train": settings}
    if recipe is not None:
        key["recipe"] = recipe
    text = json.dumps(key, sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:16]
