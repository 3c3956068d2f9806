"""A training's checkpoint (``scaler.training.checkpoint``): a training stopped after some epochs and
started again ends bit for bit where an unbroken one ends (weights, history, accuracy), through the
trainer, the store and the store's worker path; a checkpoint that does not fit is removed with a
warning and the training starts over; a kept run takes its checkpoint with it."""

from __future__ import annotations

import dataclasses
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from torch import nn

from scaler.data import DataConfig, Dataset, load_data
from scaler.dsl import parse_spec
from scaler.student.batches import MixedBatches, RandAugment
from scaler.training import checkpoint as ckpt
from scaler.training import fit as fit_module
from scaler.training import parallel
from scaler.training.store import DataCache, Store, Training
from scaler.training.trainer import Report, TrainConfig, train

SYNTH = "synthetic:classes=4,size=600,test_size=100,channels=1,resolution=12,noise=2.5"
#: every random stream the trainer draws from is used: data order, augmentation, dropout masks, EMA
CFG = TrainConfig(epochs=3, batch_size=64, device="cpu", ema=0.9, reports_per_epoch=2, augment=True,
                  label_smoothing=0.1, max_batches_per_epoch=4)
TIMING = ("images_per_s", "elapsed_s")  # the only fields of a report that differ from run to run


class Stop(Exception):
    """Stands in for whatever stops a training: Ctrl-C, SIGTERM, a machine going down."""


class DropNet(nn.Module):
    """conv-bn-relu, dropout, linear: a net whose every forward pass draws from torch's global stream."""

    def __init__(self, width: int = 8) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
                                      nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Dropout(0.3))
        self.head = nn.Linear(4 * width, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


@pytest.fixture(scope="module")
def synth() -> Dataset:
    return load_data(DataConfig(SYNTH, val_size=100))


def fresh(width: int = 8) -> DropNet:
    torch.manual_seed(0)
    return DropNet(width)


def untimed(history: list[dict[str, float]]) -> list[dict[str, float]]:
    return [{k: v for k, v in r.items() if k not in TIMING} for r in history]


def stop_in_epoch(epoch: float):  # noqa: ANN201 - a callback
    def callback(report: Report) -> None:
        if report.epoch >= epoch:
            raise Stop

    return callback


def same_weights(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_a_training_stopped_and_started_again_ends_where_an_unbroken_one_ends(synth: Dataset, tmp_path: Path) -> None:
    unbroken_model = fresh()
    unbroken = train(unbroken_model, synth, CFG)

    path = tmp_path / "t.pt"
    with pytest.raises(Stop):  # stopped half-way through the third epoch: two whole epochs are saved
        train(fresh(), synth, CFG, callback=stop_in_epoch(2.5), checkpoint=path)
    assert ckpt.epochs_done(path) == 2

    reports: list[Report] = []
    model = fresh()
    resumed = train(model, synth, CFG, callback=reports.append, checkpoint=path)
    assert [r.epoch for r in reports] == [2.5, 3.0]  # only the epoch that was left is trained
    assert untimed(resumed.history) == untimed(unbroken.history)  # the first two epochs' history came back too
    assert resumed.val_acc == unbroken.val_acc and resumed.val_loss == unbroken.val_loss
    assert same_weights(model, unbroken_model) and same_weights(resumed.ema_model, unbroken.ema_model)
    assert resumed.epochs_run == unbroken.epochs_run == 3
    assert ckpt.epochs_done(path) == 3  # the trainer leaves it; the store removes it once the run is kept


def test_without_the_saved_random_streams_the_run_would_differ(synth: Dataset, tmp_path: Path) -> None:
    """The bit-for-bit test above can fail: a resume that restores only the weights and optimizer ends elsewhere."""
    unbroken_model = fresh()
    train(unbroken_model, synth, CFG)
    path = tmp_path / "t.pt"
    with pytest.raises(Stop):
        train(fresh(), synth, CFG, callback=stop_in_epoch(2.5), checkpoint=path)
    saved = torch.load(path, weights_only=True)
    saved["generators"] = [torch.Generator().manual_seed(7).get_state() for _ in saved["generators"]]
    torch.save(saved, path)
    model = fresh()
    train(model, synth, CFG, checkpoint=path)
    assert not same_weights(model, unbroken_model)


def test_a_batch_sources_own_random_stream_is_kept_too(synth: Dataset, tmp_path: Path) -> None:
    """A student's batches draw RandAugment from a stream of their own: the checkpoint keeps it."""
    targets = torch.nn.functional.one_hot(synth.y_train, 4).float()

    def source() -> MixedBatches:
        return MixedBatches(synth.x_train[:256], targets[:256], synth.x_train[256:], targets[256:], ratio=1.0,
                            noise=RandAugment(2, 9.0, synth.mean, synth.std))

    unbroken_model = fresh()
    unbroken = train(unbroken_model, synth, CFG, source=source())
    path = tmp_path / "t.pt"
    with pytest.raises(Stop):
        train(fresh(), synth, CFG, source=source(), callback=stop_in_epoch(2.5), checkpoint=path)
    model = fresh()
    resumed = train(model, synth, CFG, source=source(), checkpoint=path)
    assert untimed(resumed.history) == untimed(unbroken.history) and same_weights(model, unbroken_model)


@pytest.mark.parametrize("bad", ["other network", "not a checkpoint"])
def test_a_checkpoint_that_does_not_fit_is_removed_and_the_training_starts_over(synth: Dataset, tmp_path: Path,
                                                                               bad: str) -> None:
    path = tmp_path / "t.pt"
    if bad == "other network":
        with pytest.raises(Stop):
            train(fresh(width=16), synth, CFG, callback=stop_in_epoch(1.5), checkpoint=path)
        assert ckpt.epochs_done(path) == 1
    else:
        path.write_bytes(b"half a file")
    unbroken_model = fresh()
    unbroken = train(unbroken_model, synth, CFG)
    model = fresh()
    with pytest.warns(UserWarning, match="checkpoint removed, the training starts from the beginning"):
        result = train(model, synth, CFG, checkpoint=path)
    assert untimed(result.history) == untimed(unbroken.history) and same_weights(model, unbroken_model)
    assert ckpt.epochs_done(path) == 3  # the new run's own, whole


TINY = "model tiny\n  resolution 16\n  dropout 0.2\n  stem conv c8 k3\n  stage conv c16 k3\n  head gpool\n  head fc\n"
DATA = DataConfig(name="synthetic:classes=4,size=256,test_size=64,resolution=16", val_size=64, download=False)
THREE = TrainConfig(epochs=3, batch_size=64, device="cpu", max_batches_per_epoch=2, augment=True)


def stopping_log(lines: list[str], at: str):  # noqa: ANN201 - a log function
    """A progress log that stops the training on the line that holds ``at``."""

    def log(line: str) -> None:
        lines.append(line)
        if at in line:
            raise Stop

    return log


@pytest.fixture
def every_epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fit_module, "EPOCH_LOG_EVERY_S", 0.0)


@pytest.mark.usefixtures("every_epoch")
def test_the_store_goes_on_from_the_checkpoint_and_removes_it_with_the_kept_run(tmp_path: Path) -> None:
    training = Training(parse_spec(TINY), THREE, DATA, {"role": "cell"})
    data = DataCache(DATA)
    unbroken, _ = Store(tmp_path / "unbroken", "test").train(training, data.load)

    store, lines = Store(tmp_path / "stopped", "test"), []
    with pytest.raises(Stop):  # the epoch-2 line comes before epoch 2's checkpoint: epoch 1 is what is saved
        store.train(training, data.load, log=stopping_log(lines, "epoch 2/3"))
    checkpoint = store.checkpoint(training)
    assert checkpoint == tmp_path / "stopped" / "checkpoints" / f"{training.key}.pt"
    assert ckpt.epochs_done(checkpoint) == 1

    lines = []
    record, reused = Store(tmp_path / "stopped", "test").train(training, data.load, log=lines.append)
    assert not reused
    assert [line.split(",")[0] for line in lines] == [
        "  tiny cell seed 0: goes on from its checkpoint after epoch 1/3",
        "  tiny cell seed 0: epoch 2/3", "  tiny cell seed 0: epoch 3/3"]
    assert record["val_acc"] == unbroken["val_acc"]
    assert untimed(record["history"]) == untimed(unbroken["history"])
    assert not checkpoint.exists()


@pytest.mark.usefixtures("every_epoch")
def test_the_stores_workers_go_on_from_their_checkpoints(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capfd: pytest.CaptureFixture) -> None:
    trainings = [Training(parse_spec(TINY), dataclasses.replace(THREE, seed=seed), DATA) for seed in (0, 1)]
    unbroken = [r for r, _ in Store(tmp_path / "unbroken", "test").train_all(trainings, load_data, jobs=1)]

    lines: list[str] = []
    monkeypatch.setattr(parallel, "log_to_stderr", stopping_log(lines, "seed 1: epoch 3/3"))
    store = Store(tmp_path / "stopped", "test")
    with pytest.raises(Stop):  # seed 0 finished and was kept; seed 1 stopped in its last epoch
        list(store.train_all(trainings, load_data, jobs=1))
    assert not store.checkpoint(trainings[0]).exists() and ckpt.epochs_done(store.checkpoint(trainings[1])) == 2

    monkeypatch.undo()
    monkeypatch.setattr(fit_module, "EPOCH_LOG_EVERY_S", 0.0)
    capfd.readouterr()
    again = list(Store(tmp_path / "stopped", "test").train_all(trainings, load_data, jobs=1))
    assert [reused for _, reused in again] == [True, False]
    assert "tiny seed 1: goes on from its checkpoint after epoch 2/3" in capfd.readouterr().err
    assert [r["val_acc"] for r, _ in again] == [r["val_acc"] for r in unbroken]
    assert untimed(again[1][0]["history"]) == untimed(unbroken[1]["history"])
    assert not store.checkpoint(trainings[1]).exists()


@pytest.mark.slow
def test_a_compare_killed_mid_training_goes_on_from_the_checkpoints_when_run_again(tmp_path: Path,
                                                                                   tiny_base: Path) -> None:
    """The real path: ``scaler scale --compare --jobs 2`` (spawned training workers) killed with its
    workers (SIGKILL, a machine gone) while a cell trains; the same command goes on from the cell's
    last whole epoch and leaves no checkpoint behind."""
    cmd = [sys.executable, "-m", "scaler", "scale", "--base", str(tiny_base), "--compare", "--ratios", "2",
           "--alpha", "1.2", "--beta", "1.1", "--gamma", "1.15", "--width", "0.5",
           "--data", "synthetic:classes=4,size=1200,resolution=16", "--train-size", "1024", "--val-size", "128",
           "--epochs", "8", "--batch-size", "32", "--bootstrap", "0", "--jobs", "2", "--device", "cpu",
           "--results", str(tmp_path)]
    checkpoints = tmp_path / "checkpoints"
    log = tmp_path / "first.err"
    with log.open("w") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
    try:
        deadline = time.time() + 120
        while not list(checkpoints.glob("*.pt")):  # a cell has saved a whole epoch and trains on
            if proc.poll() is not None or time.time() > deadline:
                pytest.fail(f"no checkpoint while the compare ran: {log.read_text()[-500:]}")
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert re.search(r"goes on from its checkpoint after epoch [1-7]/8", done.stderr), done.stderr
    assert not list(checkpoints.glob("*"))  # every training kept, every checkpoint gone
