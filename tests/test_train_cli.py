"""`scaler train`: a run folder that rebuilds the model, and bad input refused with exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from scaler.dsl import parse_spec
from scaler.nn.build import build
from scaler.results import load_runs

SYNTH = "synthetic:classes=4,size=600,test_size=64,resolution=16"


def test_train_writes_a_run_that_rebuilds(cli, tmp_path: Path) -> None:
    code, out, _ = cli("train", "plain-cnn", "--data", SYNTH, "--val-size", "128", "--epochs", "2",
                       "--batch-size", "64", "--device", "cpu", "--results", str(tmp_path), "--json")
    record = json.loads(out)
    assert code == 0 and record["status"] == "ok"
    assert record["val_acc"] > 0.5 and record["test_acc"] > 0.5  # 4 classes: chance is 0.25
    folder = Path(record["path"])
    assert sorted(p.name for p in folder.iterdir()) == ["model.arch", "run.json", "weights.pt"]
    spec = parse_spec((folder / "model.arch").read_text())
    assert spec.resolution == 16
    model = build(spec, num_classes=4, in_channels=3)
    model.load_state_dict(torch.load(folder / "weights.pt", weights_only=True))
    runs, warnings = load_runs(tmp_path)
    assert [r["run_id"] for r in runs] == [folder.name] and not warnings
    assert runs[0]["kind"] == "train" and runs[0]["data"]["name"] == SYNTH
    assert not list(tmp_path.glob("runs/.*"))  # no temporary folder left behind


def test_same_seed_same_metrics(cli, tmp_path: Path) -> None:
    argv = ["train", "plain-cnn", "--data", SYNTH, "--val-size", "128", "--epochs", "1", "--batch-size", "64",
            "--device", "cpu", "--no-save", "--json", "--seed", "3"]
    first, second = (json.loads(cli(*argv)[1]) for _ in range(2))
    def metrics(record: dict) -> list[tuple]:
        return [(h["train_loss"], h["val_loss"], h["val_acc"]) for h in record["history"]]

    assert metrics(first) == metrics(second) and first["test_acc"] == second["test_acc"]


def test_diverging_run_reports_a_status(cli, tmp_path: Path) -> None:
    code, out, err = cli("train", "plain-cnn", "--data", SYNTH, "--val-size", "128", "--epochs", "1",
                         "--batch-size", "64", "--device", "cpu", "--lr", "1e9", "--results", str(tmp_path))
    assert code == 1
    assert "diverged" in out and "Traceback" not in err


@pytest.mark.parametrize("argv, phrase", [
    (["train", "plain-cnn", "--data", "mnist"], "unknown data set 'mnist'"),
    (["train", "plain-cnn", "--data-dir", "/nonexistent/fm"], "/nonexistent/fm"),
    (["train", "plain-cnn", "--epochs", "0"], "expected a whole number of at least 1"),
    (["train", "plain-cnn", "--device", "tpu"], "bad device 'tpu'"),
    (["train", "no-such-net"], "unknown model 'no-such-net'"),
])
def test_bad_input_exits_2(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                           argv: list[str], phrase: str) -> None:
    import scaler.data

    monkeypatch.setattr(scaler.data, "DEBIAN_FASHION_MNIST_DIR", tmp_path / "absent")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("SCALER_DATA", raising=False)
    code, out, err = cli(*argv, "--results", str(tmp_path))
    assert code == 2, err
    assert phrase in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists()
