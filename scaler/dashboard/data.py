"""Data for the dashboard: the zoo, results/ and the studies as pandas DataFrames.

Every loader only reads. A loader that meets a corrupt, half-written or foreign file skips it and
returns a warning string naming it, so that a page can show the warning and go on with the rest;
only programming errors raise. Nothing here imports plotly or streamlit, nor anything that trains
or writes (``tests/test_architecture.py`` follows the imports).

Studies come from ``scaler.study.reader`` (the one reader of Optuna's storage: a bulk read of its
tables, read-only, with Optuna's API as the fallback) as long tables; this module widens them to a
row per trial, flags the Pareto front and asks the reader for parameter importances.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from scaler.results import record, schema
from scaler.stats import pareto_mask
from scaler.study import reader
from scaler.study.storage import mask_url, sqlite_path

#: A published parameter count that differs from the counted one by more than this is flagged.
PARAMS_TOLERANCE = 0.05

#: What a page tells the user to run when a kind of result does not exist yet.
HINTS = {
    "runs": "no runs yet: run `scaler train efficientnet-b0` (or `scaler search --space mbconv`)",
    "search": "no search yet: run `scaler search --space mbconv`",
    "scale": "no scaling results yet: run `scaler scale --phi 3`",
    "grid": "no coefficient grid yet: `scaler scale --phi 1` runs the alpha/beta/gamma grid search",
    "ladder": "no ladder yet: run `scaler scale --ladder`",
    "compare": "no scaling comparison yet: run `scaler scale --compare`",
    "bench": "no bench yet: run `scaler bench` (zoo models and the found family on your data, 3 seeds each)",
    "robustness": "no robustness comparison yet: run `scaler robustness RUN... --reference RUN` "
                  "(trained runs under corruptions, scored against a reference)",
    "student": "no self-training yet: run `scaler student` (after `scaler scale --phi 3`)",
}

ZOO_COLUMNS = [
    "name", "family", "resolution", "params", "macs", "acts", "top1", "top5", "published_params_m",
    "year", "extra_data", "source", "params_m", "gmacs", "params_rel_diff", "params_disagree",
]

_RUN_EXTRA = ("study", "trial", "phi", "ladder", "strategy", "stage", "base", "mac_ratio", "seed")
#: The Runs table: the run record's fields, its data set's name, the ``extra`` fields it is filtered on
#: (a ``scaler scale`` training's ``stage``, ``base``, ...), its folder and its per-epoch ``history``.
RUN_COLUMNS = [*record.TABLE, "dataset", *_RUN_EXTRA, "path", "history"]
_RUN_NUMERIC = ["resolution", "params", "macs", "acts", "val_acc", "test_acc", "latency_ms",
                "train_time_s", "images_per_s", "trial", "phi", "mac_ratio", "seed"]
#: The long table of per-epoch curves (``history_frame``).
HISTORY_COLUMNS = ["run_id", "label", "group", "epoch", "val_acc", "val_loss", "train_loss", "lr"]

#: User attributes every search trial carries (scaler.search); others are kept too.
TRIAL_ATTRS = ["spec", "params", "macs", "acts", "latency_ms", "val_acc", "status"]


# --------------------------------------------------------------------------------------------- zoo

def zoo_frame() -> tuple[pd.DataFrame, list[str]]:
    """Every fixed zoo model with counted and published figures, and where the two disagree.

    ``params_disagree`` is true where a published parameter count differs from the exact counted
    one by more than ``PARAMS_TOLERANCE`` (both are kept: ``params`` counted, ``published_params_m``
    as published, in millions).
    """
    from scaler.errors import ScalerError
    from scaler.zoo import zoo_table

    try:
        rows = zoo_table()
    except (ScalerError, OSError, ValueError) as exc:
        return pd.DataFrame(columns=ZOO_COLUMNS), [f"the zoo could not be read: {exc}"]
    df = pd.DataFrame(rows)
    for col in ZOO_COLUMNS:
        if col not in df:
            df[col] = np.nan
    df["year"] = pd.to_numeric(df["year"], errors="coerce").astype("Int64")
    df["params_m"] = df["params"] / 1e6
    df["gmacs"] = df["macs"] / 1e9
    published = pd.to_numeric(df["published_params_m"], errors="coerce")
    rel = (published - df["params_m"]).abs() / df["params_m"]
    df["params_rel_diff"] = rel
    df["params_disagree"] = (rel > PARAMS_TOLERANCE).fillna(False).astype(bool)
    return df[ZOO_COLUMNS], []


def zoo_ladder(zoo: pd.DataFrame) -> pd.DataFrame:
    """The zoo's MBConv ladder (EfficientNet-B0 ... L2) with published top-1, by MACs."""
    mask = zoo["name"].astype(str).str.match(r"efficientnet-(b\d+|l\d+)$")
    ladder = zoo[mask].sort_values("macs").copy()
    ladder["short"] = ladder["name"].str.replace("efficientnet-", "", regex=False).str.upper()
    return ladder


# -------------------------------------------------------------------------------------------- runs

def runs_frame(root: str | Path | None = None) -> tuple[pd.DataFrame, list[str]]:
    """Every run record under ``root/runs`` as one row (see ``scaler.results``), and warnings.

    A record that is not valid JSON, not an object, or lacks name/params/MACs is skipped with a
    warning; numbers that do not parse become NaN.
    """
    from scaler.results import load_runs

    try:
        records, warnings = load_runs(root)
    except OSError as exc:
        return pd.DataFrame(columns=RUN_COLUMNS), [f"cannot read the runs folder: {exc}"]
    rows = []
    for rec in records:
        where = f"{rec.get('path', '?')}/{schema.RUN_RECORD}"
        missing = [k for k in schema.RUN_REQUIRED if rec.get(k) is None]
        if missing:
            warnings.append(f"skipped {where}: missing {', '.join(missing)}")
            continue
        version = rec.get("schema_version")
        if isinstance(version, int) and version > schema.SCHEMA_VERSION:
            warnings.append(f"{where}: schema version {version} is newer than this dashboard's "
                            f"({schema.SCHEMA_VERSION}); fields may be missing")
        extra = rec.get("extra") if isinstance(rec.get("extra"), dict) else {}
        data = rec.get("data") if isinstance(rec.get("data"), dict) else {}
        row = {col: rec.get(col) for col in RUN_COLUMNS}
        row["run_id"] = rec.get("run_id") or Path(str(rec.get("path", ""))).name
        row["dataset"] = data.get("name")
        for key in _RUN_EXTRA:
            row[key] = extra.get(key, rec.get(key))
        row["history"] = [h for h in rec.get("history") or [] if isinstance(h, dict)]
        rows.append(row)
    df = pd.DataFrame(rows, columns=RUN_COLUMNS)
    for col in _RUN_NUMERIC:
        df[col] = pd.to_numeric(df[col], errors="coerce")
    for col in ("kind", "status", "dataset", "family"):
        df[col] = df[col].fillna("unknown").astype(str)
    return df, warnings


def history_frame(runs: pd.DataFrame, label: str = "name", group: str = "kind") -> pd.DataFrame:
    """The per-epoch history of each run in ``runs`` (a ``runs_frame``) as one long table
    (``HISTORY_COLUMNS``), its lines named by the ``label`` column and grouped (one colour) by ``group``."""
    rows = []
    for run in runs.to_dict("records"):
        for h in run.get("history") or []:
            rows.append({"run_id": run["run_id"], "label": str(run[label]), "group": str(run[group]),
                         **{k: h.get(k) for k in HISTORY_COLUMNS[3:]}})
    df = pd.DataFrame(rows, columns=HISTORY_COLUMNS)
    for col in HISTORY_COLUMNS[3:]:
        df[col] = pd.to_numeric(df[col], errors="coerce")
    return df


def scale_runs(runs: pd.DataFrame, base: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The trainings of one base's ``scaler scale`` (runs of kind ``scale`` whose ``base`` is it): the
    comparison's cells (every seed; ``label`` "strategy ratio×, seed n") and the trained ladder rungs
    (``label`` their model name), each with ``group``: the strategy, or the ladder (derived, published)."""
    mine = runs[(runs["kind"] == "scale") & (runs["base"].astype(str) == base)]
    cells = mine[mine["stage"] == "compare"].copy()
    cells["group"] = cells["strategy"].fillna("baseline").astype(str)
    cells["label"] = [f"{g} {r:g}×, seed {s:g}" if pd.notna(r) and pd.notna(s) else f"{g} ({n})"
                      for g, r, s, n in zip(cells["group"], cells["mac_ratio"], cells["seed"], cells["name"],
                                            strict=True)]
    rungs = mine[mine["stage"] == "train"].copy()
    rungs["group"] = rungs["ladder"].fillna("base").astype(str)
    rungs["label"] = rungs["name"].astype(str)
    return cells.sort_values(["group", "mac_ratio"]), rungs.sort_values(["group", "phi"])


# ----------------------------------------------------------------------------------------- studies

@dataclass
class StudyData:
    """One Optuna study, flattened for plotting.

    ``trials``: one row per trial: ``number``, ``state``, ``datetime_start``, ``datetime_complete``,
    ``duration_s``, ``value_0`` ... (objective values, labelled by ``objectives``), ``param_<name>``
    (the sampled choices), the user attributes (``spec``, ``params``, ``macs``, ``acts``,
    ``latency_ms``, ``val_acc``, ``status``, ...) and ``pareto`` (non-dominated among the complete
    trials: by the objectives when there are several, else by val_acc up and MACs down).
    ``intermediate``: ``number``, ``step``, ``value``, ``state`` (the pruning reports).
    """

    name: str
    directions: list[str]
    objectives: list[str]
    trials: pd.DataFrame
    intermediate: pd.DataFrame
    param_names: list[str]
    user_attrs: dict = field(default_factory=dict)
    importances: pd.DataFrame | None = None
    importance_note: str | None = None
    loader: str = "sql"
    #: name -> Optuna distribution of each sampled parameter (None where trials disagree on it)
    param_dists: dict = field(default_factory=dict)

    def complete_token(self) -> tuple:
        """Changes when a trial completes: a cache key for what only complete trials decide."""
        done = self.trials[self.trials["state"] == "COMPLETE"]
        last = done["datetime_complete"].max() if len(done) else None
        return len(done), str(last)

    @property
    def multi_objective(self) -> bool:
        return len(self.directions) > 1

    def state_counts(self) -> dict[str, int]:
        return {str(k): int(v) for k, v in self.trials["state"].value_counts().items()}

    def pareto_axes(self) -> tuple[str, str, str, str] | None:
        """(x column, y column, x label, y label) of the Pareto plot, or None if it has none."""
        if self.multi_objective:
            return "value_1", "value_0", self.objectives[1], self.objectives[0]
        cols = self.trials.columns
        if "macs" in cols and "val_acc" in cols and self.trials["val_acc"].notna().any():
            return "macs", "val_acc", "MACs", "validation accuracy"
        return None

    def best_trials(self, n: int = 10, objective: int = 0) -> pd.DataFrame:
        """The Pareto trials (several objectives) or the n best complete trials by one objective."""
        done = self.trials[self.trials["state"] == "COMPLETE"]
        col = f"value_{objective}"
        if self.multi_objective:
            best = done[done["pareto"]]
        else:
            best = done.dropna(subset=[col])
        ascending = self.directions[objective] == "minimize"
        return best.sort_values(col, ascending=ascending).head(n)


def storage_exists(url: str) -> bool:
    """False for a SQLite storage whose file does not exist yet (nothing searched); else True."""
    path = sqlite_path(url)
    return path is None or Path(path).is_file()


def list_studies(url: str) -> tuple[pd.DataFrame, list[str]]:
    """The studies in a storage: name, directions, objective names and trial counts by state."""
    if not storage_exists(url):
        return pd.DataFrame(columns=reader.STUDY_LIST_COLUMNS), []
    try:
        return reader.list_studies(url), []
    except reader.UnreadableStorage as exc:  # an unreadable storage is a warning, not a crash
        return pd.DataFrame(columns=reader.STUDY_LIST_COLUMNS), [f"cannot read the Optuna storage {mask_url(url)}: {exc}"]


def load_study(url: str, name: str, *, importance: bool = True) -> tuple[StudyData | None, list[str]]:
    """One study's trials, pruning reports, Pareto flags and parameter importances.

    Returns (None, warnings) when the storage or the study cannot be read. Importances come from
    ``study_importances``; ``importance=False`` skips them.
    """
    if not storage_exists(url):
        return None, [f"no Optuna storage at {mask_url(url)}"]
    try:
        tables = reader.read_study(url, name)
    except KeyError:
        return None, [f"no study named {name!r} in {mask_url(url)}"]
    except reader.UnreadableStorage as exc:
        return None, [f"cannot read study {name!r} from {mask_url(url)}: {exc}"]
    data = _assemble(name, tables)
    if importance:
        data.importances, data.importance_note = study_importances(data)
    return data, []


def _assemble(name: str, long: reader.StudyTables) -> StudyData:
    """Long tables -> one wide row per trial, the pruning reports, and Pareto flags."""
    directions = long.directions
    n_obj = len(directions)
    base = long.trials.copy()
    base["duration_s"] = (base["datetime_complete"] - base["datetime_start"]).dt.total_seconds()
    base = base.set_index("trial_id")

    values = long.values
    for i in range(n_obj):
        col = values[values["objective"] == i].set_index("trial_id")["value"]
        base[f"value_{i}"] = col.reindex(base.index).astype(float)

    params = long.params
    param_names = sorted(params["name"].unique().tolist()) if len(params) else []
    param_dists = {}
    for pname, codes in params.groupby("name")["dist"].unique().items():
        param_dists[str(pname)] = long.dists[int(codes[0])] if len(codes) == 1 else None
    if param_names:
        wide = params.pivot(index="trial_id", columns="name", values="value").infer_objects()
        wide.columns = [f"param_{c}" for c in wide.columns]
        base = base.join(wide)

    for key, column in long.attrs.items():
        if key not in base.columns:
            base[key] = column.reindex(base.index)
    for col in TRIAL_ATTRS:
        if col not in base:
            base[col] = np.nan
    for col in ("params", "macs", "acts", "latency_ms", "val_acc"):
        base[col] = pd.to_numeric(base[col], errors="coerce")
    base = base.reset_index().sort_values("number").reset_index(drop=True)

    data = StudyData(name=name, directions=directions, objectives=long.objectives,
                     trials=base, intermediate=pd.DataFrame(), param_names=param_names,
                     user_attrs=long.user_attrs, loader=long.loader, param_dists=param_dists)
    base["pareto"] = False
    axes = data.pareto_axes()
    if axes is not None:
        done = base["state"] == "COMPLETE"
        if data.multi_objective:
            cols = [f"value_{i}" for i in range(n_obj)]
            maximize = [d == "maximize" for d in directions]
        else:
            cols, maximize = ["macs", "val_acc"], [False, True]
        mask = pareto_mask(base.loc[done, cols].to_numpy(dtype=float), maximize)
        base.loc[done[done].index[mask], "pareto"] = True

    inter = long.intermediate.merge(base[["trial_id", "number", "state"]], on="trial_id", how="inner")
    inter["step"] = inter["step"].astype("int64")
    data.intermediate = inter[["number", "step", "value", "state"]].sort_values(["number", "step"]).reset_index(drop=True)
    data.trials = base.drop(columns=["trial_id"])
    return data


def study_importances(study: StudyData) -> tuple[pd.DataFrame | None, str | None]:
    """Parameter importances over the study's complete trials (``scaler.study.reader.param_importances``:
    PED-ANOVA, no second read of the storage), or a note saying why there are none."""
    return reader.param_importances(study.trials, study.directions, study.param_dists)


# ------------------------------------------------------------------------------------------- scale

@dataclass
class ScaleData:
    """One base's scaling results (``results/scale/<base>/``); a missing or unreadable part is None."""

    base: str
    grid: pd.DataFrame | None = None
    ladder: pd.DataFrame | None = None
    compare: pd.DataFrame | None = None
    fits: dict[str, dict[str, float]] | None = None

    @property
    def empty(self) -> bool:
        return self.grid is None and self.ladder is None and self.compare is None and not self.fits


def scale_bases(root: str | Path | None = None) -> list[str]:
    """The bases that have a folder under ``results/scale/`` (temporary folders excluded)."""
    from scaler.results import results_root

    folder = results_root(root) / schema.SCALE
    try:
        return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError:
        return []


def bench_names(root: str | Path | None = None) -> list[str]:
    """The benches that have a table under ``results/bench/``."""
    from scaler.results import results_root

    folder = results_root(root) / schema.BENCH_DIR
    try:
        return sorted(p.name for p in folder.iterdir() if (p / schema.BENCH.file).is_file())
    except OSError:
        return []


def load_bench(root: str | Path | None, name: str) -> tuple[pd.DataFrame | None, list[str]]:
    """One bench's table (``scaler bench``): a row per model with accuracy mean/std over seeds."""
    from scaler.results import results_root

    df, warnings = read_table(results_root(root) / schema.BENCH_DIR / name / schema.BENCH.file, schema.BENCH.required,
                              schema.BENCH.numeric)
    if df is not None:
        for col in ("pareto", "is_reference"):
            df[col] = df[col].astype(str).str.lower().eq("true") if col in df else False
    return df, warnings


def student_names(root: str | Path | None = None) -> list[str]:
    """The self-trainings that have a table under ``results/student/``."""
    from scaler.results import results_root

    folder = results_root(root) / schema.STUDENT
    try:
        return sorted(p.name for p in folder.iterdir() if (p / schema.STUDENT_TABLE.file).is_file())
    except OSError:
        return []


def load_student(root: str | Path | None, name: str) -> tuple[pd.DataFrame | None, list[str]]:
    """One self-training's table (``scaler student``): a row per iteration and role (teacher, student,
    supervised, noiseless), accuracies over seeds, the student against each row."""
    from scaler.results import results_root

    folder = results_root(root) / schema.STUDENT / name
    return read_table(folder / schema.STUDENT_TABLE.file, schema.STUDENT_TABLE.required, schema.STUDENT_TABLE.numeric)


def read_table(path: Path, required: Iterable[str], numeric: Iterable[str]) -> tuple[pd.DataFrame | None, list[str]]:
    """A CSV file with the required columns, numbers parsed; (None, []) when it does not exist.

    A file that does not parse or lacks a required column is skipped with a warning; rows whose
    required numbers do not parse are dropped with a warning.
    """
    if not path.is_file():
        return None, []
    try:
        df = pd.read_csv(path)
    except (OSError, UnicodeDecodeError, ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        return None, [f"skipped {path}: {reader.short_error(exc)}"]
    required = list(required)
    missing = [c for c in required if c not in df.columns]
    if missing:
        return None, [f"skipped {path}: missing column(s) {', '.join(missing)}"]
    for col in numeric:
        if col in df.columns:
            df[col] = pd.to_numeric(df[col], errors="coerce")
    must = [c for c in required if c in numeric]
    bad = df[must].isna().any(axis=1) if must else pd.Series(False, index=df.index)
    warnings = []
    if bad.any():
        warnings.append(f"{path}: dropped {int(bad.sum())} row(s) with unreadable numbers")
        df = df[~bad].reset_index(drop=True)
    return df, warnings


def read_fits(path: Path) -> tuple[dict[str, dict[str, float]] | None, list[str]]:
    """``fits.json``: per strategy the law error = a * x^-b + c and its standard errors; ``x`` says
    whether x is MACs or MACs / ``m0`` (the base's MACs, when given)."""
    from scaler.results import read_json

    if not path.is_file():
        return None, []
    raw, warning = read_json(path)
    if warning:
        return None, [warning]
    fits, warnings = {}, []
    for strategy, fit in raw.items():
        try:
            entry = {k: float(fit[k]) for k in ("a", "b", "c")}
            entry.update({f"{k}_std": float(fit.get(f"{k}_std") or 0.0) for k in ("a", "b", "c")})
        except (TypeError, KeyError, ValueError, AttributeError):
            warnings.append(f"{path}: skipped the fit of {strategy!r} (needs numbers a, b, c)")
            continue
        if not all(math.isfinite(v) for v in entry.values()):
            warnings.append(f"{path}: skipped the fit of {strategy!r} (not finite)")
            continue
        if isinstance(fit, dict) and fit.get("x") in ("macs", "mac_ratio"):
            entry["x"] = fit["x"]
        m0 = fit.get("m0") if isinstance(fit, dict) else None
        if isinstance(m0, (int, float)) and math.isfinite(m0) and m0 > 0:
            entry["m0"] = float(m0)  # the MACs that x = 1 stands for (the base's)
        fits[str(strategy)] = entry
    return fits, warnings


def load_scale(root: str | Path | None, base: str) -> tuple[ScaleData, list[str]]:
    """grid.csv, ladder.csv, compare.csv and fits.json of one base, each tolerant of bad files."""
    from scaler.results import results_root

    folder = results_root(root) / schema.SCALE / base
    warnings: list[str] = []
    grid, w = read_table(folder / schema.GRID.file, schema.GRID.required, schema.GRID.numeric)
    warnings += w
    ladder, w = read_table(folder / schema.LADDER.file, schema.LADDER.required, schema.LADDER.numeric)
    warnings += w
    if ladder is not None:
        ladder["label"] = ladder["label"].astype(str).str.strip().str.lower()
    compare, w = read_table(folder / schema.COMPARE.file, schema.COMPARE.required, schema.COMPARE.numeric)
    warnings += w
    if compare is not None:
        compare["strategy"] = compare["strategy"].astype(str).str.strip().str.lower()
    fits, w = read_fits(folder / schema.FITS)
    warnings += w
    return ScaleData(base, grid, ladder, compare, fits), warnings


# -------------------------------------------------------------------------------------- robustness

#: The per-model table of a robustness comparison (``load_robustness``).
ROBUSTNESS_MODEL_COLUMNS = ["run_id", "label", "is_reference", "macs", "params", "clean_error", "mean_error", "mce",
                            "relative_mce", "mfr"]
ROBUSTNESS_ERROR_COLUMNS = ["run_id", "label", "corruption", "severity", "error"]


@dataclass
class RobustnessData:
    """One ``scaler robustness`` comparison (``results/robustness/<name>/summary.json``): ``models``, one
    row per model (``ROBUSTNESS_MODEL_COLUMNS``; the headline scores are those of the corruptions its
    training did not apply, MACs from its run record), and ``errors``, the test error per model,
    corruption and severity (``ROBUSTNESS_ERROR_COLUMNS``)."""

    name: str
    reference: str
    settings: dict
    models: pd.DataFrame
    errors: pd.DataFrame


def robustness_names(root: str | Path | None = None) -> list[str]:
    """The comparisons that have a summary under ``results/robustness/``."""
    from scaler.results import results_root

    folder = results_root(root) / schema.ROBUSTNESS
    try:
        return sorted(p.name for p in folder.iterdir() if (p / schema.ROBUSTNESS_SUMMARY).is_file())
    except OSError:
        return []


def _cached_result(folder: Path, run_id: str, settings: dict) -> dict | None:
    """A run's result kept in the comparison's cache with the same settings (the reference's, when it
    was not among the runs compared), or None."""
    from scaler.results import read_json

    for path in sorted((folder / schema.ROBUSTNESS_CACHE).glob("*.json")):
        cached, _ = read_json(path)
        try:
            key = json.loads(cached["key"]) if cached else {}
        except (TypeError, KeyError, ValueError):
            continue
        if key.get("run") == run_id and all(key.get(k) == v for k, v in settings.items()):
            return cached.get("result") if isinstance(cached.get("result"), dict) else None
    return None


def load_robustness(root: str | Path | None, name: str,
                    runs: pd.DataFrame) -> tuple[RobustnessData | None, list[str]]:
    """One robustness comparison with each model's MACs and params from ``runs`` (a ``runs_frame``);
    (None, warnings) when its summary cannot be read. A model whose numbers do not parse is skipped with
    a warning; the reference, when it was not among the runs compared, is added with mCE 1 (its
    definition) and its errors from the comparison's cache."""
    from scaler.results import read_json, results_root

    folder = results_root(root) / schema.ROBUSTNESS / name
    raw, warning = read_json(folder / schema.ROBUSTNESS_SUMMARY)
    if warning:
        return None, [warning]
    reference = str(raw.get("reference"))
    settings = {k: raw.get(k) for k in ("seed", "corruptions", "severities", "frames")}
    entries = [e for e in raw.get("runs") or [] if isinstance(e, dict)]
    warnings: list[str] = []
    if reference not in {str(e.get("run")) for e in entries}:
        cached = _cached_result(folder, reference, settings)
        entries.append({"run": reference, "result": cached or {}, "summary": {"unseen": {"mce": 1.0}}})
    models, errors = [], []
    for entry in entries:
        run_id, result, summary = str(entry.get("run")), entry.get("result"), entry.get("summary")
        try:
            unseen = summary["unseen"]
            models.append({"run_id": run_id, "is_reference": run_id == reference,
                           "clean_error": result.get("clean_error"), "mean_error": unseen.get("mean_error"),
                           "mce": unseen.get("mce"), "relative_mce": unseen.get("relative_mce"),
                           "mfr": unseen.get("mfr")})
            errors += [{"run_id": run_id, "corruption": str(c), "severity": int(sev), "error": e}
                       for c, by in (result.get("errors") or {}).items() for sev, e in by.items()]
        except (TypeError, KeyError, ValueError, AttributeError):
            warnings.append(f"{folder / schema.ROBUSTNESS_SUMMARY}: skipped run {run_id!r} (unreadable numbers)")
    table = pd.DataFrame(models, columns=[c for c in ROBUSTNESS_MODEL_COLUMNS if c not in ("label", "macs", "params")])
    known = runs.drop_duplicates("run_id").set_index("run_id")
    table["macs"] = table["run_id"].map(known["macs"]) if len(known) else np.nan
    table["params"] = table["run_id"].map(known["params"]) if len(known) else np.nan
    names = table["run_id"].map(known["name"]) if len(known) else pd.Series(np.nan, index=table.index)
    names = names.fillna(table["run_id"])
    table["label"] = names.where(~names.duplicated(keep=False), table["run_id"])  # two runs of one model: their ids
    for col in ("macs", "params", "clean_error", "mean_error", "mce", "relative_mce", "mfr"):
        table[col] = pd.to_numeric(table[col], errors="coerce")
    missing = table.loc[table["macs"].isna(), "run_id"].tolist()
    if missing:
        warnings.append(f"no run record under runs/ for {', '.join(missing)}: not on the mCE chart")
    errs = pd.DataFrame(errors, columns=[c for c in ROBUSTNESS_ERROR_COLUMNS if c != "label"])
    errs["error"] = pd.to_numeric(errs["error"], errors="coerce")
    errs["label"] = errs["run_id"].map(table.set_index("run_id")["label"])
    return RobustnessData(name, reference, settings, table[ROBUSTNESS_MODEL_COLUMNS],
                          errs[ROBUSTNESS_ERROR_COLUMNS]), warnings


# ----------------------------------------------------------------------------------------- inspect

def arch_files(root: str | Path | None = None) -> list[str]:
    """DSL files under results/ (found and generated models), relative to the results folder."""
    from scaler.results import results_root

    base = results_root(root)
    try:
        files = [p for p in base.rglob("*.arch") if not any(part.startswith(".") for part in p.relative_to(base).parts)]
    except OSError:
        return []
    return sorted(str(p.relative_to(base)) for p in files)


def inspect_model(spec: Any, resolution: int | None = None, width: float = 1.0,
                  depth: float = 1.0) -> tuple[Any, Any, pd.DataFrame]:
    """(scaled Spec, its Complexity, one row per DSL layer line) for the Inspect page.

    Raises ScalerError for bad factors or a resolution too small for the network.
    """
    from scaler.nn.complexity import complexity

    scaled = spec.scale(depth=depth, width=width, resolution=resolution)
    cx = complexity(scaled)
    seen: dict[str, int] = {}
    rows = []
    for lc in cx.layers:
        seen[lc.part] = seen.get(lc.part, 0) + 1
        label = f"{lc.part} {seen[lc.part]}: {lc.block}" + (f" x{lc.repeats}" if lc.repeats > 1 else "")
        rows.append({"label": label, "part": lc.part, "block": lc.block, "repeats": lc.repeats,
                     "shape": f"{lc.shape_out.c}x{lc.shape_out.h}x{lc.shape_out.w}",
                     "params": lc.params, "macs": lc.macs, "acts": lc.acts})
    return scaled, cx, pd.DataFrame(rows, columns=["label", "part", "block", "repeats", "shape", "params", "macs", "acts"])


# ------------------------------------------------------------------------------------- freshness

def files_fingerprint(paths: Iterable[Path]) -> tuple:
    """(path, mtime, size) of each existing file: a cache key that changes when a file does."""
    out = []
    for p in sorted(paths):
        try:
            st = p.stat()
        except OSError:
            continue
        out.append((str(p), st.st_mtime_ns, st.st_size))
    return tuple(out)


def runs_fingerprint(root: str | Path | None = None) -> tuple:
    from scaler.results import results_root

    return files_fingerprint((results_root(root) / schema.RUNS).glob(f"*/{schema.RUN_RECORD}"))


def scale_fingerprint(root: str | Path | None, base: str) -> tuple:
    from scaler.results import results_root

    return files_fingerprint((results_root(root) / schema.SCALE / base).glob("*"))


def storage_fingerprint(url: str) -> tuple | None:
    """For a SQLite storage, its files' fingerprint (journal included); None for a server."""
    path = sqlite_path(url)
    if path is None:
        return None
    return files_fingerprint([Path(path), Path(path + "-wal"), Path(path + "-journal")])
