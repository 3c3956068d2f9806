"""``scaler robustness`` end to end on tiny trained runs: the README's form, a rerun, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scaler.cli import main

DATA = "synthetic:classes=4,size=128,test_size=96,resolution=16"
OTHER_DATA = "synthetic:classes=3,size=128,test_size=96,resolution=16"
FAST = ["--images", "32", "--corruptions", "gaussian_noise,rotate", "--frames", "3"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Two runs trained on one data set (seeds 0 and 1) and one on another, in one results folder."""
    root = tmp_path_factory.mktemp("results")
    made = {}
    for label, data, seed in (("run", DATA, "1"), ("reference", DATA, "0"), ("other", OTHER_DATA, "0")):
        train = ["train", "plain-cnn", "--data", data, "--epochs", "1", "--batch-size", "32", "--seed", seed]
        assert main([*train, "--results", str(root)]) == 0
        made[label] = next(p for p in (root / "runs").iterdir() if p.name not in made.values()).name
    made["root"] = str(root)
    return made


def robustness(runs: dict[str, str], *extra: str) -> list[str]:
    return ["robustness", runs["run"], "--reference", runs["reference"], "--results", runs["root"], *extra]


def test_scores_every_corruption_and_severity_against_the_reference(runs, capsys) -> None:
    assert main(robustness(runs, "--json", *FAST)) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["reference"] == runs["reference"] and out["severities"] == [1, 2, 3, 4, 5]
    (entry,) = out["runs"]
    result, summary = entry["result"], entry["summary"]
    assert entry["run"] == runs["run"] and result["images"] == 32
    for name in ("gaussian_noise", "rotate"):
        assert sorted(result["errors"][name]) == ["1", "2", "3", "4", "5"]
        assert all(0 <= e <= 1 for e in result["errors"][name].values())
        assert len(result["hashes"][name]) == 5
    assert set(summary["unseen"]["corruption_errors"]) == {"gaussian_noise", "rotate"}
    assert summary["unseen"]["mce"] > 0 and summary["unseen"]["mfr"] is not None
    assert summary["unseen"]["mean_error"] == pytest.approx(
        sum(e for by in result["errors"].values() for e in by.values()) / 10)
    assert (Path(runs["root"]) / "robustness" / runs["reference"] / "summary.json").is_file()


@pytest.mark.slow  # six evaluations: about 25 s on 2 busy cores
def test_a_rerun_gives_identical_numbers_and_hashes(runs, capsys) -> None:
    """The same seed, recomputed (another --name, so nothing is read back), then read back from the cache;
    another seed draws other images."""
    outs = []
    for name in ("first", "second", "second"):
        assert main(robustness(runs, "--json", "--name", name, *FAST)) == 0
        captured = capsys.readouterr()
        outs.append(json.loads(captured.out))
    assert "read back" in captured.err
    assert outs[0] == outs[1] == outs[2]
    assert main(robustness(runs, "--json", "--name", "seed1", "--seed", "1", *FAST)) == 0
    other = json.loads(capsys.readouterr().out)["runs"][0]["result"]["hashes"]
    assert other["gaussian_noise"] != outs[0]["runs"][0]["result"]["hashes"]["gaussian_noise"]


def test_the_reference_alone_scores_one(runs, capsys) -> None:
    """Without --reference the first run is it, and its relative numbers are 1; the table goes to stdout."""
    assert main(["robustness", runs["reference"], "--results", runs["root"], "--name", "alone", *FAST]) == 0
    out = capsys.readouterr().out
    assert "mCE 1.000" in out and "mFR 1.000" in out and "sev 5" in out


@pytest.mark.parametrize("case, bad", [
    ("unknown corruption", ["--corruptions", "gaussian_noise,fire"]),
    ("severity 6", ["--severities", "1-6"]),
    ("reference on other data", None),
    ("missing run", ["--reference", "no-such-run"]),
    ("--data with other classes", ["--data", OTHER_DATA]),
])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(runs, capsys, tmp_path, case, bad) -> None:
    root = Path(runs["root"])
    before = sorted(p.relative_to(root) for p in root.rglob("*"))
    args = (["robustness", runs["run"], "--reference", runs["other"], "--results", runs["root"], *FAST]
            if bad is None else robustness(runs, *FAST, *bad))
    assert main([*args, "--name", f"bad-{case.replace(' ', '-')}"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("scaler: error:")
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == before
