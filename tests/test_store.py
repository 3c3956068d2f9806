"""The one store of trainings (``scaler.training.store``): a training is trained once and reused by its
``training_key``, a changed setting is trained again, a stopped call resumes with what finished, and
the key itself is what it was before it moved below scaling (so runs kept earlier stay found)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import pytest

from scaler.data import DataConfig, load_data
from scaler.dsl import parse_spec
from scaler.results import load_runs
from scaler.training import fit as fit_module
from scaler.training.config import TrainConfig, network_identity, training_key
from scaler.training.store import DataCache, Store, Training
from scaler.training.trainer import Report

TINY = "model tiny\n  resolution 16\n  stem conv c8 k3\n  stage conv c16 k3\n  head gpool\n  head fc\n"
DATA = DataConfig(name="synthetic:classes=4,size=256,test_size=64,resolution=16", val_size=64, download=False)
TRAIN = TrainConfig(epochs=1, batch_size=64, device="cpu", max_batches_per_epoch=2)


@pytest.fixture
def fits(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The trainer seed of every training that ran (``fit`` watched, not replaced)."""
    seen: list[int] = []
    real = fit_module.fit

    def watched(spec, data, cfg, **kwargs):  # noqa: ANN001, ANN202
        seen.append(cfg.seed)
        return real(spec, data, cfg, **kwargs)

    monkeypatch.setattr(fit_module, "fit", watched)
    return seen


def test_the_key_is_the_one_runs_were_kept_under_before_it_moved() -> None:
    # values computed with network_identity in scaler.scaling.growth, before it moved to scaler.training.config
    spec = parse_spec(TINY.replace("c8", "c32").replace("c16", "c64"))
    data = DataConfig(name="synthetic:classes=4,size=256,resolution=16", val_size=64)
    train = TrainConfig(epochs=1, batch_size=64, seed=3)
    assert training_key(spec, data, train) == "31fca54cbbaa2f90"
    assert training_key(spec.scale(width=0.5), data, train) == "1b0fda8075fcb593"
    # names aside, and the device changes no number
    assert training_key(dataclasses.replace(spec, name="other"), data, dataclasses.replace(train, device="cuda")) \
        == "31fca54cbbaa2f90"
    assert network_identity(spec) != network_identity(spec.scale(width=0.5))


def test_a_training_is_trained_once_and_reused_by_its_key(tmp_path: Path, fits: list[int]) -> None:
    spec = parse_spec(TINY)
    data = DataCache(DATA)
    first = Training(spec, TRAIN, DATA, {"label": "a"})
    record, reused = Store(tmp_path, "test").train(first, data.load)
    assert not reused and fits == [0] and record["extra"] == {"label": "a", "key": first.key}
    assert record["test_acc"] is not None  # as ``train_all``'s workers evaluate it: a run does not depend on --jobs

    # another call (a fresh store on the same folder) finds the run, also under another name
    store = Store(tmp_path, "test")
    found, reused = store.train(Training(dataclasses.replace(spec, name="copy"), TRAIN, DATA), data.load)
    assert reused and fits == [0] and found["run_id"] == record["run_id"] and found["val_acc"] == record["val_acc"]

    # a run kept without a test accuracy (by an older version) is trained again when one is asked for
    untested = Training(spec, dataclasses.replace(TRAIN, lr=0.05), DATA)
    store.keep({**record, "test_acc": None}, untested)
    assert store.train(untested, data.load)[1]
    tested, reused = store.train(untested, data.load, need_test=True)
    assert not reused and fits == [0, 0] and tested["test_acc"] is not None

    # a changed setting (the seed, the epochs, the data cut) is another training, never a stale reuse
    changed = [Training(spec, dataclasses.replace(TRAIN, seed=1), DATA),
               Training(spec, dataclasses.replace(TRAIN, epochs=2), DATA),
               Training(spec, TRAIN, dataclasses.replace(DATA, train_size=128))]
    assert [store.train(t, load_data)[1] for t in changed] == [False, False, False]
    assert fits == [0, 0, 1, 0, 0] and len(load_runs(tmp_path)[0]) == 6


def test_a_stopped_call_resumes_and_a_key_is_trained_once_per_call(tmp_path: Path, fits: list[int],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    spec = parse_spec(TINY)
    trainings = [Training(spec, dataclasses.replace(TRAIN, seed=seed), DATA, {"n": n})
                 for n, seed in enumerate((0, 1, 0))]  # the third is the first again
    watched: Callable = fit_module.fit

    def stop_at_seed_1(spec, data, cfg, **kwargs):  # noqa: ANN001, ANN202
        if cfg.seed == 1:
            raise KeyboardInterrupt
        return watched(spec, data, cfg, **kwargs)

    monkeypatch.setattr(fit_module, "fit", stop_at_seed_1)
    with pytest.raises(KeyboardInterrupt):
        list(Store(tmp_path, "test").train_all(trainings, load_data, jobs=1))
    assert fits == [0] and len(load_runs(tmp_path)[0]) == 1  # what finished before the stop is kept

    monkeypatch.setattr(fit_module, "fit", watched)
    got = list(Store(tmp_path, "test").train_all(trainings, load_data, jobs=1))
    assert fits == [0, 1]  # only the missing one
    assert [reused for _, reused in got] == [True, False, True]
    assert got[0][0]["run_id"] == got[2][0]["run_id"] and got[1][0]["train"]["seed"] == 1
    assert got[1][0]["test_acc"] is not None and len(load_runs(tmp_path)[0]) == 2


def test_a_call_that_needs_weights_trains_again_a_run_kept_without_them(tmp_path: Path, fits: list[int]) -> None:
    training = Training(parse_spec(TINY), TRAIN, DATA)
    (first, _), = Store(tmp_path, "test").train_all([training], load_data, jobs=1)
    assert not (Path(first["path"]) / "weights.pt").exists()
    (again, reused), = Store(tmp_path, "test").train_all([training], load_data, jobs=1, save_weights=True)
    assert not reused and fits == [0, 0] and (Path(again["path"]) / "weights.pt").is_file()
    store = Store(tmp_path, "test")  # a fresh index: the run with weights is the one found, and it is enough
    assert store.find(training, need_weights=True)["run_id"] == again["run_id"]
    (last, reused), = store.train_all([training], load_data, jobs=1, save_weights=True)
    assert reused and last["run_id"] == again["run_id"] and fits == [0, 0]


def report_at(epoch: float, elapsed_s: float) -> Report:
    return Report(epoch=epoch, step=0, train_loss=1.0, val_acc=0.5, val_loss=1.0, lr=0.1, images_per_s=100.0,
                  elapsed_s=elapsed_s)


def test_a_trainings_progress_is_one_line_per_whole_epoch_at_most_once_a_minute() -> None:
    lines: list[str] = []
    progress = fit_module.EpochLog("net seed 2", 16, lines.append)
    for epoch, elapsed in ((0.5, 70), (1, 40), (2, 80), (3, 100), (4, 141), (5, 150)):
        progress(report_at(epoch, elapsed))
    # half an epoch is not a line; epoch 1 came before a minute, 3 within a minute of 2, 5 of 4
    assert lines == ["  net seed 2: epoch 2/16, val acc 0.5000 (80 s, 100 img/s)",
                     "  net seed 2: epoch 4/16, val acc 0.5000 (141 s, 100 img/s)"]


def test_the_store_and_a_worker_say_each_epoch_of_a_training(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              capfd: pytest.CaptureFixture) -> None:
    monkeypatch.setattr(fit_module, "EPOCH_LOG_EVERY_S", 0.0)
    spec, data = parse_spec(TINY), DataCache(DATA)
    two = dataclasses.replace(TRAIN, epochs=2)
    lines: list[str] = []
    Store(tmp_path, "test").train(Training(spec, two, DATA, {"role": "student"}), data.load, log=lines.append)
    assert [line.split(",")[0] for line in lines] == ["  tiny student seed 0: epoch 1/2", "  tiny student seed 0: epoch 2/2"]

    # the trainings of ``train_all`` (worker processes with --jobs N; here in-process) log on stderr
    capfd.readouterr()
    list(Store(tmp_path, "test").train_all([Training(spec, dataclasses.replace(two, seed=5), DATA)], data.load, 1))
    err = capfd.readouterr().err
    assert "tiny seed 5: epoch 1/2" in err and "tiny seed 5: epoch 2/2" in err
