"""``scaler export``: a trained run's weights in a file a user can deploy, checked in onnxruntime."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from scaler.export import find_run, load_run

DATA = ["--data", "synthetic:classes=5,size=300,test_size=40,resolution=16,channels=1", "--val-size", "60"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A plain-cnn trained for one epoch with its weights kept: (results folder, run id)."""
    from scaler.cli import main

    results = tmp_path_factory.mktemp("results")
    assert main(["train", "plain-cnn", *DATA, "--epochs", "1", "--batch-size", "64", "--device", "cpu",
                 "--results", str(results), "--json"]) == 0
    (run,) = (results / "runs").iterdir()
    return results, run.name


def test_onnx_export_matches_pytorch_in_onnxruntime(cli, trained: tuple[Path, str], tmp_path: Path) -> None:
    import onnxruntime as ort

    results, run_id = trained
    target = tmp_path / "deploy" / "plain.onnx"
    code, out, err = cli("export", str(target), "--run", run_id, "--format", "onnx", "--results", str(results))
    assert code == 0, err
    assert "exported" in out and target.is_file() and not list(target.parent.glob(".*tmp*"))
    run = load_run(find_run(run_id, results))
    x = run.example(batch=5, seed=3)  # another batch size than the export's: the batch axis is dynamic
    session = ort.InferenceSession(str(target), providers=["CPUExecutionProvider"])
    (got,) = session.run(["logits"], {"images": x.numpy()})
    with torch.no_grad():
        want = run.model(x).numpy()
    assert got.shape == (5, 5) and np.abs(got - want).max() <= 1e-4
    assert json.loads((results / "runs" / run_id / "run.json").read_text())["num_classes"] == 5


def test_torchscript_export_by_suffix(cli, trained: tuple[Path, str], tmp_path: Path) -> None:
    results, run_id = trained
    target = tmp_path / "plain.pt"
    code, _, err = cli("export", str(target), "--run", str(results / "runs" / run_id))
    assert code == 0, err
    run = load_run(find_run(run_id, results))
    x = run.example(batch=3)
    with torch.no_grad():
        assert torch.allclose(torch.jit.load(str(target))(x), run.model(x), atol=1e-5)


def test_bad_input_is_one_line_exit_2_and_writes_nothing(cli, trained: tuple[Path, str], tmp_path: Path) -> None:
    results, run_id = trained
    target = tmp_path / "out.onnx"
    code, _, err = cli("export", str(target), "--run", run_id, "--format", "tflite", "--results", str(results))
    assert code == 2 and "invalid choice: 'tflite'" in err
    code, _, err = cli("export", str(tmp_path / "out.bin"), "--run", run_id, "--results", str(results))
    assert code == 2 and "cannot tell the format" in err and len(err.strip().splitlines()) == 1
    code, _, err = cli("export", str(target), "--run", "no-such-run", "--results", str(results))
    assert code == 2 and "no run folder 'no-such-run'" in err
    bare = results / "runs" / "bare"
    bare.mkdir()
    for name in ("run.json", "model.arch"):
        (bare / name).write_text((results / "runs" / run_id / name).read_text())
    code, _, err = cli("export", str(target), "--run", "bare", "--results", str(results))
    assert code == 2 and "has no weights.pt" in err and len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []
