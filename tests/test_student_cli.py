"""``scaler student`` end to end, tiny: the teacher -> student chain against the supervised baseline and the
noiseless student, resumed without training anything twice, the student from scratch, bad input refused."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
import torch

from scaler.results import load_runs

TINY = """model tiny
  resolution 16
  stem  conv c8 k3
  stage conv c8 k3 r2
  stage maxpool k2 s2
  stage conv c16 k3
  head  gpool
  head  fc
"""
DATA = ["--data", "synthetic:classes=4,size=320,test_size=64,resolution=16,channels=1", "--val-size", "64",
        "--train-size", "256",
        "--epochs", "2", "--batch-size", "32", "--device", "cpu", "--width", "0.5", "--jobs", "1"]


@pytest.fixture(scope="module")
def family(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding tiny.arch and results/ where ``scaler scale`` wrote its rungs (nothing trained)."""
    from scaler.cli import main

    folder = tmp_path_factory.mktemp("family")
    (folder / "tiny.arch").write_text(TINY)
    assert main(["scale", "--base", str(folder / "tiny.arch"), "--phi", "2", "--alpha", "1.2", "--beta", "1.1",
                 "--gamma", "1.15", "--results", str(folder / "results")]) == 0
    return folder


def fresh(family: Path, tmp_path: Path) -> tuple[str, Path]:
    """(the base file, a results folder of its own holding the family's rungs)."""
    results = tmp_path / "results"
    shutil.copytree(family / "results", results)
    return str(family / "tiny.arch"), results


def student_runs(results: Path) -> list[dict]:
    return [r for r in load_runs(results)[0] if r["kind"] == "student"]


def test_self_training_end_to_end_then_resumed_trains_nothing_twice(cli, family: Path, tmp_path: Path) -> None:
    base, results = fresh(family, tmp_path)
    argv = ["student", "--base", base, *DATA, "--labels", "0.25", "--threshold", "0", "--seeds", "2",
            "--ablate", "noise", "--results", str(results)]
    code, out, err = cli(*argv, "--json")
    assert code == 0, err
    summary = json.loads(out)
    rows = {r["role"]: r for r in summary["rows"]}
    assert set(rows) == {"teacher", "student", "supervised", "noiseless"}
    assert rows["teacher"]["label"] == "tiny" and rows["student"]["label"] == "tiny-phi1"
    assert rows["student"]["resolution"] > rows["teacher"]["resolution"]  # the rung's own resolution
    for role in ("teacher", "supervised", "noiseless"):
        assert rows[role]["verdict"] in ("better", "not distinguishable", "worse") and rows[role]["seeds"] == 2
        assert rows[role]["diff_low"] <= rows[role]["student_minus"] <= rows[role]["diff_high"]
    assert 0 <= rows["student"]["pseudo_acc"] <= 1 and abs(summary["labelled"] - 64) <= 2  # a quarter of 256, by class
    assert summary["labelled"] + summary["pool"] == 256 and len(summary["iterations"][0]["pseudo"]) == 2
    folder = results / "student" / "default"
    with open(folder / "table.csv", newline="") as f:
        assert [r["role"] for r in csv.DictReader(f)] == ["teacher", "student", "supervised", "noiseless"]
    kept = student_runs(results)
    assert len(kept) == 2 * 4 and err.count("trained, test acc") == 8
    # the supervised baseline passed as many images as its student, on the labelled images alone
    by = {(r["extra"]["role"], r["extra"]["seed"]): r for r in kept}
    assert by[("student", 0)]["history"][-1]["step"] == by[("supervised", 0)]["history"][-1]["step"]

    code, out, err = cli(*argv)
    assert code == 0, err
    assert "trained, test acc" not in err and err.count("reused, test acc") == 8
    assert len(student_runs(results)) == 8
    assert "student minus it" in out and "tiny-phi1" in out and "accurate on the pool" in out

    # another confidence threshold is another pseudo-label set: the students train again, the teachers do not
    code, _, err = cli(*argv[:-2], "--threshold", "0.01", "--hard", "--results", str(results))
    assert code == 0, err
    trained = [line for line in err.splitlines() if "trained, test acc" in line]
    assert trained and not any(" teacher " in line or " supervised " in line for line in trained)


def test_seeds_train_side_by_side_with_jobs_and_are_the_same_trainings(cli, family: Path, tmp_path: Path) -> None:
    base, results = fresh(family, tmp_path)
    argv = ["student", "--base", base, *DATA, "--labels", "0.25", "--threshold", "0", "--seeds", "2",
            "--results", str(results)]
    code, out, err = cli(*argv, "--jobs", "2")  # the last --jobs counts
    assert code == 0, err
    assert len(student_runs(results)) == 2 * 3 and {r["extra"]["seed"] for r in student_runs(results)} == {0, 1}
    code, _, err = cli(*argv)  # one process now: every training is found by its key
    assert code == 0, err
    assert err.count("reused, test acc") == 6 and "trained, test acc" not in err


def test_the_student_starts_from_scratch(cli, family: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import scaler.training.fit as fit_module

    real, starts = fit_module.train, []

    def watched(model, data, cfg, **kwargs):  # noqa: ANN001, ANN202
        starts.append({k: v.detach().clone() for k, v in model.state_dict().items()})
        return real(model, data, cfg, **kwargs)

    monkeypatch.setattr(fit_module, "train", watched)
    base, results = fresh(family, tmp_path)
    code, _, err = cli("student", "--base", base, *DATA, "--same-size", "--threshold", "0", "--seeds", "1",
                       "--labels", "0.25", "--results", str(results))
    assert code == 0, err
    assert len(starts) == 3  # teacher, student, supervised: the same network (--same-size), the same seed
    teacher = next(r for r in student_runs(results) if r["extra"]["role"] == "teacher")
    trained = torch.load(Path(teacher["path"]) / "weights.pt", weights_only=True)
    student = starts[1]
    assert all(torch.equal(student[k], starts[0][k]) for k in student)  # the teacher's own initialisation
    assert any(not torch.equal(student[k], trained[k]) for k in student if student[k].is_floating_point())


def test_no_rungs_says_how_to_make_them(cli, family: Path, tmp_path: Path) -> None:
    results = tmp_path / "results"
    code, out, err = cli("student", "--base", str(family / "tiny.arch"), *DATA, "--results", str(results))
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert "scaler scale" in err and "--phi 3" in err
    assert not (results / "student").exists() and not (results / "runs").exists()


def test_a_student_smaller_than_its_teacher_is_refused(cli, family: Path, tmp_path: Path) -> None:
    base, results = fresh(family, tmp_path)
    models = results / "scale" / "tiny" / "models"
    smaller = TINY.replace("model tiny", "model tiny-phi1").replace("resolution 16", "resolution 12")
    (models / "tiny-phi1.arch").write_text(smaller)
    code, out, err = cli("student", "--base", base, *DATA, "--results", str(results))
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and "smaller than its teacher" in err
    assert not (results / "student").exists() and not student_runs(results)


@pytest.mark.parametrize(("flags", "message"), [
    (["--labels", "0"], "--labels"),
    (["--labels", "1.5"], "--labels"),
    (["--labels", "1"], "--labels"),
    (["--threshold", "1"], "--threshold"),
    (["--ra-magnitude", "31"], "--ra-magnitude"),
    (["--unlabeled", "imagefolder:/nowhere", "--labels", "0.2"], "leave out --labels"),
    (["--unlabeled", "imagefolder:/nowhere"], "not a directory"),
    (["--ablate", "dropout"], "--ablate"),
])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(cli, family: Path, tmp_path: Path, flags: list[str],
                                                         message: str) -> None:
    base, results = fresh(family, tmp_path)
    code, out, err = cli("student", "--base", base, *DATA, *flags, "--results", str(results))
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and message in err, err
    assert not (results / "student").exists() and not student_runs(results)


def test_an_unknown_base_is_refused(cli, tmp_path: Path) -> None:
    code, out, err = cli("student", "--base", "no-such-net", *DATA, "--results", str(tmp_path / "results"))
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and "no-such-net" in err
    assert not (tmp_path / "results" / "student").exists()


def test_an_outside_pool_is_pseudo_labelled_and_every_training_image_labelled(cli, family: Path, tmp_path: Path) -> None:
    from PIL import Image

    pool = tmp_path / "pool"
    gen = torch.Generator().manual_seed(0)
    for c in ("a", "b"):
        (pool / c).mkdir(parents=True)
        for i in range(8):
            pixels = torch.randint(0, 256, (20, 20, 3), generator=gen, dtype=torch.uint8).numpy()
            Image.fromarray(pixels).save(pool / c / f"{i}.png")
    base, results = fresh(family, tmp_path)
    data = [a.replace("channels=1", "channels=3") for a in DATA]
    code, out, err = cli("student", "--base", base, *data, "--unlabeled", f"imagefolder:{pool}", "--threshold", "0",
                         "--seeds", "1", "--results", str(results), "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["labelled"] == 256 and summary["pool"] is None
    pseudo = summary["iterations"][0]["pseudo"][0]
    assert pseudo["pool_acc"] is None and pseudo["confident"] == 16  # every image of the folder, none held out
    assert "accuracy on the pool" not in err
