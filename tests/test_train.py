"""Tests of scaler.training.trainer: accuracy, determinism, divergence, callbacks, optimizer groups, schedules, DDP."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from scaler import data as data_mod
from scaler.data import DataConfig, load_data
from scaler.errors import ScalerError, UnknownNameError
from scaler.training import trainer as trainer_mod
from scaler.training.trainer import (
    Report,
    TrainConfig,
    distributed_context,
    evaluate,
    leave_distributed,
    lr_factor,
    make_optimizer,
    param_groups,
    train,
)

ROOT = Path(__file__).resolve().parents[1]
SYNTH = "synthetic:classes=4,size=1100,test_size=200,channels=1,resolution=12,noise=2.5"


class SmallCNN(nn.Module):
    """conv-bn-relu x2 + linear: the stand-in for built models in these tests."""

    def __init__(self, in_channels: int = 1, num_classes: int = 10, resolution: int = 28) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
            nn.Conv2d(16, 32, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.head = nn.Linear(32 * (resolution // 4) ** 2, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).flatten(1))


def small_cnn(data: data_mod.Dataset, seed: int = 0) -> SmallCNN:
    torch.manual_seed(seed)
    return SmallCNN(data.in_channels, data.num_classes, data.resolution)


@pytest.fixture(scope="module")
def synth() -> data_mod.Dataset:
    """1000 training images -> 7 batches of 128, or 15 batches of 64."""
    return load_data(DataConfig(SYNTH, val_size=100))


QUICK = TrainConfig(epochs=2, batch_size=64, device="cpu")


@pytest.mark.slow
@pytest.mark.skipif(
    not (data_mod.DEBIAN_FASHION_MNIST_DIR / "train-images-idx3-ubyte.gz").is_file(),
    reason="Debian's dataset-fashion-mnist is not installed",
)
def test_small_cnn_learns_fashion_mnist() -> None:
    data = load_data(DataConfig(train_size=10000, val_size=2000, download=False))
    result = train(small_cnn(data), data, TrainConfig(epochs=2, augment=False, device="cpu"), evaluate_test=True)
    assert result.status == "ok" and result.device == "cpu"
    assert result.val_acc >= 0.80
    assert result.test_acc is not None and result.test_acc >= 0.78
    assert result.epochs_run == 2 and len(result.history) == 2
    assert result.images_per_s > 0 and result.train_time_s > 0  # speed lives in benchmarks/, not in a timed test


def test_same_seed_same_metrics(synth: data_mod.Dataset) -> None:
    cfg = TrainConfig(epochs=2, batch_size=64, device="cpu", ema=0.9, reports_per_epoch=2)

    def run(seed: int) -> tuple[list[tuple[float, ...]], dict[str, torch.Tensor]]:
        model = small_cnn(synth)
        result = train(model, synth, dataclasses.replace(cfg, seed=seed))
        keys = ("train_loss", "val_acc", "val_loss", "lr")
        return [tuple(r[k] for k in keys) for r in result.history], model.state_dict()

    first, weights = run(0)
    second, weights_again = run(0)
    assert first == second
    assert all(torch.equal(weights[k], weights_again[k]) for k in weights)
    third, _ = run(1)
    assert third != first


def test_diverging_run_reports_status_not_traceback(synth: data_mod.Dataset) -> None:
    reports: list[Report] = []
    result = train(
        small_cnn(synth), synth, TrainConfig(epochs=3, batch_size=64, lr=1e12, device="cpu"), callback=reports.append
    )
    assert result.status == "diverged"
    assert math.isnan(result.val_acc) and math.isnan(result.val_loss)
    assert result.epochs_run < 3 and reports == []


def test_callback_gets_epoch_and_fractional_reports(synth: data_mod.Dataset) -> None:
    reports: list[Report] = []
    result = train(small_cnn(synth), synth, TrainConfig(epochs=2, device="cpu"), callback=reports.append)
    assert [r.epoch for r in reports] == [1.0, 2.0]
    assert [r.step for r in reports] == [7, 14]
    assert result.history == [r.__dict__ for r in reports]
    assert result.val_acc == reports[-1].val_acc and result.val_loss == reports[-1].val_loss
    assert result.test_acc is None

    fractional: list[Report] = []
    cfg = TrainConfig(epochs=2, batch_size=64, device="cpu", reports_per_epoch=3, max_batches_per_epoch=12)
    result = train(small_cnn(synth), synth, cfg, callback=fractional.append)
    assert [r.epoch for r in fractional] == [pytest.approx(x) for x in (1 / 3, 2 / 3, 1, 4 / 3, 5 / 3, 2)]
    assert [r.step for r in fractional] == [4, 8, 12, 16, 20, 24]
    for r in fractional:
        assert 0 <= r.val_acc <= 1 and r.val_loss > 0 and r.train_loss > 0
        assert r.images_per_s > 0 and r.elapsed_s > 0 and r.lr > 0
    assert [r.elapsed_s for r in fractional] == sorted(r.elapsed_s for r in fractional)
    assert fractional[-1].val_acc > 0.5  # it learned something (chance is 0.25)
    assert result.epochs_run == 2


class Prune(Exception):
    """Stands in for optuna.TrialPruned."""


def test_callback_exception_propagates_unchanged(synth: data_mod.Dataset) -> None:
    error = Prune("stop here")
    seen: list[Report] = []

    def callback(report: Report) -> None:
        seen.append(report)
        raise error

    cfg = TrainConfig(epochs=3, batch_size=64, device="cpu", reports_per_epoch=2)
    with pytest.raises(Prune) as info:
        train(small_cnn(synth), synth, cfg, callback=callback)
    assert info.value is error and len(seen) == 1
    assert not torch.are_deterministic_algorithms_enabled()  # global state restored


def test_weight_decay_skips_norm_and_bias() -> None:
    model = SmallCNN()
    decay, no_decay = param_groups(model, 5e-4)
    conv1, conv2 = model.features[0], model.features[3]
    bn1, bn2 = model.features[1], model.features[4]
    ids = lambda params: sorted(id(p) for p in params)  # noqa: E731
    assert decay["weight_decay"] == 5e-4 and no_decay["weight_decay"] == 0.0
    assert ids(decay["params"]) == ids([conv1.weight, conv2.weight, model.head.weight])
    assert ids(no_decay["params"]) == ids([bn1.weight, bn1.bias, bn2.weight, bn2.bias, model.head.bias])

    sgd = make_optimizer(model, TrainConfig(device="cpu"))
    assert isinstance(sgd, torch.optim.SGD) and sgd.defaults["nesterov"] and sgd.defaults["momentum"] == 0.9
    assert [g["weight_decay"] for g in sgd.param_groups] == [5e-4, 0.0]
    assert sgd.defaults["lr"] == pytest.approx(0.1)
    adamw = make_optimizer(model, TrainConfig(optimizer="adamw", batch_size=512, weight_decay=1e-4))
    assert isinstance(adamw, torch.optim.AdamW)
    assert [g["weight_decay"] for g in adamw.param_groups] == [1e-4, 0.0]
    assert adamw.defaults["lr"] == pytest.approx(2e-3)


def test_lr_schedules_warm_up_and_anneal() -> None:
    total, warmup = 100, 30
    onecycle = [lr_factor(s, total, warmup, "onecycle") for s in range(total)]
    assert onecycle[0] == pytest.approx(1 / 25) and onecycle[warmup] == pytest.approx(1.0)
    assert max(onecycle) == pytest.approx(1.0) and onecycle[-1] < 1e-3
    assert onecycle[:warmup + 1] == sorted(onecycle[:warmup + 1])
    assert onecycle[warmup:] == sorted(onecycle[warmup:], reverse=True)
    cosine = [lr_factor(s, total, 5, "cosine") for s in range(total + 1)]
    assert cosine[0] == pytest.approx(1 / 5) and cosine[5] == 1.0 and cosine[-1] == pytest.approx(0.0)
    assert lr_factor(0, 10, 0, "cosine") == 1.0  # no warm-up at all


def test_ema_model_is_what_gets_evaluated(synth: data_mod.Dataset) -> None:
    model = small_cnn(synth)
    result = train(model, synth, TrainConfig(epochs=1, batch_size=64, device="cpu", ema=0.99), evaluate_test=True)
    ema = result.ema_model
    assert ema is not None and ema is not model
    assert not torch.equal(ema.head.weight, model.head.weight)
    # evaluate's default batch differs from the trainer's, so float sums may differ in the last bits.
    assert (result.val_acc, result.val_loss) == pytest.approx(evaluate(ema, synth.x_val, synth.y_val), rel=1e-6)
    assert (result.test_acc, result.test_loss) == pytest.approx(evaluate(ema, synth.x_test, synth.y_test), rel=1e-6)
    assert evaluate(model, synth.x_val, synth.y_val)[1] != pytest.approx(result.val_loss, rel=1e-3)
    assert model.features[0].weight.is_contiguous(memory_format=torch.channels_last)


def test_bad_options_are_input_errors(synth: data_mod.Dataset) -> None:
    with pytest.raises(UnknownNameError, match="sgd, adamw"):
        TrainConfig(optimizer="lamb")
    with pytest.raises(UnknownNameError, match="onecycle, cosine"):
        TrainConfig(schedule="step")
    for bad in ({"epochs": 0}, {"ema": 1.0}, {"warmup_epochs": 5, "epochs": 5}, {"reports_per_epoch": 0}):
        with pytest.raises(ScalerError, match="bad training option"):
            TrainConfig(**bad)
    with pytest.raises(ScalerError, match="larger than the 1000 training images"):
        train(small_cnn(synth), synth, TrainConfig(batch_size=2048, device="cpu"))
    with pytest.raises(ScalerError, match="device"):
        train(small_cnn(synth), synth, TrainConfig(device="tpu"))


def test_not_distributed_outside_torchrun(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(var, raising=False)
    ctx = distributed_context()
    assert (ctx.rank, ctx.world_size, ctx.enabled, ctx.is_main) == (0, 1, False, True)
    assert not torch.distributed.is_initialized()


def test_leave_distributed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Outside a process group it returns; a rank that succeeded waits for the others and destroys the
    group before it exits, a failed one exits at once with its code (waiting would hang the others)."""
    assert leave_distributed(0) is None  # no process group: the command's own return goes on
    calls: list[str] = []
    monkeypatch.setattr(trainer_mod.torch_dist, "is_initialized", lambda: True)
    monkeypatch.setattr(trainer_mod.torch_dist, "barrier", lambda: calls.append("barrier"))
    monkeypatch.setattr(trainer_mod.torch_dist, "destroy_process_group", lambda: calls.append("destroy"))

    def exit_now(code: int) -> None:
        calls.append(f"exit {code}")
        raise SystemExit(code)

    monkeypatch.setattr(trainer_mod.os, "_exit", exit_now)
    for code, expected in ((0, ["barrier", "destroy", "exit 0"]), (2, ["exit 2"])):
        calls.clear()
        with pytest.raises(SystemExit):
            leave_distributed(code)
        assert calls == expected


@pytest.mark.slow
def test_torchrun_ddp_ranks_end_identical(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--standalone",
        str(ROOT / "tests" / "ddp_worker.py"), str(tmp_path),
    ]
    proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    rank0, rank1 = (json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1))
    assert rank0["world_size"] == rank1["world_size"] == 2
    assert rank0["status"] == rank1["status"] == "ok"
    assert rank0["model"] == rank1["model"]  # parameters and (averaged) BN statistics, bit for bit
    assert rank0["ema"] == rank1["ema"]
    for key in ("val_acc", "val_loss", "test_acc"):
        assert rank0[key] == rank1[key]
    strip = lambda h: [{k: v for k, v in r.items() if k not in ("images_per_s", "elapsed_s")} for r in h]  # noqa: E731
    assert strip(rank0["history"]) == strip(rank1["history"])
    assert [r["epoch"] for r in rank0["history"]] == [0.5, 1.0, 1.5, 2.0, 2.5, 3.0]
    assert rank0["history"][-1]["step"] == 18 * 3  # 1200 images / global batch 64 = 18 steps per epoch
    assert rank0["callback_reports"] == 6 and rank1["callback_reports"] == 0
    assert rank0["val_acc"] > 0.5


@pytest.mark.slow
def test_torchrun_scaler_train_as_the_docs_show(tmp_path: Path) -> None:
    """``torchrun -m scaler train`` (docs/training.md's form) ends with exit code 0 on both ranks, and rank 0
    alone prints and saves: the command leaves the process group through ``leave_distributed``."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--standalone", "-m", "scaler",
        "train", "plain-cnn", "--width", "0.25", "--epochs", "1", "--json", "--results", str(tmp_path),
        "--data", "synthetic:classes=4,size=600,test_size=64,channels=1,resolution=16", "--val-size", "64",
    ]
    proc = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    record = json.loads(proc.stdout)  # one JSON document: rank 1 printed nothing
    assert record["world_size"] == 2 and record["status"] == "ok"
    assert Path(record["path"]).is_dir() and len(list((tmp_path / "runs").iterdir())) == 1
