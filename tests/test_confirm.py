"""The search's seed confirmation: the best candidates and the reference trained again, with intervals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

DATA = ["--data", "synthetic:classes=4,size=400,test_size=64,resolution=16,noise=2", "--val-size", "96",
        "--train-size", "256", "--epochs", "1", "--batch-size", "64", "--device", "cpu", "--width", "1",
        "--sampler", "random", "--pruner", "none"]


def search(cli, space: str, tmp_path: Path, *argv: str) -> tuple[int, dict, str]:
    """``scaler search`` of the small space with results and storage in ``tmp_path``."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    code, out, err = cli("search", "--space", space, *DATA, "--storage", f"sqlite:///{tmp_path / 'db.sqlite'}",
                         "--results", str(tmp_path), *argv)
    return code, json.loads(out) if out.startswith("{") else {}, err


def test_confirmation_trains_top_candidates_and_the_reference_with_seeds(cli, small_space: str, tmp_path: Path) -> None:
    code, out, _ = search(cli, small_space, tmp_path, "--trials", "3", "--confirm", "2", "--seeds", "2", "--json")
    assert code == 0
    confirmed = out["confirmed"]
    assert confirmed["seeds"] == [0, 1] and len(confirmed["entries"]) == 2  # the space has no zoo reference
    for entry in confirmed["entries"]:
        assert len(entry["val_acc"]) == 2 and entry["val"]["n"] == 2 and len(entry["test_acc"]) == 2
    best = max((e for e in confirmed["entries"]), key=lambda e: e["mean_objective"])
    assert out["baseline"]["trial"] == confirmed["baseline_trial"] == best["trial"]
    runs = [json.loads(p.read_text()) for p in (tmp_path / "runs").glob("*/run.json")]
    assert sum(r["extra"].get("stage") == "confirm" for r in runs) == 2  # one extra seed for each of the two


def test_same_seed_same_numbers(cli, small_space: str, tmp_path: Path) -> None:
    first = search(cli, small_space, tmp_path / "a", "--trials", "2", "--confirm", "1", "--seeds", "2", "--json")[1]
    second = search(cli, small_space, tmp_path / "b", "--trials", "2", "--confirm", "1", "--seeds", "2", "--json")[1]
    assert [r["val_acc"] for r in first["trials"]] == [r["val_acc"] for r in second["trials"]]
    assert first["confirmed"]["entries"][0]["val_acc"] == second["confirmed"]["entries"][0]["val_acc"]


def test_confirm_not_given_is_the_configs_default_from_python_and_from_the_cli(
        cli, small_space: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SearchConfig owns the default: None is default_confirm(trials), and ``scaler search`` without
    --confirm hands the search the very same config value (the search itself is not run here)."""
    import scaler.search
    from scaler.search.config import DEFAULT_CONFIRM, SearchConfig, default_confirm

    assert SearchConfig(trials=16).confirmations == DEFAULT_CONFIRM == 3
    assert SearchConfig(trials=2).confirmations == default_confirm(2) == 2
    assert SearchConfig(trials=16, confirm=0).confirmations == 0

    class Handed(Exception):
        """The config ``scaler search`` built, caught where the search would start."""

    def handed(cfg: SearchConfig, *args: object, **kwargs: object) -> None:
        raise Handed(cfg)

    monkeypatch.setattr(scaler.search, "run_search", handed)
    for trials in (16, 2):
        with pytest.raises(Handed) as caught:
            search(cli, small_space, tmp_path / str(trials), "--trials", str(trials))
        cfg = caught.value.args[0]
        assert cfg.confirm is None and cfg.confirmations == SearchConfig(trials=trials).confirmations


@pytest.mark.parametrize(("argv", "phrase"), [
    (["--seeds", "0"], "expected a whole number of at least 1"),
    (["--trials", "2", "--confirm", "3"], "--confirm 3 is more than the 2 trials"),
    (["--strides", "sometimes"], "invalid choice: 'sometimes'"),
])
def test_bad_confirmation_flags_exit_2(cli, small_space: str, tmp_path: Path, argv: list[str], phrase: str) -> None:
    code, _, err = search(cli, small_space, tmp_path / "a", *argv)
    assert code == 2 and phrase in err and len(err.strip().splitlines()) == 1


@pytest.mark.slow
def test_the_printed_summary_gives_the_interval_and_the_verdict(cli, tmp_path: Path) -> None:
    """mbconv's reference (B0) at a tiny fidelity: the confirmed table and the verdict line are printed."""
    code, out, err = cli("search", "--space", "mbconv", "--trials", "2", "--confirm", "1", "--seeds", "2",
                         "--data", "synthetic:classes=4,size=300,test_size=40,resolution=16", "--val-size", "60",
                         "--train-size", "200", "--epochs", "1", "--batch-size", "50", "--device", "cpu",
                         "--width", "0.25", "--sampler", "random", "--pruner", "none",
                         "--storage", f"sqlite:///{tmp_path / 'db.sqlite'}", "--results", str(tmp_path))
    assert code == 0, err
    assert "confirmed with seeds 0, 1:" in out and "confirmed baseline: trial" in out
    assert "95% CI" in out and ("reference" in out)


@pytest.mark.slow
def test_without_confirmation_the_summary_says_one_seed_is_not_a_finding(cli, tmp_path: Path) -> None:
    """--confirm 0: the baseline against the reference comes with the validation images' own 95% noise
    and the words "not confirmed", not as a bare difference."""
    from scaler.stats import binomial_halfwidth

    code, out, err = cli("search", "--space", "mbconv", "--trials", "3", "--confirm", "0",
                         "--data", "synthetic:classes=4,size=300,test_size=40,resolution=16", "--val-size", "60",
                         "--train-size", "200", "--epochs", "1", "--batch-size", "50", "--device", "cpu",
                         "--width", "0.25", "--sampler", "random", "--pruner", "none",
                         "--storage", f"sqlite:///{tmp_path / 'db.sqlite'}", "--results", str(tmp_path))
    assert code == 0, err
    summary = json.loads((tmp_path / "search" / "mbconv-reward" / "summary.json").read_text())
    baseline, reference = summary["baseline"], summary["reference"]
    assert baseline["trial"] != reference["trial"]  # seed 0 finds a candidate other than B0 here
    half = binomial_halfwidth(baseline["val_acc"], 60)
    assert f"one seed each: each val acc is ±{half:.4f} on 60 validation images alone (95%)" in out
    assert "not confirmed" in out and "confirmed with seeds" not in out
