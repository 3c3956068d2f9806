"""A training's checkpoint: what a stopped training needs to go on as if it had never stopped.

The trainer (``scaler.training.trainer.train``) writes it after every whole epoch and reads it back
when the same training starts again; whoever keeps the finished run (``scaler.training.store``)
removes it. It holds the weights, the optimizer, the learning-rate schedule, the EMA weights, every
random stream the training draws from (data order, augmentation, dropout masks, a batch source's
own) and the history so far, so on the CPU a resumed run ends bit for bit where an unbroken one
ends. The store names the file by the training key, so a checkpoint is only read back by the same
network, data cut and settings. A file is written whole or not at all (a temporary file, then a
rename); one that cannot be read back is reported, removed, and the training starts from the
beginning.
"""

from __future__ import annotations

import copy
import math
import os
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

#: Bumped when the layout changes: a checkpoint of another version is not read (the training starts over).
VERSION = 1


@dataclass
class Progress:
    """Where a training stands after ``epochs_done`` whole epochs: the loop's counters and what it has
    measured so far."""

    epochs_done: int = 0
    step: int = 0
    train_time_s: float = 0.0
    elapsed_s: float = 0.0
    history: list[dict[str, float]] = field(default_factory=list)
    val_acc: float = math.nan
    val_loss: float = math.nan
    precision: str = "float32"


@dataclass
class Live:
    """The objects of a running training whose state a checkpoint saves and restores in place."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    ema: nn.Module | None
    generators: list[torch.Generator]  # data order, augmentation, a batch source's own
    device: torch.device

    def state(self) -> dict[str, Any]:
        """Everything these objects hold, and torch's global random streams (dropout, stochastic depth)."""
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(),
                "ema": self.ema.state_dict() if self.ema is not None else None,
                "generators": [g.get_state() for g in self.generators], "torch_rng": torch.get_rng_state(),
                "cuda_rng": torch.cuda.get_rng_state(self.device) if self.device.type == "cuda" else None}

    def restore(self, state: dict[str, Any]) -> None:
        """Put ``state`` (of ``state()``) back into these objects."""
        if len(state["generators"]) != len(self.generators) or (state["ema"] is None) != (self.ema is None):
            raise ValueError("it was written by a training with other random streams or another EMA setting")
        self.model.load_state_dict(state["model"])
        if self.ema is not None:
            self.ema.load_state_dict(state["ema"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        for generator, saved in zip(self.generators, state["generators"], strict=True):
            generator.set_state(saved)
        torch.set_rng_state(state["torch_rng"])
        if state["cuda_rng"] is not None and self.device.type == "cuda":
            torch.cuda.set_rng_state(state["cuda_rng"], self.device)


def save(path: Path, live: Live, progress: Progress) -> None:
    """Write the checkpoint of ``live`` after ``progress.epochs_done`` epochs, replacing any earlier one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.partial")
    torch.save({"version": VERSION, "progress": asdict(progress), **live.state()}, partial)
    os.replace(partial, path)


def epochs_done(path: Path) -> int | None:
    """How many epochs the checkpoint at ``path`` holds; None where there is none or it cannot be read."""
    saved = _read(path)
    return None if saved is None else saved["progress"]["epochs_done"]


def resume(path: Path, live: Live) -> Progress:
    """Restore ``live`` from the checkpoint at ``path`` and return where the training stands; a fresh
    ``Progress`` (nothing restored) where there is none. A checkpoint that does not fit ``live`` is
    warned about and removed, ``live`` left as it was."""
    saved = _read(path)
    if saved is None:
        return Progress()
    before = copy.deepcopy(live.state())
    try:
        live.restore(saved)
        return Progress(**saved["progress"])
    except (RuntimeError, ValueError, KeyError, TypeError) as exc:
        live.restore(before)
        _discard(path, f"it does not fit this training ({str(exc).splitlines()[0]})")
        return Progress()


def resuming(path: Path, label: str, epochs: int) -> str | None:
    """The progress line of a training ``label`` that goes on from the checkpoint at ``path``; None
    where it starts from the beginning."""
    done = epochs_done(path)
    return f"  {label}: goes on from its checkpoint after epoch {done}/{epochs}" if done else None


def remove(path: Path) -> None:
    """Remove the checkpoint at ``path`` (its training is kept as a run), if there is one."""
    path.unlink(missing_ok=True)


def _read(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file means the same: start over without it
        _discard(path, f"it cannot be read ({type(exc).__name__})")
        return None
    if not isinstance(saved, dict) or saved.get("version") != VERSION:
        _discard(path, f"it is not a version-{VERSION} checkpoint")
        return None
    return saved


def _discard(path: Path, why: str) -> None:
    warnings.warn(f"{path}: checkpoint removed, the training starts from the beginning: {why}", stacklevel=3)
    path.unlink(missing_ok=True)
