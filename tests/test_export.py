"""``scaler export``: a trained run's weights in a file a user can deploy, checked in onnxruntime."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from scaler.data import DEBIAN_FASHION_MNIST_DIR, FASHION_MNIST_FILES, read_idx
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
    files = {key: "" for key in run.metadata}
    with torch.no_grad():
        assert torch.allclose(torch.jit.load(str(target), _extra_files=files)(x), run.model(x), atol=1e-5)
    assert json.loads(files["class_names"]) == ["class0", "class1", "class2", "class3", "class4"]
    assert b"pixel values in [0, 1]" in files["input"]


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


def test_an_old_run_without_its_normalisation_still_exports(cli, trained: tuple[Path, str], tmp_path: Path) -> None:
    """A record written before runs kept mean and std: exported as before, its input normalised."""
    results, run_id = trained
    old = results / "runs" / "old"
    old.mkdir()
    for name in ("model.arch", "weights.pt"):
        (old / name).write_bytes((results / "runs" / run_id / name).read_bytes())
    record = json.loads((results / "runs" / run_id / "run.json").read_text())
    (old / "run.json").write_text(json.dumps({k: v for k, v in record.items() if k not in ("mean", "std")}))
    code, out, err = cli("export", str(tmp_path / "old.pt"), "--run", "old", "--results", str(results))
    assert code == 0, err
    assert "normalised with the training data's mean and std" in out
    assert not load_run(old).raw_input


@pytest.mark.skipif(not (DEBIAN_FASHION_MNIST_DIR / "t10k-images-idx3-ubyte.gz").is_file(),
                    reason="Debian's dataset-fashion-mnist is not installed")
def test_onnx_fed_raw_pixels_reaches_the_recorded_test_accuracy(tmp_path: Path) -> None:
    """A user of the exported file knows nothing of scaler's normalisation: raw pixels / 255 in, the run
    record's test accuracy out, and the class names and normalisation read from the file's metadata."""
    import onnxruntime as ort

    from scaler.cli import main

    results = tmp_path / "results"
    assert main(["train", "plain-cnn", "--data", "fashion-mnist", "--train-size", "1000", "--val-size", "500",
                 "--epochs", "1", "--batch-size", "64", "--device", "cpu", "--results", str(results), "--json"]) == 0
    (run,) = (results / "runs").iterdir()
    record = json.loads((run / "run.json").read_text())
    target = tmp_path / "fashion.onnx"
    assert main(["export", str(target), "--run", str(run)]) == 0
    images = read_idx(DEBIAN_FASHION_MNIST_DIR / f"{FASHION_MNIST_FILES['test_images']}.gz")
    labels = read_idx(DEBIAN_FASHION_MNIST_DIR / f"{FASHION_MNIST_FILES['test_labels']}.gz").numpy()
    raw = images.unsqueeze(1).numpy().astype(np.float32) / 255  # pixels in [0, 1], nothing else
    session = ort.InferenceSession(str(target), providers=["CPUExecutionProvider"])
    logits = np.concatenate([session.run(["logits"], {"images": raw[i: i + 1000]})[0]
                             for i in range(0, len(raw), 1000)])
    accuracy = float((logits.argmax(1) == labels).mean())
    assert abs(accuracy - record["test_acc"]) <= 1 / len(labels) + 1e-9
    meta = session.get_modelmeta().custom_metadata_map
    assert json.loads(meta["class_names"])[0] == "t-shirt/top" and len(json.loads(meta["class_names"])) == 10
    assert json.loads(meta["mean"]) == pytest.approx(record["mean"]) and len(record["std"]) == 1
