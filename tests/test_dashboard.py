"""The dashboard: figure builders, data loaders, and every page of app.py driven by AppTest."""

from __future__ import annotations

import base64
import contextlib
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import warnings
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest

from scaler.dashboard import data
from scaler.dashboard import figures as F
from scaler.nn.complexity import complexity
from scaler.results import schema
from scaler.stats import pareto, pareto_mask
from scaler.study import reader
from scaler.zoo import get_model

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")

# ------------------------------------------------------------------------------------ the fixture

SO_STUDY = "mbconv-search"
MO_STUDY = "mbconv-pareto"
BASE = "efficientnet-b0"
LAW = {"a": 25.0, "b": 0.3, "c": 0.05}  # error = a * MACs^-b + c, the fits.json of the fixture


def _small_b0(width: float, depth: float, resolution: int = 32):
    return get_model("efficientnet-b0").scale(width=width, depth=depth, resolution=resolution)


def _history(val_acc: float | None, epochs: int) -> list[dict]:
    """Per-epoch reports climbing to ``val_acc`` at the last epoch."""
    return [{"epoch": e, "train_loss": 1.5 / e, "val_loss": 1.2 / e,
             "val_acc": None if val_acc is None else val_acc - 0.05 * (epochs - e), "lr": 0.1 / e}
            for e in range(1, epochs + 1)]


def _run_record(run_id: str, kind: str, spec, val_acc: float | None, status: str = "ok", epochs: int = 1,
                **extra) -> dict:
    cx = complexity(spec, num_classes=10)
    return {
        "schema_version": 1, "run_id": run_id, "kind": kind, "name": spec.name, "family": spec.family,
        "created": "2026-01-01T00:00:00Z", "spec": spec.text(),
        "data": {"name": "fashion-mnist", "train_size": 2000, "val_size": 500, "resolution": 32},
        "train": {"epochs": 2, "batch_size": 128}, "device": "cpu", "status": status,
        "resolution": spec.resolution, "params": cx.params, "macs": cx.macs, "acts": cx.acts,
        "val_acc": val_acc, "test_acc": None, "latency_ms": 1.5 + cx.macs / 1e7, "train_time_s": 12.0,
        "images_per_s": 900.0, "history": _history(val_acc, epochs),
        "extra": extra,
    }


def _objective(trial: optuna.Trial, multi: bool):
    width = trial.suggest_categorical("width", [0.25, 0.5, 0.75])
    depth = trial.suggest_float("depth", 0.25, 1.0, step=0.25)
    kernel = trial.suggest_int("kernel", 3, 5, step=2)
    spec = _small_b0(width, depth)
    cx = complexity(spec, num_classes=10)
    acc = 0.80 + 0.1 * width + 0.04 * depth - 0.01 * (kernel == 5) + 0.01 * math.sin(trial.number)
    for key, value in {"spec": spec.text(), "params": cx.params, "macs": cx.macs, "acts": cx.acts,
                       "latency_ms": 1.0 + cx.macs / 1e7, "val_acc": acc, "status": "ok"}.items():
        trial.set_user_attr(key, value)
    if multi:
        return acc, float(cx.macs)
    for epoch in range(3):
        trial.report(acc - 0.1 / (epoch + 1), epoch)
        if trial.number % 4 == 3 and epoch == 1:
            raise optuna.TrialPruned()
    return acc


def make_results(root: Path) -> Path:
    """A results/ folder per the schemas: runs, two Optuna studies, one scaling base."""
    from scaler.results import write_json, write_text

    root.mkdir(parents=True, exist_ok=True)
    runs = [
        _run_record("b0-small-1", "train", _small_b0(0.5, 0.5), 0.86),
        _run_record("b0-small-2", "train", _small_b0(1.0, 1.0), 0.89),
        _run_record("found-1", "search", _small_b0(0.75, 0.5), 0.875, study=SO_STUDY, trial=3),
        _run_record("b0-phi1", "scale", _small_b0(1.1, 1.2, 36), 0.895, epochs=3, phi=1, ladder="derived",
                    stage="train", base=BASE),
        # two cells of the base's comparison (scaler scale's trainings, kept as runs of kind scale)
        *(_run_record(f"b0-{strategy}-2x", "scale", _small_b0(w, d), acc, epochs=4, stage="compare", base=BASE,
                      strategy=strategy, mac_ratio=2.0, seed=0)
          for strategy, w, d, acc in (("compound", 1.1, 1.2, 0.9), ("depth", 1.0, 2.0, 0.88))),
        _run_record("b0-diverged", "train", _small_b0(0.25, 0.25), None, status="diverged"),
    ]
    for rec in runs:
        write_json(root / "runs" / rec["run_id"] / "run.json", rec)
        write_text(root / "runs" / rec["run_id"] / "model.arch", rec["spec"])

    # Studies are run in memory and copied into the SQLite storage in one go (one commit per
    # trial instead of one per attribute: seconds saved on a slow disk).
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = f"sqlite:///{root / 'studies.db'}"
    memory = optuna.storages.InMemoryStorage()
    so = optuna.create_study(study_name=SO_STUDY, storage=memory, direction="maximize",
                             sampler=optuna.samplers.RandomSampler(seed=0))
    mo = optuna.create_study(study_name=MO_STUDY, storage=memory, directions=["maximize", "minimize"],
                             sampler=optuna.samplers.RandomSampler(seed=1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        so.set_metric_names(["reward"])
        mo.set_metric_names(["val_acc", "macs"])
    so.optimize(lambda t: _objective(t, False), n_trials=12)
    mo.optimize(lambda t: _objective(t, True), n_trials=10)
    target = optuna.storages.RDBStorage(storage)
    for study in (so, mo):
        optuna.copy_study(from_study_name=study.study_name, from_storage=memory, to_storage=target)
    target.engine.dispose()
    write_text(root / "search" / SO_STUDY / "best.arch", so.best_trial.user_attrs["spec"])

    scale = root / "scale" / BASE
    base_macs = complexity(_small_b0(1.0, 1.0), num_classes=10).macs
    grid = []
    for alpha in (1.1, 1.2, 1.3):
        for beta in (1.0, 1.1, 1.2):
            gamma = math.sqrt(2 / (alpha * beta ** 2))
            grid.append({"alpha": alpha, "beta": beta, "gamma": round(gamma, 3),
                         "val_acc": 0.88 + 0.01 * (alpha == 1.2) + 0.005 * (beta == 1.1),
                         "macs": int(base_macs * 2), "params": 4_000_000})
    scale.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(grid).to_csv(scale / "grid.csv", index=False)
    ladder = []
    for phi in range(1, 5):
        for label, (w, d, r) in {"derived": (1.1 ** phi, 1.2 ** phi, 1.15 ** phi),
                                 "published": (1.0 + 0.1 * phi, 1.0 + 0.2 * phi, 1.0 + 0.1 * phi)}.items():
            spec = _small_b0(w, d, int(32 * r))
            cx = complexity(spec, num_classes=10)
            ladder.append({"label": label, "name": f"b0-{label}-phi{phi}", "phi": phi, "width": w, "depth": d,
                           "resolution": int(32 * r), "params": cx.params, "macs": cx.macs,
                           "mac_ratio": cx.macs / base_macs})
    pd.DataFrame(ladder).to_csv(scale / "ladder.csv", index=False)
    compare = []
    for strategy, penalty in (("compound", 0.0), ("depth", 0.01), ("width", 0.008), ("resolution", 0.012)):
        for ratio in (2, 4, 8):
            macs = base_macs * ratio
            err = LAW["a"] * macs ** -LAW["b"] + LAW["c"] + penalty
            compare.append({"strategy": strategy, "mac_ratio": ratio, "macs": macs, "val_acc": 1 - err})
    pd.DataFrame(compare).to_csv(scale / "compare.csv", index=False)
    fits = {s: dict(LAW, c=LAW["c"] + p, a_std=1.0, b_std=0.01, c_std=0.002)
            for s, p in (("compound", 0.0), ("depth", 0.01), ("width", 0.008), ("resolution", 0.012))}
    write_json(scale / "fits.json", fits)
    bench = [  # a bench table as scaler bench writes it: three zoo models and the found family's ladder
        {"label": "plain-cnn", "series": "plain", "phi": None, "val_acc": 0.83, "val_std": 0.004, "macs": 29e6,
         "params": 1.2e5, "latency_ms": 0.6},
        {"label": "resnet18", "series": "resnet", "phi": None, "val_acc": 0.84, "val_std": 0.003, "macs": 140e6,
         "params": 2.8e6, "latency_ms": 1.5},
        {"label": "efficientnet-b0", "series": "efficientnet", "phi": None, "val_acc": 0.82, "val_std": 0.006,
         "macs": 9e6, "params": 1.3e6, "latency_ms": 3.0},
        {"label": "found", "series": "found family", "phi": 0.0, "val_acc": 0.825, "val_std": 0.005, "macs": 7e6,
         "params": 0.9e6, "latency_ms": 2.5},
        {"label": "found-phi1", "series": "found family", "phi": 1.0, "val_acc": 0.835, "val_std": 0.004,
         "macs": 14e6, "params": 1.4e6, "latency_ms": 3.5},
    ]
    for row in bench:
        row.update(seeds=3, test_acc=row["val_acc"] - 0.01, test_std=0.005, resolution=28, diverged=0,
                   is_reference=row["label"] == "found", verdict="reference" if row["label"] == "found" else "better")
    frame = pd.DataFrame(bench)
    frame["pareto"] = pareto(bench)
    (root / "bench" / "default").mkdir(parents=True)
    frame.to_csv(root / "bench" / "default" / schema.BENCH.file, index=False)
    write_text(scale / "b0-phi3.arch", _small_b0(1.1 ** 3, 1.2 ** 3, 48).text().replace(
        "model efficientnet-b0", "model b0-phi3", 1))
    return root


def corrupt(root: Path) -> Path:
    """Break a fixture: a half-written run.json and a compare.csv that lacks a column."""
    (root / "runs" / "half-written").mkdir(parents=True)
    (root / "runs" / "half-written" / "run.json").write_text('{"schema_version": 1, "name": "x", "par')
    (root / "scale" / BASE / "compare.csv").write_text("strategy,mac_ratio\ncompound,2\n")
    return root


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_results(tmp_path_factory.mktemp("results"))


@pytest.fixture(scope="module")
def corrupt_results(tmp_path_factory: pytest.TempPathFactory, results: Path) -> Path:
    copy = tmp_path_factory.mktemp("corrupt") / "results"
    shutil.copytree(results, copy)
    return corrupt(copy)


def storage_url(root: Path) -> str:
    return f"sqlite:///{root / 'studies.db'}"


# -------------------------------------------------------------------------------------- the loaders

def test_zoo_frame_flags_published_counts_that_disagree() -> None:
    zoo, warnings = data.zoo_frame()
    assert not warnings
    row = zoo.set_index("name").loc["googlenet"]
    assert row["params_disagree"] and row["published_params_m"] == 5.0
    assert abs(row["params_m"] - 6.624904) < 1e-6  # both kept
    assert not zoo.set_index("name").loc["resnet50", "params_disagree"]  # 26 M vs 25.56 M: within 5%
    ladder = data.zoo_ladder(zoo)
    assert ladder["short"].tolist()[:3] == ["B0", "B1", "B2"] and ladder["macs"].is_monotonic_increasing


def test_runs_frame_skips_corrupt_and_incomplete_records(tmp_path: Path, results: Path) -> None:
    runs, warnings = data.runs_frame(results)
    assert len(runs) == 7 and not warnings
    assert set(runs["kind"]) == {"train", "search", "scale"}
    assert runs.set_index("run_id").loc["found-1", "study"] == SO_STUDY
    (tmp_path / "runs" / "a").mkdir(parents=True)
    (tmp_path / "runs" / "a" / "run.json").write_text("{not json")
    (tmp_path / "runs" / "b").mkdir()
    (tmp_path / "runs" / "b" / "run.json").write_text('{"name": "b", "params": 3}')
    runs, warnings = data.runs_frame(tmp_path)
    assert runs.empty and len(warnings) == 2
    assert any("skipped" in w and "/a/" in w for w in warnings) and any("missing macs" in w for w in warnings)


def test_missing_storage_is_an_empty_state_and_is_not_created(tmp_path: Path) -> None:
    url = storage_url(tmp_path)
    studies, warnings = data.list_studies(url)
    assert studies.empty and not warnings
    assert not (tmp_path / "studies.db").exists()


def test_corrupt_storage_is_a_warning(tmp_path: Path) -> None:
    (tmp_path / "studies.db").write_bytes(b"this is not a database" * 10)
    studies, warnings = data.list_studies(storage_url(tmp_path))
    assert studies.empty and len(warnings) == 1 and "cannot read" in warnings[0]
    study, warnings = data.load_study(storage_url(tmp_path), "x")
    assert study is None and warnings


def test_list_and_load_studies(results: Path) -> None:
    before = (results / "studies.db").stat().st_mtime_ns
    studies, warnings = data.list_studies(storage_url(results))
    assert not warnings
    rows = studies.set_index("name")
    assert rows.loc[SO_STUDY, "n_trials"] == 12 and rows.loc[SO_STUDY, "pruned"] == 3
    assert rows.loc[MO_STUDY, "objectives"] == "val_acc, macs"
    study, warnings = data.load_study(storage_url(results), SO_STUDY)
    assert not warnings and study.loader == "sql"
    assert study.objectives == ["reward"] and study.directions == ["maximize"]
    assert len(study.trials) == 12 and study.trials["number"].tolist() == list(range(12))
    assert {"param_width", "param_depth", "param_kernel", "spec", "macs", "val_acc"} <= set(study.trials)
    assert set(study.trials["param_width"].dropna()) <= {0.25, 0.5, 0.75}  # categorical choices, not indices
    assert study.trials["pareto"].sum() >= 1
    assert set(study.intermediate["state"]) == {"COMPLETE", "PRUNED"}
    assert study.importances is not None and set(study.importances["param"]) == {"width", "depth", "kernel"}
    assert study.importances["importance"].sum() == pytest.approx(1.0)
    assert (results / "studies.db").stat().st_mtime_ns == before  # read only
    missing, warnings = data.load_study(storage_url(results), "nope")
    assert missing is None and "no study named" in warnings[0]


def test_direct_read_matches_optuna_api(results: Path) -> None:
    url = storage_url(results)
    for name in (SO_STUDY, MO_STUDY):
        fast = data._assemble(name, reader._read_sql(url, name))
        slow = data._assemble(name, reader._read_optuna(url, name))
        cols = [c for c in fast.trials.columns if c not in ("datetime_start", "datetime_complete", "duration_s")]
        pd.testing.assert_frame_equal(fast.trials[cols].reset_index(drop=True),
                                      slow.trials[cols].reset_index(drop=True), check_dtype=False)
        pd.testing.assert_frame_equal(fast.intermediate, slow.intermediate, check_dtype=False)
        assert fast.objectives == slow.objectives and fast.directions == slow.directions
    # the importances equal Optuna's own on the stored study
    study = optuna.load_study(study_name=SO_STUDY, storage=url)
    expected = optuna.importance.get_param_importances(study)
    for loaded in (data._assemble(SO_STUDY, reader._read_sql(url, SO_STUDY)),
                   data._assemble(SO_STUDY, reader._read_optuna(url, SO_STUDY))):
        mine, note = data.study_importances(loaded)
        assert note is None and dict(zip(mine["param"], mine["importance"], strict=False)) == pytest.approx(expected)


def test_multi_objective_study_pareto_matches_optuna(results: Path) -> None:
    url = storage_url(results)
    study, _ = data.load_study(url, MO_STUDY)
    assert study.multi_objective and study.objectives == ["val_acc", "macs"]
    expected = {t.number for t in optuna.load_study(study_name=MO_STUDY, storage=url).best_trials}
    assert set(study.trials.loc[study.trials["pareto"], "number"]) == expected
    assert study.pareto_axes() == ("value_1", "value_0", "macs", "val_acc")


def test_odd_studies_load_and_plot(tmp_path: Path) -> None:
    """Empty studies, failures only, no user attributes, conditional parameters, three objectives."""
    url = storage_url(tmp_path)
    memory = optuna.storages.InMemoryStorage()  # copied to SQLite below: one commit per trial
    optuna.create_study(study_name="empty", storage=memory)
    failing = optuna.create_study(study_name="failing", storage=memory)
    failing.optimize(lambda t: 1 / 0 + t.suggest_float("x", 0, 1), n_trials=2, catch=(ZeroDivisionError,))
    bare = optuna.create_study(study_name="bare", storage=memory, sampler=optuna.samplers.RandomSampler(seed=0))
    bare.optimize(lambda t: t.suggest_float("x", 0, 1) ** 2, n_trials=5)

    def conditional(t: optuna.Trial) -> float:
        block = t.suggest_categorical("block", ["mbconv", "basic"])
        k = t.suggest_int("k", 3, 5, step=2) if block == "mbconv" else 3
        return float(k) + t.suggest_float("lr", 1e-3, 1e-1, log=True)

    cond = optuna.create_study(study_name="conditional", storage=memory, sampler=optuna.samplers.RandomSampler(seed=0))
    cond.optimize(conditional, n_trials=20)
    three = optuna.create_study(study_name="three", storage=memory, directions=["maximize", "minimize", "minimize"],
                                sampler=optuna.samplers.RandomSampler(seed=0))
    three.optimize(lambda t: (t.suggest_float("a", 0, 1), t.suggest_float("b", 0, 1), t.suggest_float("c", 0, 1)),
                   n_trials=15)
    target = optuna.storages.RDBStorage(url)
    for name in ("empty", "failing", "bare", "conditional", "three"):
        optuna.copy_study(from_study_name=name, from_storage=memory, to_storage=target)
    target.engine.dispose()
    studies, warnings = data.list_studies(url)
    assert not warnings and set(studies["name"]) == {"empty", "failing", "bare", "conditional", "three"}
    for name in studies["name"]:
        study, warnings = data.load_study(url, name)
        assert study is not None and not warnings, name
        figures = [F.optimization_history(study.trials), F.intermediate_values(study.intermediate),
                   F.param_importances(study.importances, study.importance_note)]
        if study.pareto_axes():
            figures.append(F.pareto_front(study.trials, *study.pareto_axes()))
        assert all(f.layout.title.text for f in figures), name
    empty, _ = data.load_study(url, "empty")
    assert empty.trials.empty and empty.importances is None and empty.pareto_axes() is None
    failing_study, _ = data.load_study(url, "failing")
    assert failing_study.state_counts() == {"FAIL": 2} and failing_study.best_trials().empty
    cond_study, _ = data.load_study(url, "conditional")
    assert cond_study.trials["param_k"].isna().any() and cond_study.importances is not None
    assert set(cond_study.importances["param"]) == {"block", "k", "lr"}
    three_study, _ = data.load_study(url, "three")
    expected = {t.number for t in three.best_trials}
    assert set(three_study.trials.loc[three_study.trials["pareto"], "number"]) == expected


@pytest.mark.parametrize("values, maximize, expected", [
    ([[1, 1], [2, 2], [0, 3], [3, 0], [1, 1]], [False, False], [True, False, True, True, True]),
    ([[1, 5], [2, 6], [3, 6], [np.nan, 9]], [False, True], [True, True, False, False]),
    ([[1, 1, 1], [0, 2, 2], [2, 2, 2], [1, 1, 0]], [False, False, False], [False, True, False, True]),
    ([], [False, False], []),
])
def test_pareto_mask(values: list, maximize: list, expected: list) -> None:
    got = pareto_mask(np.array(values, dtype=float).reshape(len(values), len(maximize)), maximize)
    assert got.tolist() == expected


def test_pareto_mask_agrees_with_brute_force() -> None:
    rng = np.random.default_rng(0)
    v = rng.integers(0, 8, size=(300, 2)).astype(float)
    brute = [not any((o <= p).all() and (o < p).any() for o in v) for p in v]
    assert pareto_mask(v, [False, False]).tolist() == brute
    # the bench's rows: x down, y up
    rows = [{"macs": a, "val_acc": -b} for a, b in v]
    assert pareto(rows) == brute


def test_load_scale_and_its_warnings(results: Path, corrupt_results: Path) -> None:
    assert data.scale_bases(results) == [BASE]
    sc, warnings = data.load_scale(results, BASE)
    assert not warnings and not sc.empty
    assert len(sc.grid) == 9 and set(sc.ladder["label"]) == {"derived", "published"}
    assert set(sc.fits) == {"compound", "depth", "width", "resolution"} and sc.fits["compound"]["a"] == 25.0
    sc, warnings = data.load_scale(corrupt_results, BASE)
    assert sc.compare is None and any("compare.csv" in w and "missing column" in w for w in warnings)
    assert sc.grid is not None  # the rest still loads


def test_read_table_drops_unreadable_rows(tmp_path: Path) -> None:
    path = tmp_path / "grid.csv"
    path.write_text("alpha,beta,gamma,val_acc\n1.2,1.1,1.15,0.9\n1.3,oops,1.1,0.8\n")
    df, warnings = data.read_table(path, schema.GRID.required, schema.GRID.numeric)
    assert len(df) == 1 and "dropped 1 row" in warnings[0]
    path.write_bytes(b"\xff\xfe\x00garbage")
    df, warnings = data.read_table(path, schema.GRID.required, schema.GRID.numeric)
    assert df is None and warnings


def test_inspect_model_rows_sum_to_totals() -> None:
    spec, cx, layers = data.inspect_model(get_model("resnet50"), 160, 1.0, 1.0)
    assert cx.resolution == 160 and spec.resolution == 160
    assert layers["params"].sum() == cx.params == 25_557_032
    assert layers["macs"].sum() == cx.macs
    assert layers["label"].iloc[0].startswith("stem 1")


def test_import_scaler_keeps_plotly_and_streamlit_out() -> None:
    code = ("import sys, scaler, scaler.zoo, scaler.results, scaler.dashboard, scaler.dashboard.data; "
            "bad = [m for m in ('plotly', 'streamlit') if m in sys.modules]; print(bad); assert not bad")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


# -------------------------------------------------------------------------------------- the figures

@pytest.fixture(scope="module")
def zoo() -> pd.DataFrame:
    return data.zoo_frame()[0]


def test_zoo_bubble(zoo: pd.DataFrame) -> None:
    fig = F.zoo_bubble(zoo)
    published = zoo[zoo["top1"].notna()]
    assert {t.name for t in fig.data} == set(published["family"])
    assert sum(len(t.x) for t in fig.data) == len(published)
    assert fig.layout.xaxis.type == "log" and "MACs" in fig.layout.xaxis.title.text
    eff = next(t for t in fig.data if t.name == "efficientnet")
    assert eff.marker.sizemode == "area"
    assert list(eff.marker.size) == list(published[published.family == "efficientnet"]["params"])
    for word in ("resolution", "params", "MACs", "activations", "source"):
        assert word in eff.hovertemplate
    inc = next(t for t in fig.data if t.name == "inception")
    row = [r for r in inc.customdata if r[0] == "googlenet"][0]
    assert "6.62 M counted" in row[2] and "5 M published" in row[2] and "differs" in row[2]


def test_zoo_params_shows_both_counts(zoo: pd.DataFrame) -> None:
    fig = F.zoo_params(zoo)
    assert fig.layout.xaxis.type == "log"
    pub = next(t for t in fig.data if t.name and t.name.startswith("published count"))
    assert list(pub.x) == [5.0e6]  # googlenet's published count, next to its counted one


def test_zoo_figures_empty_selection(zoo: pd.DataFrame) -> None:
    fig = F.zoo_bubble(zoo[zoo["family"] == "bit"].assign(top1=np.nan))
    assert not fig.data and "published top-1" in fig.layout.annotations[0].text


def test_runs_scatter(results: Path, zoo: pd.DataFrame) -> None:
    runs, _ = data.runs_frame(results)
    fig = F.runs_scatter(runs, "macs", data.zoo_ladder(zoo))
    names = [t.name for t in fig.data]
    assert "train runs" in names and "search runs" in names and "scale runs" in names
    ladder = next(t for t in fig.data if "ladder" in t.name)
    assert ladder.yaxis == "y2" and "B0" in list(ladder.text)
    assert fig.layout.xaxis.type == "log" and fig.layout.yaxis.tickformat == ".1%"
    train = next(t for t in fig.data if t.name == "train runs")
    assert len(train.x) == 2  # the diverged run has no accuracy
    assert "latency" in train.hovertemplate and "MACs" in train.hovertemplate
    fig = F.runs_scatter(runs, "latency_ms", data.zoo_ladder(zoo))
    assert not any("ladder" in (t.name or "") for t in fig.data)
    with pytest.raises(ValueError):
        F.runs_scatter(runs, "flops")


def test_search_figures(results: Path) -> None:
    study, _ = data.load_study(storage_url(results), SO_STUDY)
    fig = F.optimization_history(study.trials, 0, "reward", "maximize")
    points, best = fig.data
    assert len(points.x) == 9 and list(best.y) == list(np.maximum.accumulate(points.y))
    fig = F.pareto_front(study.trials, *study.pareto_axes())
    front = next(t for t in fig.data if t.name == "Pareto front")
    assert len(front.x) == int(study.trials["pareto"].sum()) and "trial" in front.hovertemplate
    done = study.trials[study.trials["state"] == "COMPLETE"]
    spans_a_decade = done["macs"].max() >= 10 * done["macs"].min()
    assert fig.layout.xaxis.type == ("log" if spans_a_decade else "linear")  # x_log="auto"
    assert front.line.shape == "hv"
    fig = F.pareto_front(study.trials, *study.pareto_axes(), x_log=True, staircase=False)
    assert fig.layout.xaxis.type == "log" and fig.data[1].line.shape == "linear"
    fig = F.intermediate_values(study.intermediate)
    assert {t.name.split()[0] for t in fig.data} == {"complete", "pruned"}
    pruned = next(t for t in fig.data if t.name.startswith("pruned"))
    assert np.isnan(np.asarray(pruned.y, dtype=float)).sum() == 2  # 3 pruned trials, 2 breaks
    fig = F.param_importances(study.importances)
    bar = fig.data[0]
    assert bar.type == "bar" and bar.orientation == "h" and list(bar.x) == sorted(bar.x)
    assert F.param_importances(None, "need two trials").layout.annotations[0].text == "need two trials"


def test_scaling_figures(results: Path) -> None:
    sc, _ = data.load_scale(results, BASE)
    fig = F.scaling_grid(sc.grid)
    heat = fig.data[0]
    assert heat.type == "heatmap" and np.asarray(heat.z).shape == (3, 3)
    star = fig.data[1]
    assert (star.x[0], star.y[0]) == (1.2, 1.1)
    fig = F.scaling_ladders(sc.ladder)
    names = {t.name for t in fig.data}
    assert {"derived ladder", "published ladder", "2^φ × base MACs"} <= names
    assert fig.layout.yaxis.type == "log" and fig.layout.yaxis2.type == "log"
    fig = F.scaling_compare(sc.compare, sc.fits)
    names = [t.name for t in fig.data]
    for s in ("compound", "depth", "width", "resolution"):
        assert f"{s} (measured)" in names and f"{s} fit" in names and f"{s} extrapolated" in names
    fit = next(t for t in fig.data if t.name == "compound fit")
    x = np.asarray(fit.x)
    assert np.allclose(fit.y, 1 - (LAW["a"] * x ** -LAW["b"] + LAW["c"]))
    extra = next(t for t in fig.data if t.name == "compound extrapolated")
    assert extra.line.dash == "dash" and max(extra.x) == pytest.approx(4 * sc.compare["macs"].max())
    band = next(t for t in fig.data if t.name == "compound 95% band")
    assert band.fill == "toself" and len(band.x) == 2 * (len(fit.x) + len(extra.x)) and band.visible is True
    assert next(t for t in fig.data if t.name == "depth 95% band").visible == "legendonly"
    assert fig.layout.xaxis.type == "log"


def test_law_x_picks_the_variable_that_fits() -> None:
    compare = pd.DataFrame({"macs": [1e6, 4e6], "mac_ratio": [1.0, 4.0]})
    fit = {"a": 0.2, "b": 0.5, "c": 0.05}
    compare["val_acc"] = 1 - (0.2 * compare["mac_ratio"] ** -0.5 + 0.05)
    assert F.law_x(compare, fit) == "mac_ratio"
    assert F.law_x(compare, dict(fit, x="macs")) == "macs"
    lo, hi = F.law_band(np.array([1.0, 10.0]), dict(fit, a_std=0.01, b_std=0.01, c_std=0.01))
    mid = F.law_error(np.array([1.0, 10.0]), fit)
    assert (lo < mid).all() and (mid < hi).all()


def test_a_law_counted_from_the_base_is_drawn_from_its_m0() -> None:
    # rounding kept the measured models off their target ratios: the curve must use the fit's m0,
    # not the base MACs that macs / mac_ratio suggests
    m0 = 1.4e6
    compare = pd.DataFrame({"strategy": "compound", "mac_ratio": [1.0, 2.0, 4.0], "macs": [m0, 2.3 * m0, 3.7 * m0]})
    fit = {"a": 0.05, "b": 0.8, "c": 0.15, "a_std": 0.01, "b_std": 0.1, "c_std": 0.01, "m0": m0, "x": "mac_ratio"}
    compare["val_acc"] = 1 - (fit["a"] * (compare["macs"] / m0) ** -fit["b"] + fit["c"])
    figure = F.scaling_compare(compare, {"compound": fit})
    curve = next(t for t in figure.data if t.name == "compound fit")
    x = np.asarray(curve.x)
    assert np.allclose(curve.y, 1 - (fit["a"] * (x / m0) ** -fit["b"] + fit["c"]))
    assert "x = MACs / 1.4 M" in curve.hovertemplate
    assert F.law_x_label(fit) == "MACs / 1.4 M" and F.law_x_label({"a": 1, "b": 1, "c": 0}) == "MACs"
    assert F.law_x_label({"a": 1, "b": 1, "c": 0}, "mac_ratio") == "MACs / base"


def seeded_compare(root: Path) -> Path:
    """A compare.csv as ``scaler scale --compare --seeds 3`` writes it (every schema column) and its fits."""
    m0 = 1.4e6
    fit = {"a": 0.05, "b": 0.8, "c": 0.15, "a_std": 0.01, "b_std": 0.1, "c_std": 0.01, "m0": m0, "x": "mac_ratio",
           "noise": "seed spread"}
    rows = [{"strategy": "baseline", "mac_ratio": 1.0, "macs": m0, "val_acc": 0.80, "val_std": 0.004, "seeds": 3,
             "verdict": None}]
    for strategy, penalty, verdict in (("compound", 0.0, "reference"), ("depth", 0.01, "worse"),
                                       ("width", 0.002, "not distinguishable")):
        for ratio in (2.0, 4.0):
            diff = None if strategy == "compound" else -penalty
            rows.append({"strategy": strategy, "mac_ratio": ratio, "macs": ratio * m0,
                         "val_acc": 1 - (fit["a"] * ratio ** -fit["b"] + fit["c"]) - penalty,
                         "val_std": 0.003 + penalty / 2, "seeds": 3, "vs_compound": diff,
                         "vs_low": None if diff is None else diff - 0.004,
                         "vs_high": None if diff is None else diff + 0.004, "verdict": verdict,
                         "trained_macs": 4 * ratio * m0})
    folder = root / "scale" / BASE
    folder.mkdir(parents=True)
    pd.DataFrame(rows, columns=list(schema.COMPARE.columns)).to_csv(folder / schema.COMPARE.file, index=False)
    (folder / schema.FITS).write_text(json.dumps({s: fit for s in ("compound", "depth", "width")}))
    return root


def test_compare_with_seeds_draws_error_bars_and_verdicts(tmp_path: Path, results: Path) -> None:
    sc, warnings = data.load_scale(seeded_compare(tmp_path), BASE)
    assert not warnings and set(schema.COMPARE.columns) <= set(sc.compare.columns)
    figure = F.scaling_compare(sc.compare, sc.fits)
    for strategy in ("compound", "depth", "width"):
        measured = next(t for t in figure.data if t.name == f"{strategy} (measured)")
        cells = sc.compare[sc.compare["strategy"] == strategy].sort_values("macs")
        assert measured.error_y.visible and np.allclose(measured.error_y.array, cells["val_std"])
        assert "over %{customdata[3]} seed(s)" in measured.hovertemplate and "vs compound" in measured.hovertemplate
        assert list(measured.customdata[:, 4]) == cells["verdict"].tolist()
    # an older compare.csv (four columns) draws its points without bars or verdicts
    old, _ = data.load_scale(results, BASE)
    assert "val_std" not in old.compare
    for trace in F.scaling_compare(old.compare, old.fits).data:
        if trace.name.endswith("(measured)"):
            assert trace.error_y.array is None and "seed" not in trace.hovertemplate


def test_log_axes_label_only_powers_of_ten() -> None:
    """Plotly labels 2 and 5 between decades on its own ("2, 100B, 5"): the ticks name decades only, the
    digits between are unlabelled minor ticks; 1-2-5 steps when the range holds fewer than two decades."""
    ticks = F.log_ticks([3e6, 5e7, 4e8])
    assert ticks["tickmode"] == "array" and ticks["tickvals"] == [1e7, 1e8] and ticks["ticktext"] == ["10M", "100M"]
    assert 2e7 in ticks["minor"]["tickvals"] and "ticktext" not in ticks["minor"]
    assert F.log_ticks([6e6, 3e7])["tickvals"] == [1e7, 2e7]
    narrow = F.log_ticks([9.7e6])  # one model: the 1-2-5 steps around it, the axis drawn over them
    assert narrow["tickvals"] == [5e6, 1e7] and narrow["range"][0] < math.log10(5e6) < math.log10(1e7) < narrow["range"][1]
    assert F.log_ticks([]) == {} and F.log_ticks([float("nan"), 0]) == {}


def test_scaling_and_frontier_log_axes_name_decades_only(results: Path) -> None:
    sc, _ = data.load_scale(results, BASE)
    ladders = F.scaling_ladders(sc.ladder)  # MACs within a decade and a half: 1-2-5 steps, named in full
    assert ladders.layout.yaxis.tickvals == (2e7, 5e7, 1e8) and ladders.layout.yaxis.ticktext == ("20M", "50M", "100M")
    wide = F.scaling_ladders(sc.ladder.assign(macs=sc.ladder["macs"] * 10.0 ** sc.ladder["phi"]))
    ticks = wide.layout.yaxis.tickvals  # four decades: the powers of ten alone
    assert len(ticks) >= 3 and all(math.log10(v) == round(math.log10(v)) for v in ticks)
    assert wide.layout.yaxis.minor.tickvals and wide.layout.yaxis.minor.ticks == "outside"
    assert F.scaling_compare(sc.compare, sc.fits).layout.xaxis.ticktext == ("20M", "50M", "100M", "200M")
    bench, _ = data.load_bench(results, "default")
    assert F.frontier(bench).layout.xaxis.tickvals == (1e7, 1e8)


def test_frontier_keeps_the_base_label_inside_the_plot(results: Path) -> None:
    """The found family's labels point into the plot: right of a rung in the axis' left half (the base,
    leftmost here, was cut off at the left edge), left of one in its right half; text is not clipped."""
    bench, _ = data.load_bench(results, "default")
    ladder = next(t for t in F.frontier(bench).data if t.name == "found family")
    assert list(ladder.textposition) == ["top right", "top right"] and ladder.cliponaxis is False
    found = bench["series"] == "found family"
    rightmost = bench.assign(macs=bench["macs"].where(~found, bench["macs"] * 100))  # 0.7 G and 1.4 G, the largest
    ladder = next(t for t in F.frontier(rightmost).data if t.name == "found family")
    assert list(ladder.textposition) == ["top left", "top left"]
    assert F.inward([1, 10, 100], [1, 100]) == ["top right", "top right", "top left"]


def test_upsampled_points_are_hollow_and_say_so(results: Path) -> None:
    sc, _ = data.load_scale(results, BASE)
    bench, _ = data.load_bench(results, "default")
    for figure in (F.scaling_compare(sc.compare, sc.fits), F.scaling_ladders(sc.ladder), F.frontier(bench)):
        for trace in figure.data:  # no upsampled column: nothing marked
            assert "open" not in str(trace.marker.symbol) and "upsampled" not in str(trace.customdata)
    compare = sc.compare.assign(upsampled=sc.compare["mac_ratio"] == 8)
    measured = next(t for t in F.scaling_compare(compare).data if t.name == "depth (measured)")
    assert list(measured.marker.symbol) == ["circle", "circle", "circle-open"]
    assert "upsampled" in measured.customdata[2][-1] and "upsampled" not in measured.customdata[0][-1]
    assert "%{customdata[2]}" in measured.hovertemplate
    ladder = sc.ladder.assign(upsampled=["True" if phi > 3 else "False" for phi in sc.ladder["phi"]])
    derived = next(t for t in F.scaling_ladders(ladder).data if t.name == "derived ladder")
    assert list(derived.marker.symbol) == ["circle"] * 3 + ["circle-open"]
    bench = bench.assign(upsampled=bench["label"] == "found-phi1")
    found = next(t for t in F.frontier(bench).data if t.name == "found family")
    assert list(found.marker.symbol) == ["star", "star-open"] and "upsampled" in found.customdata[1][-1]


def test_history_frame_and_training_curves(results: Path) -> None:
    runs, _ = data.runs_frame(results)
    cells, rungs = data.scale_runs(runs, BASE)
    assert cells["label"].tolist() == ["compound 2×, seed 0", "depth 2×, seed 0"]
    assert rungs["run_id"].tolist() == ["b0-phi1"] and rungs["group"].tolist() == ["derived"]
    history = data.history_frame(cells, label="label", group="group")
    assert list(history.columns) == data.HISTORY_COLUMNS and len(history) == 8
    figure = F.training_curves(history, "curves", F.STRATEGY_COLORS)
    acc = [t for t in figure.data if t.xaxis == "x"]
    assert [t.name for t in acc] == ["compound", "depth"] and [t.line.color for t in acc] == [
        F.STRATEGY_COLORS["compound"], F.STRATEGY_COLORS["depth"]]
    assert list(acc[0].x) == [1, 2, 3, 4] and acc[0].y[-1] == pytest.approx(0.9)
    losses = [t for t in figure.data if t.xaxis == "x2"]
    assert len(losses) == 4 and {t.line.dash for t in losses} == {"solid", "dot"}
    assert figure.layout.xaxis.title.text == "epoch" and figure.layout.yaxis.title.text == "validation accuracy"
    assert "loss" in figure.layout.yaxis2.title.text and figure.layout.title.text == "curves"
    empty = F.training_curves(data.history_frame(runs.iloc[0:0]))
    assert empty.layout.annotations[0].text == "no per-epoch history in these runs"


def write_robustness(root: Path, name: str = "b0-small-1", with_reference: bool = True) -> Path:
    """A results/robustness/<name>/ folder as ``scaler robustness`` leaves it, from the library's result and
    score types: b0-small-2 (and the reference b0-small-1 itself, unless told not) against b0-small-1."""
    from scaler.results import write_json
    from scaler.robustness.evaluate import RobustnessResult, compare

    def result(offset: float) -> RobustnessResult:
        errors = {c: {s: min(1.0, 0.1 + offset + 0.05 * s + 0.1 * (c == "rotate")) for s in range(1, 6)}
                  for c in ("gaussian_noise", "rotate")}
        return RobustnessResult(data="fashion-mnist", seed=0, images=32, frames=3, clean_error=0.1 + offset,
                                errors=errors, hashes={c: {s: "h" for s in range(1, 6)} for c in errors},
                                flip_rates={"translate": 0.1 + offset}, sequence_hashes={"translate": "h"},
                                seen_in_training=("rotate",))

    results = {"b0-small-1": result(0.1), "b0-small-2": result(0.0)}
    settings = {"seed": 0, "corruptions": ["gaussian_noise", "rotate"], "severities": [1, 2, 3, 4, 5], "frames": 3}
    folder = root / schema.ROBUSTNESS / name
    for run, res in results.items():
        key = json.dumps({"run": run, "data": res.data, **settings, "images": 32}, sort_keys=True)
        write_json(folder / schema.ROBUSTNESS_CACHE / f"{run}.json", {"key": key, "result": res.to_dict()})
    compared = ["b0-small-1", "b0-small-2"] if with_reference else ["b0-small-2"]
    write_json(folder / schema.ROBUSTNESS_SUMMARY, {
        "reference": "b0-small-1", **settings, "data": "fashion-mnist",
        "runs": [{"run": r, "path": str(root / "runs" / r), "result": results[r].to_dict(),
                  "summary": compare(results[r], results["b0-small-1"]).to_dict()} for r in compared]})
    return root


def test_robustness_loader_and_figures(tmp_path: Path, results: Path) -> None:
    root = tmp_path / "results"
    shutil.copytree(results, root)
    write_robustness(root)
    write_robustness(root, "reference-apart", with_reference=False)
    assert data.robustness_names(root) == ["b0-small-1", "reference-apart"]
    runs, _ = data.runs_frame(root)
    for name in ("b0-small-1", "reference-apart"):  # the reference read back from the cache when not compared
        got, warnings = data.load_robustness(root, name, runs)
        assert not warnings and got.reference == "b0-small-1"
        models = got.models.set_index("run_id")
        assert list(got.models.columns) == data.ROBUSTNESS_MODEL_COLUMNS
        assert models.loc["b0-small-1", "mce"] == pytest.approx(1.0) and models.loc["b0-small-1", "is_reference"]
        unseen_ce = (5 * 0.1 + 0.75) / (5 * 0.2 + 0.75)  # gaussian_noise's: rotate is seen in training
        assert models.loc["b0-small-2", "mce"] == pytest.approx(unseen_ce)
        assert models.loc["b0-small-2", "macs"] == runs.set_index("run_id").loc["b0-small-2", "macs"]
        assert len(got.errors) == 20 and set(got.errors["severity"]) == {1, 2, 3, 4, 5}
    heat = F.robustness_errors(got.errors)
    assert [t.type for t in heat.data] == ["heatmap", "heatmap"]
    assert list(heat.data[0].y) == ["gaussian_noise", "rotate"] and list(heat.data[0].x) == [f"s{s}" for s in range(1, 6)]
    assert np.asarray(heat.data[1].z).shape == (2, 5) and heat.layout.xaxis.title.text == "severity"
    scatter = F.robustness_mce(got.models)
    ref = next(t for t in scatter.data if t.name == "reference")
    assert ref.marker.symbol == "star" and list(ref.y) == [1.0]
    assert scatter.layout.xaxis.type == "log" and "mCE" in scatter.layout.yaxis.title.text
    (root / schema.ROBUSTNESS / "broken").mkdir()
    (root / schema.ROBUSTNESS / "broken" / schema.ROBUSTNESS_SUMMARY).write_text('{"reference": "x", "ru')
    got, warnings = data.load_robustness(root, "broken", runs)
    assert got is None and "broken" in warnings[0]


def test_app_robustness_page(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, results: Path) -> None:
    root = tmp_path / "results"
    shutil.copytree(results, root)
    write_robustness(root)
    at = open_app(monkeypatch, root, "Robustness")
    assert at.title[0].value == "Robustness"
    assert titles(at) == ["mCE against MACs", "Test error per corruption and severity"]
    assert sorted(at.dataframe[0].value["run_id"]) == ["b0-small-1", "b0-small-2"]


def test_inspect_stages() -> None:
    _, cx, layers = data.inspect_model(get_model("efficientnet-b0"))
    fig = F.inspect_stages(layers, "b0")
    assert [t.type for t in fig.data] == ["bar"] * 3
    assert all(len(t.y) == len(layers) for t in fig.data)
    assert sum(fig.data[0].x) == cx.params and sum(fig.data[1].x) == cx.macs
    assert "of the total" in fig.data[1].hovertemplate


def test_si() -> None:
    assert F.si(5_288_548) == "5.29 M" and F.si(385_814_752) == "386 M" and F.si(float("nan")) == "n/a"


# ---------------------------------------------------------------------------------- the app (AppTest)

from streamlit.testing.v1 import AppTest  # noqa: E402


def charts(at: AppTest) -> list[dict]:
    """The plotly figures of the current run, as their JSON specs."""
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


def values(data: list | dict) -> list:
    """An array of a figure's JSON spec: plotly writes numpy arrays as base64 (``bdata``) with a ``dtype``."""
    if isinstance(data, dict):
        return np.frombuffer(base64.b64decode(data["bdata"]), dtype=data["dtype"]).tolist()
    return list(data)


def titles(at: AppTest) -> list[str]:
    out = []
    for spec in charts(at):
        title = spec.get("layout", {}).get("title", {})
        out.append(title.get("text", "") if isinstance(title, dict) else str(title))
    return out


def open_app(monkeypatch: pytest.MonkeyPatch, root: Path, page: str = "Zoo") -> AppTest:
    monkeypatch.setenv("SCALER_RESULTS", str(root))
    monkeypatch.delenv("SCALER_STORAGE", raising=False)
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    if page != "Zoo":
        at.sidebar.radio(key="page").set_value(page).run()
        assert not at.exception, at.exception
    return at


def snapshot(root: Path) -> dict:
    return {str(p): (p.stat().st_mtime_ns, p.stat().st_size) for p in root.rglob("*")}


def test_app_zoo_page_and_filters(monkeypatch: pytest.MonkeyPatch, results: Path) -> None:
    at = open_app(monkeypatch, results)
    assert at.title[0].value == "Zoo"
    assert titles(at) == ["Accuracy vs MACs (bubble area = parameters)", "Accuracy vs parameters"]
    bubble = charts(at)[0]
    assert bubble["layout"]["xaxis"]["type"] == "log"
    assert any("googlenet" in i.value for i in at.info)  # the disagreeing parameter count
    assert len(at.dataframe[0].value) == len(data.zoo_frame()[0])
    at.multiselect(key="zoo_families").set_value(["efficientnet"]).run()
    assert not at.exception
    assert [t["name"] for t in charts(at)[0]["data"]] == ["efficientnet"]
    assert set(at.dataframe[0].value["family"]) == {"efficientnet"}
    at.multiselect(key="zoo_families").set_value(["efficientnet", "vgg", "alexnet"]).run()
    at.slider(key="zoo_years").set_value((2013, 2019)).run()
    at.checkbox(key="zoo_no_year").uncheck().run()
    assert not at.exception
    names = set(at.dataframe[0].value["name"])
    assert "alexnet" not in names and "vgg16" in names and "efficientnet-l2" not in names


def test_bench_table_loads_with_its_front(results: Path) -> None:
    assert data.bench_names(results) == ["default"]
    bench, warnings = data.load_bench(results, "default")
    assert not warnings and bench["pareto"].dtype == bool
    # resnet18 is beaten by nothing at its MACs; plain-cnn (0.83 at 29M) is beaten by found-phi1 (0.835 at 14M)
    assert set(bench.loc[bench["pareto"], "label"]) == {"found", "found-phi1", "resnet18"}


def test_frontier_figure_draws_error_bars_the_ladder_and_the_front(results: Path) -> None:
    bench, _ = data.load_bench(results, "default")
    figure = F.frontier(bench)
    traces = {t.name: t for t in figure.data}
    assert set(traces) == {"efficientnet", "found family", "plain", "resnet", "Pareto front"}
    ladder = traces["found family"]
    assert "lines" in ladder.mode and list(ladder.text) == ["found", "found-phi1"]  # connected, in phi order
    assert list(ladder.error_y.array) == [0.005, 0.004]
    assert list(traces["Pareto front"].x) == [7e6, 14e6, 140e6]
    assert figure.layout.xaxis.type == "log"
    assert list(F.frontier(bench, "latency_ms").data[-1].x) == [0.6, 1.5]  # the front moves with the axis
    with pytest.raises(ValueError):
        F.frontier(bench, "flops")


def test_app_frontier_page(monkeypatch: pytest.MonkeyPatch, results: Path) -> None:
    at = open_app(monkeypatch, results, "Frontier")
    assert at.title[0].value == "Frontier" and titles(at) == ["Frontier on your data"]
    table = at.dataframe[0].value
    assert list(table["label"]) == ["found", "efficientnet-b0", "found-phi1", "plain-cnn", "resnet18"]
    at.radio(key="frontier_x").set_value("params").run()
    assert not at.exception and "parameters" in charts(at)[0]["layout"]["xaxis"]["title"]["text"]


def test_app_frontier_page_without_a_bench_says_what_to_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    at = open_app(monkeypatch, tmp_path, "Frontier")
    assert any("scaler bench" in i.value for i in at.info)


def test_app_runs_page(monkeypatch: pytest.MonkeyPatch, results: Path) -> None:
    at = open_app(monkeypatch, results, "Runs")
    assert titles(at) == ["Accuracy vs MACs", "Training curves of the selected runs"]
    assert any("ladder" in t.get("name", "") for t in charts(at)[0]["data"])
    assert len(at.dataframe[0].value) == 7
    # the curves of the five best runs with a history (the diverged one has no accuracy to rank by)
    picked = at.multiselect(key="runs_curves_pick").value
    assert len(picked) == 5 and picked[0] == "b0-compound-2x"
    curves = [t for t in charts(at)[1]["data"] if t.get("xaxis", "x") == "x"]
    assert len(curves) == 5 and max(len(values(t["x"])) for t in curves) == 4
    at.multiselect(key="runs_curves_pick").set_value(["b0-phi1"]).run()
    assert not at.exception
    (curve,) = [t for t in charts(at)[1]["data"] if t.get("xaxis", "x") == "x"]
    assert values(curve["x"]) == [1, 2, 3] and values(curve["y"])[-1] == pytest.approx(0.895)
    at.radio(key="runs_x").set_value("latency_ms").run()
    assert not at.exception and titles(at)[0] == "Accuracy vs latency"
    at.radio(key="runs_x").set_value("params").run()
    at.multiselect(key="runs_kinds").set_value(["search"]).run()
    assert not at.exception and titles(at)[0] == "Accuracy vs parameters"
    assert at.dataframe[0].value["kind"].tolist() == ["search"]


def test_app_search_page(monkeypatch: pytest.MonkeyPatch, results: Path) -> None:
    at = open_app(monkeypatch, results, "Search")
    assert at.selectbox(key="search_study").value in (SO_STUDY, MO_STUDY)
    at.selectbox(key="search_study").set_value(SO_STUDY).run()
    assert not at.exception
    assert titles(at) == ["Optimisation history", "Pareto front: validation accuracy vs MACs",
                          "Intermediate values (pruning reports)", "Parameter importances"]
    assert at.toggle(key="search_live").value is False  # nothing running
    assert "model " in at.code[0].value  # the DSL text of the best trial
    trials = at.selectbox(key=f"search_trial_{SO_STUDY}").options
    at.selectbox(key=f"search_trial_{SO_STUDY}").set_value(trials[-1]).run()
    assert not at.exception and "model " in at.code[0].value
    at.toggle(key="search_live").set_value(True).run()  # live refresh: a fragment with run_every
    assert not at.exception and any("live: refreshed" in c.value for c in at.caption)
    at.selectbox(key="search_study").set_value(MO_STUDY).run()
    assert not at.exception
    assert "Pareto front: val_acc vs macs" in titles(at)
    at.selectbox(key="search_objective").set_value(1).run()
    assert not at.exception
    history = charts(at)[0]
    assert "macs" in history["layout"]["yaxis"]["title"]["text"]


def test_app_scaling_page(monkeypatch: pytest.MonkeyPatch, results: Path) -> None:
    at = open_app(monkeypatch, results, "Scaling")
    assert titles(at) == ["Compound-scaling grid at φ = 1 (accuracy)",
                          "Scaled ladders: derived vs published coefficients",
                          "Training curves of the trained rungs",
                          "Compound vs single-dimension scaling (fitted laws, 95% bands)",
                          "Training curves of the comparison's cells (every seed)"]
    rungs, cells = charts(at)[2], charts(at)[4]
    assert [t["name"] for t in rungs["data"] if t.get("showlegend") is not False] == ["derived"]
    acc = {t["hovertemplate"].split("</b>")[0][3:]: t for t in cells["data"] if t.get("xaxis", "x") == "x"}
    assert set(acc) == {"compound 2×, seed 0", "depth 2×, seed 0"}
    assert acc["depth 2×, seed 0"]["line"]["color"] == F.STRATEGY_COLORS["depth"]
    assert values(acc["compound 2×, seed 0"]["x"]) == [1, 2, 3, 4]
    assert [m.value for m in at.metric][:3] == ["1.200", "1.100", f"{math.sqrt(2 / (1.2 * 1.21)):.3f}"]
    assert at.selectbox(key="scale_base").value == BASE


def compare_table(at: AppTest) -> pd.DataFrame:
    return next(d.value for d in at.dataframe if "val acc" in d.value.columns)


def test_app_compare_table_with_and_without_seeds(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                  results: Path) -> None:
    at = open_app(monkeypatch, seeded_compare(tmp_path), "Scaling")
    table = compare_table(at)
    assert {"seeds", "vs compound (95% CI)", "verdict"} <= set(table.columns)
    depth = table[(table["strategy"] == "depth") & (table["MACs / base"] == 2.0)].iloc[0]
    assert depth["val acc"].endswith("± 0.80%") and depth["verdict"] == "worse"
    assert depth["vs compound (95% CI)"] == "-1.00% [-1.40%, -0.60%]"
    assert table.loc[table["strategy"] == "compound", "verdict"].eq("reference").all()
    assert any("paired by seed" in c.value for c in at.caption)
    at = open_app(monkeypatch, results, "Scaling")  # the four columns written before seeds
    table = compare_table(at)
    assert "verdict" not in table and not table["val acc"].str.contains("±").any()


def test_app_inspect_page(monkeypatch: pytest.MonkeyPatch, results: Path) -> None:
    at = open_app(monkeypatch, results, "Inspect")
    assert at.selectbox(key="inspect_model").value == "efficientnet-b0"
    assert titles(at)[0].startswith("efficientnet-b0 at 224 px")
    assert at.metric[0].value == "5.29 M"
    assert "model efficientnet-b0" in at.code[0].value
    at.selectbox(key="inspect_model").set_value("resnet50").run()
    at.slider(key="inspect_res_resnet50").set_value(128).run()
    at.number_input(key="inspect_width").set_value(0.5).run()
    assert not at.exception
    assert titles(at)[0].startswith("resnet50 at 128 px, width ×0.5")
    assert "width 0.5" in at.code[0].value
    at.radio(key="inspect_source").set_value("results").run()
    assert not at.exception
    assert at.selectbox(key="inspect_found").value.endswith(".arch") and len(charts(at)) == 1
    at.selectbox(key="inspect_found").set_value(f"scale/{BASE}/b0-phi3.arch").run()
    assert not at.exception and titles(at)[0].startswith("b0-phi3 at 48 px")
    at.radio(key="inspect_source").set_value("file").run()
    at.text_input(key="inspect_path").input(str(ROOT / "search_spaces" / "mbconv.arch")).run()
    assert not at.exception and "search space" in at.error[0].value
    at.text_input(key="inspect_path").input("nowhere/missing.arch").run()
    assert not at.exception and at.error and not charts(at)


def test_app_never_writes(monkeypatch: pytest.MonkeyPatch, results: Path) -> None:
    before = snapshot(results)
    for page in ("Zoo", "Runs", "Search", "Scaling", "Robustness", "Inspect"):
        open_app(monkeypatch, results, page)
    assert snapshot(results) == before


def test_app_empty_results(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    expected = {"Zoo": 2, "Inspect": 1, "Runs": 0, "Search": 0, "Scaling": 0, "Robustness": 0}
    hints = {"Runs": "scaler train", "Search": "scaler search --space mbconv", "Scaling": "scaler scale --phi 3",
             "Robustness": "scaler robustness"}
    for page, n in expected.items():
        at = open_app(monkeypatch, tmp_path, page)
        assert len(charts(at)) == n, page
        if page in hints:
            assert any(hints[page] in i.value for i in at.info), page
    assert list(tmp_path.iterdir()) == []  # no storage file created


def test_app_corrupt_files_warn_and_pages_still_work(monkeypatch: pytest.MonkeyPatch,
                                                     corrupt_results: Path) -> None:
    at = open_app(monkeypatch, corrupt_results, "Runs")
    assert any("half-written" in w.value for w in at.warning)
    assert titles(at)[0] == "Accuracy vs MACs" and len(at.dataframe[0].value) == 7
    at = open_app(monkeypatch, corrupt_results, "Scaling")
    assert any("compare.csv" in w.value for w in at.warning)
    assert len(charts(at)) == 3 and any("scaler scale --compare" in i.value for i in at.info)


# ----------------------------------------------------------------------------- scaler dashboard

def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_answers(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _alive_in_session(sid: int) -> list[str]:
    """The processes (not zombies) of session ``sid``: pid and command line."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[3]) == sid:  # state, ppid, pgrp, session
            alive.append(f"{stat.parent.name}: {cmdline}")
    return alive


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_sigterm_to_scaler_dashboard_stops_the_server_and_frees_the_port(tmp_path: Path) -> None:
    """What a supervisor or a container stop sends: SIGTERM to ``scaler dashboard`` alone (not its group)."""
    port = _free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    env.pop("SCALER_STORAGE", None)
    log = tmp_path / "dashboard.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "scaler", "dashboard", "--results", str(tmp_path / "results"),
                                 "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)  # its own session: every process it starts is found by sid
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, f"scaler dashboard exited with {proc.returncode}:\n{log.read_text()}"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, f"no answer on port {port} within 60 s:\n{log.read_text()}"
            time.sleep(0.3)
        assert len(_alive_in_session(proc.pid)) >= 2  # the command and its server
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(timeout=20) == 0, log.read_text()  # the server stopped as asked: a clean exit
        deadline = time.monotonic() + 5
        while (_alive_in_session(proc.pid) or _port_answers(port)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _alive_in_session(proc.pid), "processes outlived scaler dashboard"
        assert not _port_answers(port), f"port {port} still answers after scaler dashboard ended"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # whatever survived a failed run
        proc.wait(timeout=10)
