"""Spec + data -> trained metrics: the one path that `train`, `search` and `scale` share."""

from __future__ import annotations

import dataclasses
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from scaler.data import Dataset, resolve_device
from scaler.dsl import Spec
from scaler.nn.build import build
from scaler.nn.complexity import complexity
from scaler.results.record import RunRecord
from scaler.training.checkpoint import resuming
from scaler.training.trainer import BatchSource, Report, TrainConfig, distributed_context, train

#: Least seconds between two progress lines of one training (``EpochLog``): a 2-epoch proxy says little,
#: a 16-epoch study training on one core says where it is every few minutes.
EPOCH_LOG_EVERY_S = 60.0


@dataclasses.dataclass
class EpochLog:
    """A training's progress for a log that many trainings share (a worker process's stderr, a compare's
    log): after a whole epoch, at most one line per ``EPOCH_LOG_EVERY_S``, named by ``label``."""

    label: str
    epochs: int
    log: Callable[[str], None]
    every_s: float | None = None  # None: EPOCH_LOG_EVERY_S
    _last_s: float = 0.0

    def __call__(self, report: Report) -> None:
        whole = abs(report.epoch - round(report.epoch)) < 1e-9
        every = EPOCH_LOG_EVERY_S if self.every_s is None else self.every_s
        if not whole or report.elapsed_s - self._last_s < every:
            return
        self._last_s = report.elapsed_s
        self.log(f"  {self.label}: epoch {round(report.epoch)}/{self.epochs}, val acc {report.val_acc:.4f} "
                 f"({report.elapsed_s:.0f} s, {report.images_per_s:.0f} img/s)")

    @classmethod
    def starting(cls, label: str, epochs: int, log: Callable[[str], None], checkpoint: Path | None) -> EpochLog:
        """The log of a training about to start, which first says so when it goes on from ``checkpoint``."""
        if checkpoint is not None and (line := resuming(checkpoint, label, epochs)):
            log(line)
        return cls(label, epochs, log)


@torch.no_grad()
def measure_latency(model: nn.Module, in_channels: int, resolution: int, device: torch.device,
                    repeats: int = 10) -> float:
    """Median milliseconds of one single-image forward pass in eval mode, channels_last, on ``device``."""
    was_training = model.training
    model.eval()
    x = torch.randn(1, in_channels, resolution, resolution, device=device).contiguous(memory_format=torch.channels_last)
    times = []
    for i in range(repeats + 2):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        model(x)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        if i >= 2:  # the first calls warm up allocators and kernels
            times.append((time.perf_counter() - start) * 1e3)
    model.train(was_training)
    return statistics.median(times)


def fit(spec: Spec, data: Dataset, cfg: TrainConfig, callback: Callable[[Report], None] | None = None,
        progress: bool = False, evaluate_test: bool = False, source: BatchSource | None = None,
        checkpoint: Path | None = None) -> tuple[dict, nn.Module]:
    """Build ``spec`` for ``data``, count it at the data's resolution, train it (on ``source``'s batches if
    given, ``scaler.training.trainer.train``; going on from ``checkpoint`` and saving it each epoch where
    given) and time it.

    Returns the run record (a ``RunRecord`` as its JSON dict, without the envelope ``save_run`` adds)
    and the trained module.
    """
    spec = spec.scale(resolution=data.resolution)
    cx = complexity(spec, in_channels=data.in_channels, num_classes=data.num_classes)
    device = resolve_device(cfg.device, distributed_context().local_rank)
    torch.manual_seed(cfg.seed)
    model = build(spec, num_classes=data.num_classes, in_channels=data.in_channels)
    model = model.to(device, memory_format=torch.channels_last)
    result = train(model, data.to(device), cfg, callback=callback, progress=progress, evaluate_test=evaluate_test,
                   source=source, checkpoint=checkpoint)
    evaluated = result.ema_model or model
    latency = measure_latency(evaluated, data.in_channels, data.resolution, device) if result.status == "ok" else None
    record = RunRecord(
        name=spec.name, family=spec.family, spec=spec.text(), status=result.status,
        resolution=data.resolution, params=cx.params, macs=cx.macs, acts=cx.acts,
        val_acc=_finite(result.val_acc), val_loss=_finite(result.val_loss),
        test_acc=_finite(result.test_acc), latency_ms=latency, train_time_s=result.train_time_s,
        images_per_s=result.images_per_s, epochs_run=result.epochs_run, device=result.device,
        world_size=result.world_size, precision=result.precision, channels_last=result.channels_last,
        backend=result.backend, train=dataclasses.asdict(cfg), history=result.history,
        # every run says what it was trained on (callers with the full DataConfig replace this)
        data={"name": data.name, "train_size": len(data.x_train), "val_size": len(data.x_val),
              "resolution": data.resolution},
        # what the saved weights expect (``scaler export`` rebuilds the module from them) and what deploying
        # them needs: the input normalisation of pixels in [0, 1] and the class names by output index
        in_channels=data.in_channels, num_classes=data.num_classes,
        mean=list(data.mean), std=list(data.std), class_names=list(data.classes),
    ).as_dict()
    return record, evaluated


def cpu_weights(model: nn.Module) -> dict[str, torch.Tensor]:
    """The trained weights of ``model`` (a DDP wrapper's module), detached, on the CPU: what a run keeps."""
    return {k: v.detach().cpu() for k, v in getattr(model, "module", model).state_dict().items()}


def _finite(value: float | None) -> float | None:
    """NaN/inf (a diverged run) becomes None so records stay valid JSON."""
    return value if value is not None and value == value and abs(value) != float("inf") else None
