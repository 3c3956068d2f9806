"""``benchmarks/noisy_student.py`` end to end, tiny: the figures it prints and its JSON, phi 2 as asked, the
robustness scores, a rerun that trains (and scores) nothing again, the rungs it needs said in one line."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
from test_student_cli import DATA, family, fresh  # noqa: F401 (family: the fixture)

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "noisy_student.py"
TINY = [*DATA, "--labels", "0.25", "--threshold", "0", "--seeds", "2"]


def bench(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, cwd=ROOT, timeout=900)


def script_module():  # noqa: ANN201
    spec = importlib.util.spec_from_file_location("noisy_student", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_the_benchmark_prints_its_figures_and_a_rerun_trains_nothing(family: Path, tmp_path: Path) -> None:  # noqa: F811
    base, results = fresh(family, tmp_path)
    argv = ["--base", base, *TINY, "--phi2", "always", "--robustness", "--robustness-images", "8",
            "--results", str(results)]
    done = bench(*argv, "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout)
    assert {"name", "data", "labelled", "pool", "seeds", "climbed", "phi2", "why", "published", "student",
            "robustness", "saved"} <= set(out)
    assert out["seeds"] == 2 and out["labelled"] + out["pool"] == 256 and out["phi2"] is True
    assert "--phi2 always: went on to phi 2" in out["why"] and "95% interval" in out["why"]
    rows = {(r["iteration"], r["role"]): r for r in out["student"]["rows"]}
    assert set(rows) == {(it, role) for it in (1, 2) for role in ("teacher", "student", "supervised", "noiseless")}
    assert rows[(2, "teacher")]["label"] == rows[(1, "student")]["label"] == "tiny-phi1"
    assert rows[(2, "student")]["label"] == "tiny-phi2"
    for (_, role), row in rows.items():
        if role != "student":
            assert row["verdict"] in ("better", "not distinguishable", "worse") and len(row["runs"]) == 2
    assert [it["pseudo_acc"]["n"] for it in out["student"]["iterations"]] == [2, 2]
    assert {p["data"] for p in out["published"]} == {"svhn", "cifar10"}
    first = out["robustness"][0]
    assert [r["iteration"] for r in out["robustness"]] == [1, 2] and first["images"] == 8
    assert set(first["against_teacher"]) == {"teacher", "supervised", "student"}
    # the students are at phi 1's resolution, the teacher at phi 0's: scored against their supervised twin only
    assert first["against_teacher"]["student"] == {"mce": None, "mfr": None}
    assert set(first["against_supervised"]["student"]) == {"mce", "mfr"}
    assert Path(out["saved"]).is_file()
    assert done.stderr.count("trained, test acc") == 2 * 7  # per seed: the teacher, then 3 nets per iteration

    again = bench(*argv)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "trained, test acc" not in again.stderr and again.stderr.count("reused, test acc") >= 2 * 7
    assert "corruptions x" not in again.stderr and "read back" in again.stderr  # nor scored again
    text = again.stdout
    for figure in ("student minus it (test, 95% CI)", "accurate on the pool", "tiny-phi2", "phi 2: the noisy student",
                   "mCE vs teacher", "mFR vs supervised", "Xie et al. 2020", "0.9790 -> noisy student 0.9860",
                   "Oliver et al. 2018", "0.7974 -> pseudo-label 0.8222"):
        assert figure in text, figure


def test_without_the_rungs_it_says_what_to_run_first(family: Path, tmp_path: Path) -> None:  # noqa: F811
    done = bench("--base", str(family / "tiny.arch"), *TINY, "--results", str(tmp_path / "results"))
    assert done.returncode == 2 and done.stdout == "" and len(done.stderr.strip().splitlines()) == 1
    assert "scaler scale" in done.stderr and "--phi 3" in done.stderr
    assert not (tmp_path / "results" / "runs").exists()


def test_bad_labels_are_one_line_exit_2(family: Path, tmp_path: Path) -> None:  # noqa: F811
    base, results = fresh(family, tmp_path)
    done = bench("--base", base, *TINY, "--labels", "1.5", "--results", str(results))
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1 and "--labels" in done.stderr
    assert not (results / "student").exists() and not (results / "benchmarks").exists()


@pytest.mark.parametrize(("low", "climbs"), [(0.001, True), (0.0, False), (-0.02, False)])
def test_phi_2_follows_only_a_gain_whose_interval_is_above_0(low: float, climbs: bool) -> None:
    row = {"iteration": 1, "role": "supervised", "label": "b-phi1", "student_minus": low + 0.01, "diff_low": low,
           "diff_high": low + 0.02}
    went, why = script_module().climbed({"rows": [{**row, "role": "teacher"}, row]})
    assert went is climbs and "b-phi1" in why and f"[{low:+.4f}" in why
    assert ("did not beat" in why) is not climbs
