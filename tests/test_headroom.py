"""Headroom: the base below the data's native resolution (``--base-resolution``), the rungs that grow past
it marked upsampled, the named budgets (``--budget``) and the convergence check (``--check-budget``)."""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import pytest

from scaler.errors import ScalerError
from scaler.training.convergence import CONVERGED_WITHIN, verdict
from scaler.training.fidelity import (
    BUDGETS,
    DEFAULT_BUDGET,
    MIN_BASE_RESOLUTION,
    PROXY,
    STUDY_EPOCHS,
    ProxyFidelity,
    check_base_resolution,
    upsampled,
)

# 16 px synthetic images: a base at 12 px leaves headroom, a rung grown past 16 px upsamples
NATIVE = 16
DATA = ["--data", f"synthetic:classes=4,size=160,test_size=32,resolution={NATIVE}", "--train-size", "64",
        "--val-size", "32", "--epochs", "1", "--batch-size", "32", "--device", "cpu"]
COMMANDS = {
    "search": ["search", "--space", "mbconv", "--trials", "1", "--confirm", "0", "--pruner", "none"],
    "scale": ["scale", "--base", "plain-cnn", "--alpha", "1.2", "--beta", "1.1", "--gamma", "1.15", "--train"],
    "bench": ["bench", "--models", "plain-cnn", "--no-family", "--seeds", "1"],
}


def parse(*argv: str) -> argparse.Namespace:
    """The parsed flags of ``scaler ARGV``, the budget applied (what each command's run does first)."""
    from scaler.cli import build_parser
    from scaler.cli.common import apply_budget

    args = build_parser().parse_args(list(argv))
    apply_budget(args)
    return args


# --- budgets -------------------------------------------------------------------------------------


def test_the_named_budgets() -> None:
    assert DEFAULT_BUDGET == "proxy" and BUDGETS["proxy"] is PROXY
    assert (PROXY.width, PROXY.epochs, PROXY.train_size, PROXY.base_resolution(28)) == (0.5, 2, 10_000, None)
    study = BUDGETS["study"]
    assert (study.width, study.epochs, study.train_size) == (0.25, STUDY_EPOCHS, None)  # None: every image
    assert study.base_resolution(28) == 14 and study.base_resolution(32) == 16  # half the native resolution
    assert study.base_resolution(10) == MIN_BASE_RESOLUTION  # never below the smallest base
    assert study.base_resolution(None) is None  # an image folder: no native resolution to halve
    final = BUDGETS["final"]
    assert (final.width, final.epochs, final.train_size, final.base_resolution(28)) == (0.5, 10, None, None)


@pytest.mark.parametrize("bad", [{"epochs": 0}, {"train_size": 0}, {"base_fraction": 0.0}, {"base_fraction": 1.5}])
def test_a_bad_budget_is_refused(bad: dict) -> None:
    with pytest.raises(ScalerError):
        ProxyFidelity(**bad)


def test_a_budget_fills_what_no_flag_gives() -> None:
    args = parse("search", "--budget", "study")
    assert (args.width, args.epochs, args.train_cap) == (0.25, STUDY_EPOCHS, None)
    args = parse("bench", "--budget", "study", "--epochs", "3", "--width", "0.5", "--train-size", "500")
    assert (args.width, args.epochs, args.train_size) == (0.5, 3, 500)  # flags given beat the budget
    args = parse("search")  # no budget: the proxy's values, as before
    assert (args.width, args.epochs, args.train_cap) == (PROXY.width, PROXY.epochs, PROXY.train_size)
    assert parse("scale").width is None  # scale: the search's width unless a budget or --width says
    assert parse("scale", "--budget", "final").width == 0.5
    assert parse("scale", "--budget", "study").width == 0.25


def test_the_budget_flag_defaults_to_the_cores() -> None:
    from scaler.cli import build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    for command in COMMANDS:
        action = next(a for a in sub.choices[command]._actions if a.dest == "budget")
        assert action.default == DEFAULT_BUDGET and tuple(action.choices) == tuple(BUDGETS)


def test_train_size_all_and_the_study_budget_resolution() -> None:
    from scaler.cli.common import base_data_config

    data = ["--data", f"synthetic:size=300,resolution={NATIVE}", "--val-size", "50"]
    assert base_data_config(parse("bench", *data, "--train-size", "all")).train_size is None  # every image
    assert base_data_config(parse("bench", *data)).train_size == 250  # the proxy's cap, on a small set
    cfg = base_data_config(parse("search", *data, "--budget", "study"))
    assert (cfg.train_size, cfg.resolution) == (None, NATIVE // 2)
    assert base_data_config(parse("search", *data, "--budget", "study", "--base-resolution", "12")).resolution == 12
    assert base_data_config(parse("scale", *data)).resolution is None  # the search's, else the data's own
    assert base_data_config(parse("scale", *data, "--resolution", "10")).resolution == 10  # the old name


# --- the base resolution and the upsampled mark ----------------------------------------------------


def test_the_base_resolution_is_checked() -> None:
    for fine in (None, MIN_BASE_RESOLUTION, 20, 28):
        check_base_resolution(fine, 28, "fashion-mnist")
    check_base_resolution(224, None, "imagefolder:photos")  # decoded at any resolution asked
    with pytest.raises(ScalerError, match=r"--base-resolution 29 px is above fashion-mnist's native resolution "
                                          r"\(28 px\)"):
        check_base_resolution(29, 28, "fashion-mnist")
    with pytest.raises(ScalerError, match="--base-resolution must be at least 8 px, got 7"):
        check_base_resolution(7, 28, "fashion-mnist")
    assert upsampled(29, 28) and not upsampled(28, 28) and not upsampled(512, None)


def test_the_native_resolution() -> None:
    from scaler.data import DataConfig, native_resolution

    assert native_resolution(DataConfig(name="synthetic:resolution=20", resolution=12)) == 20
    assert native_resolution(DataConfig(name="imagefolder:/no/such/folder")) is None


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("flag", ["--base-resolution", "--resolution"])
def test_a_base_resolution_above_the_native_one_is_refused(cli, tmp_path: Path, command: str, flag: str) -> None:
    results = tmp_path / "results"
    code, out, err = cli(*COMMANDS[command], *DATA, flag, str(NATIVE + 1), "--results", str(results))
    assert (code, out) == (2, "") and "Traceback" not in err
    line = err.strip().splitlines()[-1]
    assert "--base-resolution 17 px is above" in line and f"native resolution ({NATIVE} px)" in line
    assert not any(p.is_file() for p in results.rglob("*"))  # nothing written


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_base_resolution_below_8_px_is_refused(cli, tmp_path: Path, command: str) -> None:
    code, out, err = cli(*COMMANDS[command], *DATA, "--base-resolution", "7", "--results", str(tmp_path))
    assert (code, out) == (2, "")
    assert err.strip().splitlines()[-1] == "scaler: error: --base-resolution must be at least 8 px, got 7"


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("bad", [["--epochs", "0"], ["--train-size", "0"], ["--budget", "huge"],
                                 ["--train-size", "most"]])
def test_zero_epochs_and_bad_budgets_are_usage_errors(cli, tmp_path: Path, command: str, bad: list[str]) -> None:
    code, out, err = cli(*COMMANDS[command], *DATA, *bad, "--results", str(tmp_path / "results"))
    assert (code, out) == (2, "") and "Traceback" not in err
    assert len(err.strip().splitlines()) <= 2 and bad[0] in err  # usage line + one error line naming the flag
    assert not (tmp_path / "results").exists()


# --- the study's base, shipped ----------------------------------------------------------------------

STUDY_BASE = Path(__file__).resolve().parent.parent / "docs" / "found-baseline-t15.arch"


def test_the_studys_base_file_is_the_searched_trial(monkeypatch: pytest.MonkeyPatch) -> None:
    """``docs/found-baseline-t15.arch`` is trial 15 of the quick start's search at its nominal size: counted as
    the search trained it (width 0.5, 28 px, the stem at stride 1) it gives the figures the search recorded,
    578,568 params and 4,396,960 MACs; as the study budget trains it (width 0.25, 14 px, stem and stage 2 at
    stride 1) the 1,330,176 MACs every study table divides by."""
    from scaler.dsl import file_trained_for
    from scaler.scaling.base import resolve_base
    from scaler.scaling.growth import count, grow
    from scaler.strides import family_strides, strides_changed

    monkeypatch.chdir(STUDY_BASE.parent.parent)
    base = resolve_base("docs/found-baseline-t15.arch")  # as the README's --base names it, from the clone's root
    assert (base.key, base.spec.width, base.spec.resolution) == ("mbconv-reward-t15", 1.0, 224)
    assert file_trained_for(STUDY_BASE).data == "fashion-mnist"
    searched = grow(base.spec, width=0.5).scale(resolution=28)
    found = count(family_strides(searched, 28), 1, 10)
    assert (found.params, found.macs) == (578_568, 4_396_960)
    study = grow(base.spec, width=0.25).scale(resolution=14)
    trained = family_strides(study, 14)
    assert strides_changed(study, trained) == ["stem1 s2->s1", "stage2 s2->s1"]
    assert count(trained, 1, 10).macs == 1_330_176


# --- the convergence check -------------------------------------------------------------------------


def test_the_convergence_verdict() -> None:
    assert CONVERGED_WITHIN == 0.5
    close = verdict(2, 0.800, 0.804)
    assert close["converged"] and close["verdict"] == "converged" and close["gap_points"] == pytest.approx(0.4)
    far = verdict(2, 0.800, 0.812)
    assert (far["epochs_2x"], far["converged"], far["verdict"]) == (4, False, "not converged: raise --epochs")
    assert far["gap_points"] == pytest.approx(1.2)
    assert not verdict(2, 0.812, 0.800)["converged"]  # a drop as large is not converged either
    assert verdict(2, None, 0.8)["converged"] is None  # a diverged training: no verdict


# --- tiny runs ---------------------------------------------------------------------------------------


def test_a_scale_marks_what_grows_past_the_native_resolution(cli, tmp_path: Path) -> None:
    """The base at 12 px of 16 px data; phi=3 grows to 18 px and the 2x-resolution cell to 18 px: upsampled.
    --check-budget trains the base again at 2 epochs, reusing the 1-epoch run, and writes the figures."""
    results = tmp_path / "results"
    code, out, err = cli(*COMMANDS["scale"], "--phi", "3", "--compare", "--ratios", "2", "--check-budget",
                         "--width", "0.25", *DATA, "--base-resolution", "12", "--results", str(results), "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["fidelity"]["resolution"] == 12 and report["fidelity"]["native_resolution"] == NATIVE
    trained = {r["label"]: r for r in report["ladder"] if "val_acc" in r}
    assert (trained["base"]["fidelity_resolution"], trained["base"]["upsampled"]) == (12, False)
    assert (trained["derived"]["fidelity_resolution"], trained["derived"]["upsampled"]) == (18, True)
    assert report["model"]["upsampled"] is True
    cells = {(r["strategy"], r["resolution_px"]): r["upsampled"] for r in report["compare"]["rows"]}
    assert cells[("baseline", 12)] is False and cells[("resolution", 18)] is True
    assert all(not up for (strategy, _), up in cells.items() if strategy in ("depth", "width"))
    folder = results / "scale" / "plain-cnn"
    with open(folder / "ladder.csv", newline="") as f:
        rows = {r["name"]: r for r in csv.DictReader(f)}
    assert (rows["plain-cnn-phi3"]["upsampled"], rows["plain-cnn"]["upsampled"]) == ("True", "False")
    assert rows["plain-cnn-phi4"]["upsampled"] == ""  # not trained
    with open(folder / "compare.csv", newline="") as f:
        assert {r["upsampled"] for r in csv.DictReader(f) if r["strategy"] == "resolution"} == {"True"}
    check = json.loads((folder / "summary.json").read_text())["check_budget"]
    assert check == report["check_budget"]
    assert (check["epochs"], check["epochs_2x"]) == (1, 2) and check["val_acc"] == trained["base"]["val_acc"]
    assert check["gap_points"] == pytest.approx(100 * (check["val_acc_2x"] - check["val_acc"]))
    assert "budget check: the base's val acc" in err
    # the printed report: the mark, its legend and the check; the same call again trains nothing
    code, out, err = cli(*COMMANDS["scale"], "--phi", "3", "--compare", "--ratios", "2", "--check-budget",
                         "--width", "0.25", *DATA, "--base-resolution", "12", "--results", str(results))
    assert code == 0 and " in " not in "".join(line for line in err.splitlines() if line.startswith("trained"))
    assert "trained at 18 px (upsampled from the data's native 16 px)" in out
    assert "^ = trained above the data's native 16 px" in out and "18^" in out
    assert f"{check['val_acc_2x']:.4f} at 2" in out and check["verdict"] in out


def test_a_bench_checks_its_budget_and_marks_upsampled_rows(cli, tmp_path: Path) -> None:
    from scaler.bench import Entry, format_bench, table
    from scaler.zoo import load_spec

    results = tmp_path / "results"
    code, out, err = cli(*COMMANDS["bench"], *DATA, "--width", "0.25", "--base-resolution", "12", "--check-budget",
                         "--results", str(results), "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["native_resolution"] == NATIVE and summary["rows"][0]["upsampled"] is False
    check = summary["check_budget"]
    assert (check["label"], check["seed"], check["epochs"], check["epochs_2x"]) == ("plain-cnn", 0, 1, 2)
    assert check["val_acc"] == summary["rows"][0]["val_acc"]  # the bench's own cell, reused
    assert json.loads((results / "bench" / "default" / "summary.json").read_text())["check_budget"] == check
    with open(results / "bench" / "default" / "table.csv", newline="") as f:
        assert [r["upsampled"] for r in csv.DictReader(f)] == ["False"]
    # a rung grown past the native resolution is marked in the table and the printed text
    spec = load_spec("plain-cnn")
    cell = {"val_acc": 0.5, "test_acc": 0.5, "params": 1, "macs": 1, "latency_ms": 1.0, "status": "ok"}
    models = [Entry("base", spec, "found family"), Entry("rung", spec, "found family", 1.5, 1.0)]
    rows = table(models, {"base": [{**cell, "resolution": 12}], "rung": [{**cell, "macs": 2, "resolution": 18}]},
                 None, NATIVE)
    assert [r["upsampled"] for r in rows] == [False, True]
    text = format_bench({**summary, "rows": rows})
    assert "18^" in text and "^ = trained above the data's native 16 px" in text and check["verdict"] in text
