"""The architecture search: objectives, storage, resume after a kill, bad input."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
import torch

from scaler.cli import main
from scaler.data import DataConfig, load_data
from scaler.dsl import parse_file
from scaler.errors import ScalerError
from scaler.search import SearchConfig, load_space, reference_point, reward, run_search, trial_model_name
from scaler.study.storage import mask_url
from scaler.training.proxies import score
from scaler.training.trainer import TrainConfig
from scaler.zoo import get_model, load_spec

TINY = dict(width=0.25, trials=3, seed=0, proxy_batch=16, confirm=0)  # the search, not its confirmation
FIDELITY = TrainConfig(epochs=1, batch_size=64, device="cpu", reports_per_epoch=2)
@pytest.fixture
def small(small_space: str) -> dict:
    return {**TINY, "space": small_space, "width": 1.0}


@pytest.fixture(scope="module")
def data():
    return load_data(DataConfig(name="synthetic:classes=4,size=600,test_size=64,resolution=16,noise=2",
                                val_size=128, download=False))


def storage(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'studies.db'}"


def finished(study_name: str, url: str) -> list[optuna.trial.FrozenTrial]:
    study = optuna.load_study(study_name=study_name, storage=url)
    return study.get_trials(states=(optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED))


def test_trial_models_name_the_space_once() -> None:
    assert trial_model_name("mbconv", "mbconv-reward", 5) == "mbconv-reward-t5"
    assert trial_model_name("mbconv", "nas1", 0) == "mbconv-nas1-t0"
    assert trial_model_name("mbconv", "mbconvx", 2) == "mbconv-mbconvx-t2"


def test_reward_is_mnasnet_soft_constraint() -> None:
    assert reward(0.8, 2e6, 1e6, -0.07) == pytest.approx(0.8 * 2 ** -0.07)
    assert reward(0.8, 1e6, 1e6, -0.07) == 0.8


def test_b0_is_the_reference_point_of_the_mbconv_space() -> None:
    name, values = reference_point(load_space("mbconv"))
    assert name == "efficientnet-b0"
    assert load_space("mbconv").fix(values, name=name) == get_model("efficientnet-b0")


@pytest.mark.slow
def test_search_finds_a_baseline_and_saves_it(tmp_path: Path, data) -> None:
    cfg = SearchConfig(**{**TINY, "trials": 2}, storage=storage(tmp_path), study="s")
    result = run_search(cfg, data, FIDELITY, tmp_path, progress=False, log=lambda m: None)
    trials = finished("s", cfg.storage)
    assert len(trials) == 2
    assert trials[0].user_attrs["reference"] == "efficientnet-b0"
    for t in trials:
        assert {"spec", "params", "macs", "acts", "proxies"} <= set(t.user_attrs)
    assert result.baseline is not None and result.baseline["macs"] <= result.target_macs
    assert result.target_macs == result.reference["macs"]
    best = load_spec(str(tmp_path / "search" / "s" / "best.arch"))
    assert best.text() == result.baseline["spec"]
    assert best.name == f"mbconv-s-t{result.baseline['trial']}"
    assert (tmp_path / "search" / "s" / "trials.csv").read_text().startswith("trial,")
    runs = list((tmp_path / "runs").glob("*/run.json"))
    assert len(runs) == sum(t.state == optuna.trial.TrialState.COMPLETE for t in trials)


@pytest.mark.slow
def test_the_reference_is_never_pruned(tmp_path: Path, data, monkeypatch) -> None:
    """B0 is the yardstick of the study and of the confirmation: a pruner that stops every trial at its
    first report still lets it train to the end, and stops the candidate."""
    monkeypatch.setattr(optuna.trial.Trial, "should_prune", lambda self: True)
    cfg = SearchConfig(**{**TINY, "trials": 2}, storage=storage(tmp_path), study="y")
    result = run_search(cfg, data, FIDELITY, tmp_path, progress=False, log=lambda m: None)
    reference, candidate = finished("y", cfg.storage)
    assert reference.user_attrs["reference"] == "efficientnet-b0"
    assert reference.state == optuna.trial.TrialState.COMPLETE and candidate.state == optuna.trial.TrialState.PRUNED
    assert result.reference is not None and result.reference["trial"] == reference.number


@pytest.mark.slow
def test_a_trial_that_trained_to_the_end_is_not_pruned(tmp_path: Path, data, monkeypatch) -> None:
    """A pruner asked at the last report (Hyperband's top rung is the maximum resource) would discard a
    finished training; with one report, at the end, every trial completes."""
    monkeypatch.setattr(optuna.trial.Trial, "should_prune", lambda self: True)
    cfg = SearchConfig(**{**TINY, "trials": 2}, storage=storage(tmp_path), study="e")
    run_search(cfg, data, dataclasses.replace(FIDELITY, reports_per_epoch=1), tmp_path, progress=False,
               log=lambda m: None)
    assert [t.state for t in finished("e", cfg.storage)] == [optuna.trial.TrialState.COMPLETE] * 2


def test_resume_adds_only_the_missing_trials_and_refuses_other_settings(tmp_path: Path, data, small) -> None:
    cfg = SearchConfig(**{**small, "trials": 2}, storage=storage(tmp_path), study="r")
    result = run_search(cfg, data, FIDELITY, tmp_path, progress=False, log=lambda m: None)
    assert result.reference is None and result.stats["target_source"].startswith("median of 32")
    numbers = [t.number for t in finished("r", cfg.storage)]
    more = SearchConfig(**{**small, "trials": 3}, storage=cfg.storage, study="r")
    run_search(more, data, FIDELITY, tmp_path, progress=False, log=lambda m: None)
    after = finished("r", cfg.storage)
    assert [t.number for t in after][:2] == numbers and len(after) == 3
    other = SearchConfig(**{**small, "width": 0.5}, storage=cfg.storage, study="r")
    with pytest.raises(ScalerError, match="other settings \\(target_macs, width\\)"):
        run_search(other, data, FIDELITY, tmp_path, progress=False, log=lambda m: None)


def test_constraint_and_pareto_objectives(tmp_path: Path, data, small) -> None:
    url = storage(tmp_path)
    cons = SearchConfig(**small, objective="constraint", max_macs=1.0, storage=url, study="c", pruner="none")
    result = run_search(cons, data, FIDELITY, tmp_path, progress=False, log=lambda m: None)
    assert all(t.constraints["macs"] > 0 for t in finished("c", url))  # every trial infeasible
    assert result.baseline is None
    pareto = SearchConfig(**small, objective="pareto", storage=url, study="p")
    result = run_search(pareto, data, FIDELITY, tmp_path, progress=False, log=lambda m: None)
    study = optuna.load_study(study_name="p", storage=url)
    assert len(study.directions) == 2 and isinstance(study.sampler, optuna.samplers.BaseSampler)
    assert result.pareto and all(r["trial"] in {t.number for t in study.best_trials} for r in result.pareto)


def test_diverging_trial_is_pruned_not_failed(tmp_path: Path, data, small) -> None:
    cfg = SearchConfig(**{**small, "trials": 1}, storage=storage(tmp_path), study="d")
    wild = TrainConfig(epochs=1, batch_size=64, device="cpu", lr=1e6, label_smoothing=0.0)
    run_search(cfg, data, wild, tmp_path, progress=False, log=lambda m: None)
    (trial,) = finished("d", cfg.storage)
    assert trial.state == optuna.trial.TrialState.PRUNED
    assert trial.user_attrs["status"] == "diverged"


def test_prefilter_queues_the_best_proxy_scores(tmp_path: Path, data, small) -> None:
    cfg = SearchConfig(**{**small, "trials": 4}, prefilter=6, storage=storage(tmp_path), study="f")
    run_search(cfg, data, FIDELITY, tmp_path, progress=False, log=lambda m: None)
    trials = finished("f", cfg.storage)
    scores = [t.user_attrs["prefilter_score"] for t in trials if t.user_attrs.get("prefiltered")]
    assert scores and scores == sorted(scores, reverse=True)


def test_proxies_are_deterministic_and_finite() -> None:
    spec = get_model("efficientnet-b0").scale(width=0.25, resolution=16)
    x = torch.randn(8, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    a, b = score(spec, x, 4), score(spec, x, 4)
    assert a == b
    assert a["synflow"] > 0 and a["naswot"] > 0 and a["params"] > 0
    with pytest.raises(ValueError, match="unknown proxy"):
        score(spec, x, 4, ("zen",))


def test_credentials_are_masked() -> None:
    assert mask_url("postgresql://me:s3cret@db:5432/x") == "postgresql://me:***@db:5432/x"


@pytest.mark.parametrize("argv, phrase", [
    (["search", "--space", "nope"], "unknown model 'nope'"),
    (["search", "--space", "efficientnet-b0"], "not a search space"),
    (["search", "--target-macs", "0", "--data", "synthetic"], "--target-macs must be positive"),
    (["search", "--objective", "constraint", "--data", "synthetic"], "needs --max-macs"),
    (["search", "--data", "synthetic:size=600", "--val-size", "100", "--storage",
      "postgresql://me:s3cret@127.0.0.1:1/db"], "cannot open storage postgresql://me:***@127.0.0.1:1/db"),
])
def test_bad_input_exits_2(capsys: pytest.CaptureFixture, tmp_path: Path, argv: list[str], phrase: str) -> None:
    code = main([*argv, "--results", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and phrase in err and "s3cret" not in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.slow
def test_sigkill_mid_trial_then_rerun_resumes(tmp_path: Path, small) -> None:
    url = storage(tmp_path)
    cmd = [sys.executable, "-m", "scaler", "search", "--space", small["space"],
           "--data", "synthetic:classes=4,size=2200,resolution=16", "--val-size", "128", "--train-size", "2000",
           "--width", "1", "--epochs", "2", "--trials", "3",
           "--storage", url, "--study", "k", "--results", str(tmp_path), "--device", "cpu", "--json"]
    log = tmp_path / "first.err"
    with log.open("w") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
    try:
        deadline = time.time() + 120
        while time.time() < deadline:  # wait until a trial is mid-training
            if proc.poll() is not None:
                pytest.fail(f"the search ended before a trial started: {log.read_text()[-500:]}")
            try:
                trials = optuna.load_study(study_name="k", storage=url).get_trials()
            except (KeyError, Exception):
                trials = []
            if any(t.state == optuna.trial.TrialState.RUNNING and "proxies" in t.user_attrs for t in trials):
                break
            time.sleep(0.5)
        else:
            pytest.fail("no trial started")
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    study = optuna.load_study(study_name="k", storage=url)
    states = [t.state for t in study.get_trials()]
    assert optuna.trial.TrialState.RUNNING not in states
    assert states.count(optuna.trial.TrialState.FAIL) == 1
    assert sum(s in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED) for s in states) == 3
    retried = [t for t in study.get_trials() if "retry_of" in t.user_attrs]
    assert len(retried) == 1
    assert parse_file(tmp_path / "search" / "k" / "best.arch")
