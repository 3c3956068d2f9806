"""Data for the dashboard: the zoo, results/ and the Optuna storage as pandas DataFrames.

Every loader only reads. A loader that meets a corrupt, half-written or foreign file skips it and
returns a warning string naming it, so that a page can show the warning and go on with the rest;
only programming errors raise. Optuna and SQLAlchemy are imported inside the functions that need
them, and nothing here imports plotly or streamlit.

Studies are read straight from the tables of Optuna's RDB schema (a few bulk SELECTs): loading a
5,000-trial study through ``optuna.load_study(...).get_trials()`` takes about 10 s on this project's
CPU, the bulk read under half a second. When the fast path fails (another schema version, a
non-RDB storage) the loader falls back to Optuna's public API and gives the same frames.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from scaler.results import record, schema
from scaler.study.storage import frozen_trials_storage, mask_url, open_readonly, readonly_engine, sqlite_path, trial_id

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
}

ZOO_COLUMNS = [
    "name", "family", "resolution", "params", "macs", "acts", "top1", "top5", "published_params_m",
    "year", "extra_data", "source", "params_m", "gmacs", "params_rel_diff", "params_disagree",
]

_RUN_EXTRA = ("study", "trial", "phi", "ladder", "strategy")
#: The Runs table: the run record's fields, its data set's name and the ``extra`` fields it is filtered on.
RUN_COLUMNS = [*record.TABLE, "dataset", *_RUN_EXTRA, "path"]
_RUN_NUMERIC = ["resolution", "params", "macs", "acts", "val_acc", "test_acc", "latency_ms",
                "train_time_s", "images_per_s", "trial", "phi"]

#: User attributes every search trial carries (scaler.search); others are kept too.
TRIAL_ATTRS = ["spec", "params", "macs", "acts", "latency_ms", "val_acc", "status"]

STUDY_LIST_COLUMNS = ["name", "directions", "objectives", "n_trials", "complete", "pruned", "running",
                      "failed", "last_complete"]



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
        rows.append(row)
    df = pd.DataFrame(rows, columns=RUN_COLUMNS)
    for col in _RUN_NUMERIC:
        df[col] = pd.to_numeric(df[col], errors="coerce")
    for col in ("kind", "status", "dataset", "family"):
        df[col] = df[col].fillna("unknown").astype(str)
    return df, warnings


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


_TABLES = ["studies", "study_directions", "study_system_attributes", "study_user_attributes",
           "trials", "trial_values", "trial_params", "trial_user_attributes",
           "trial_intermediate_values"]


def _tables(engine) -> dict:
    import sqlalchemy

    meta = sqlalchemy.MetaData()
    meta.reflect(engine, only=_TABLES)
    return meta.tables


def _short_error(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:300]


def list_studies(url: str) -> tuple[pd.DataFrame, list[str]]:
    """The studies in a storage: name, directions, objective names and trial counts by state."""
    if not storage_exists(url):
        return pd.DataFrame(columns=STUDY_LIST_COLUMNS), []
    try:
        return _list_studies_sql(url), []
    except Exception as fast_exc:  # noqa: BLE001 - any failure of the fast path: try Optuna's API
        try:
            return _list_studies_optuna(url), []
        except Exception as exc:  # noqa: BLE001 - an unreadable storage is a warning, not a crash
            return pd.DataFrame(columns=STUDY_LIST_COLUMNS), [
                f"cannot read the Optuna storage {redact_url(url)}: {_short_error(exc)}"
                f" (direct read: {_short_error(fast_exc)})"]


#: The name the dashboard's pages and ``scaler dashboard`` print a storage URL with.
redact_url = mask_url


def _list_studies_sql(url: str) -> pd.DataFrame:
    import sqlalchemy as sa

    engine = readonly_engine(url)
    try:
        t = _tables(engine)
        with engine.connect() as conn:
            studies = conn.execute(sa.select(t["studies"].c.study_id, t["studies"].c.study_name)).all()
            dirs = conn.execute(sa.select(t["study_directions"].c.study_id, t["study_directions"].c.objective,
                                          t["study_directions"].c.direction)).all()
            sys_attrs = conn.execute(sa.select(t["study_system_attributes"].c.study_id,
                                               t["study_system_attributes"].c.value_json)
                                     .where(t["study_system_attributes"].c.key == "study:metric_names")).all()
            tr = t["trials"]
            counts = conn.execute(sa.select(tr.c.study_id, tr.c.state, sa.func.count(),
                                            sa.func.max(tr.c.datetime_complete))
                                  .group_by(tr.c.study_id, tr.c.state)).all()
    finally:
        engine.dispose()
    directions: dict[int, dict[int, str]] = {}
    for sid, obj, direction in dirs:
        directions.setdefault(sid, {})[obj] = _direction(direction)
    names = {sid: _json(v) for sid, v in sys_attrs}
    rows = []
    for sid, name in studies:
        d = [directions.get(sid, {})[k] for k in sorted(directions.get(sid, {}))] or ["minimize"]
        by_state = {state: (n, last) for s, state, n, last in counts if s == sid}
        last = [v[1] for v in by_state.values() if v[1] is not None]
        rows.append(_study_row(name, d, names.get(sid), {k: v[0] for k, v in by_state.items()},
                               max(last) if last else None))
    return pd.DataFrame(rows, columns=STUDY_LIST_COLUMNS)


def _list_studies_optuna(url: str) -> pd.DataFrame:
    storage = open_readonly(url)
    try:
        rows = []
        for frozen in storage.get_all_studies():
            trials = storage.get_all_trials(storage.get_study_id_from_name(frozen.study_name), deepcopy=False)
            states = pd.Series([t.state.name for t in trials], dtype=object).value_counts().to_dict()
            done = [t.datetime_complete for t in trials if t.datetime_complete]
            rows.append(_study_row(frozen.study_name, [d.name.lower() for d in frozen.directions],
                                   frozen.system_attrs.get("study:metric_names"), states,
                                   max(done) if done else None))
        return pd.DataFrame(rows, columns=STUDY_LIST_COLUMNS)
    finally:
        storage.engine.dispose()


def _study_row(name: str, directions: list[str], metric_names: Any, states: dict,
               last: Any) -> dict:
    return {
        "name": name, "directions": ", ".join(directions),
        "objectives": ", ".join(_objective_labels(metric_names, len(directions))),
        "n_trials": int(sum(states.values())), "complete": int(states.get("COMPLETE", 0)),
        "pruned": int(states.get("PRUNED", 0)), "running": int(states.get("RUNNING", 0)),
        "failed": int(states.get("FAIL", 0)), "last_complete": _datetime(last),
    }


def _direction(value: Any) -> str:
    text = str(getattr(value, "name", value)).lower()
    return "maximize" if "max" in text else "minimize"


def _objective_labels(metric_names: Any, n: int) -> list[str]:
    if isinstance(metric_names, list) and len(metric_names) == n and all(isinstance(m, str) for m in metric_names):
        return list(metric_names)
    return ["objective"] if n == 1 else [f"objective {i}" for i in range(n)]


def _json(text: Any) -> Any:
    try:
        return json.loads(text) if isinstance(text, str) else text
    except json.JSONDecodeError:
        return None


def _datetime(value: Any) -> Any:
    if value is None or isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


_INF = {"INF_POS": math.inf, "INF_NEG": -math.inf, "NAN": math.nan}


def load_study(url: str, name: str, *, importance: bool = True) -> tuple[StudyData | None, list[str]]:
    """One study's trials, pruning reports, Pareto flags and parameter importances.

    Returns (None, warnings) when the storage or the study cannot be read. Importances come from
    ``optuna.importance`` (PED-ANOVA, Optuna's default, no scikit-learn needed) over the complete
    trials; ``importance=False`` skips them.
    """
    if not storage_exists(url):
        return None, [f"no Optuna storage at {redact_url(url)}"]
    try:
        long = _read_study_sql(url, name)
        loader = "sql"
    except KeyError:
        return None, [f"no study named {name!r} in {redact_url(url)}"]
    except Exception as fast_exc:  # noqa: BLE001 - fall back to Optuna's own reader
        try:
            long = _read_study_optuna(url, name)
            loader = "optuna"
        except KeyError:
            return None, [f"no study named {name!r} in {redact_url(url)}"]
        except Exception as exc:  # noqa: BLE001
            return None, [f"cannot read study {name!r} from {redact_url(url)}: {_short_error(exc)}"
                          f" (direct read: {_short_error(fast_exc)})"]
    data = _assemble(name, long)
    data.loader = loader
    if importance:
        data.importances, data.importance_note = study_importances(data)
    return data, []


def _read_study_sql(url: str, name: str) -> dict:
    """The study's rows, long format, from Optuna's tables (KeyError: no such study)."""
    import sqlalchemy as sa
    from optuna.distributions import json_to_distribution

    engine = readonly_engine(url)
    try:
        t = _tables(engine)
        with engine.connect() as conn:
            sid = conn.execute(sa.select(t["studies"].c.study_id)
                               .where(t["studies"].c.study_name == name)).scalar()
            if sid is None:
                raise KeyError(name)
            tr = t["trials"]
            ids = sa.select(tr.c.trial_id).where(tr.c.study_id == sid)

            def rows(table: str, *cols: str) -> list:
                # The bulk reads go through the DB-API cursor (SQLAlchemy's Row objects cost more
                # than the query itself here); the statement is compiled for the engine's dialect,
                # and its only literal is the integer study id.
                tab = t[table]
                stmt = sa.select(*(tab.c[c] for c in cols)).where(tab.c.trial_id.in_(ids))
                cursor = conn.connection.cursor()
                try:
                    cursor.execute(str(stmt.compile(engine, compile_kwargs={"literal_binds": True})))
                    return cursor.fetchall()
                finally:
                    cursor.close()

            directions = conn.execute(sa.select(t["study_directions"].c.objective, t["study_directions"].c.direction)
                                      .where(t["study_directions"].c.study_id == sid)).all()
            sys_attrs = dict(conn.execute(sa.select(t["study_system_attributes"].c.key,
                                                    t["study_system_attributes"].c.value_json)
                                          .where(t["study_system_attributes"].c.study_id == sid)).all())
            user_attrs = dict(conn.execute(sa.select(t["study_user_attributes"].c.key,
                                                     t["study_user_attributes"].c.value_json)
                                           .where(t["study_user_attributes"].c.study_id == sid)).all())
            trials = [tuple(r) for r in conn.execute(sa.select(
                tr.c.trial_id, tr.c.number, tr.c.state, tr.c.datetime_start, tr.c.datetime_complete)
                .where(tr.c.study_id == sid))]
            values = rows("trial_values", "trial_id", "objective", "value", "value_type")
            params = rows("trial_params", "trial_id", "param_name", "param_value", "distribution_json")
            attrs = rows("trial_user_attributes", "trial_id", "key", "value_json")
            inter = rows("trial_intermediate_values", "trial_id", "step", "intermediate_value",
                         "intermediate_value_type")
    finally:
        engine.dispose()

    trials_df = _frame(trials, ["trial_id", "number", "state", "datetime_start", "datetime_complete"])
    trials_df["trial_id"] = trials_df["trial_id"].astype("int64")
    trials_df["state"] = trials_df["state"].map(lambda v: str(getattr(v, "name", v)).upper())
    values_df = _frame(values, ["trial_id", "objective", "value", "value_type"])
    values_df["value"] = _typed_values(values_df["value"], values_df["value_type"])
    params_df = _frame(params, ["trial_id", "name", "internal", "distribution_json"])
    codes, uniques = pd.factorize(params_df["distribution_json"])
    dists = [json_to_distribution(dj) for dj in uniques]
    params_df["value"] = _external_values(params_df["internal"].to_numpy(dtype=float), codes, dists)
    params_df["dist"] = codes
    attrs_df = _frame(attrs, ["trial_id", "key", "value_json"])
    inter_df = _frame(inter, ["trial_id", "step", "value", "value_type"])
    inter_df["value"] = _typed_values(inter_df["value"], inter_df["value_type"])
    return {
        "directions": [_direction(d) for _, d in sorted(directions)] or ["minimize"],
        "metric_names": _json(sys_attrs.get("study:metric_names")),
        "user_attrs": {k: _json(v) for k, v in user_attrs.items()},
        "trials": trials_df, "values": _int_ids(values_df[["trial_id", "objective", "value"]]),
        "params": _int_ids(params_df[["trial_id", "name", "value", "dist"]]), "dists": dists,
        "attrs": _decode_attrs(attrs_df), "intermediate": _int_ids(inter_df[["trial_id", "step", "value"]]),
    }


def _frame(rows: list, columns: list[str]) -> pd.DataFrame:
    """Rows as an object frame: no per-column type inference (the caller converts what it uses)."""
    return pd.DataFrame(rows, columns=columns, dtype=object)


def _int_ids(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    df["trial_id"] = df["trial_id"].astype("int64")
    return df


def _typed_values(values: pd.Series, kinds: pd.Series) -> np.ndarray:
    """Stored values as floats, with Optuna's INF_POS / INF_NEG / NAN markers applied."""
    out = np.array(values.to_numpy(), dtype=float)
    kind = kinds.to_numpy(dtype=object)
    special = kind != "FINITE"
    if special.any():
        out[special] = [_INF.get(str(getattr(k, "name", k)).upper(), math.nan) for k in kind[special]]
    return out


def _external_values(internal: np.ndarray, codes: np.ndarray, dists: list) -> np.ndarray:
    """Optuna stores categorical choices by index; map every value back to what was sampled."""
    from optuna.distributions import CategoricalDistribution, IntDistribution

    out = np.empty(len(internal), dtype=object)
    for k, dist in enumerate(dists):
        mask = codes == k
        if isinstance(dist, CategoricalDistribution):
            choices = np.empty(len(dist.choices), dtype=object)
            choices[:] = list(dist.choices)
            out[mask] = choices[internal[mask].astype(np.int64)]
        elif isinstance(dist, IntDistribution):
            out[mask] = internal[mask].astype(np.int64).tolist()
        else:
            out[mask] = internal[mask].tolist()
    return out


def _decode_attrs(attrs: pd.DataFrame) -> dict[str, pd.Series]:
    """User attributes, one Series per key indexed by trial_id; numeric keys parsed in bulk."""
    out = {}
    ids = attrs["trial_id"].to_numpy(dtype=np.int64)
    for key, idx in attrs.groupby("key", sort=False).indices.items():
        raw = attrs["value_json"].iloc[idx]
        try:
            values = pd.to_numeric(raw).to_numpy()  # JSON numbers: every value of the key parses
        except (ValueError, TypeError):
            values = np.empty(len(raw), dtype=object)
            values[:] = [_json(v) for v in raw]
        out[str(key)] = pd.Series(values, index=ids[idx])
    return out


def _read_study_optuna(url: str, name: str) -> dict:
    """The same long tables through Optuna's public API (slower; the fallback)."""
    import optuna

    storage = open_readonly(url)
    try:
        study = optuna.load_study(study_name=name, storage=storage)  # KeyError: no such study
        frozen = study.get_trials(deepcopy=False)
        directions = [d.name.lower() for d in study.directions]
        metric_names = study.metric_names
        user_attrs = dict(study.user_attrs)
    finally:
        storage.engine.dispose()
    trials, values, params, attrs, inter = [], [], [], {}, []
    dists: dict = {}
    for t in frozen:
        trials.append((trial_id(t), t.number, t.state.name, t.datetime_start, t.datetime_complete))
        for i, v in enumerate(t.values or []):
            values.append((trial_id(t), i, float(v)))
        for k, v in t.params.items():
            params.append((trial_id(t), k, v, dists.setdefault(t.distributions[k], len(dists))))
        for k, v in t.user_attrs.items():
            attrs.setdefault(k, {})[trial_id(t)] = v
        for step, v in t.intermediate_values.items():
            inter.append((trial_id(t), step, float(v)))

    def series(by_id: dict) -> pd.Series:
        values = np.empty(len(by_id), dtype=object)
        values[:] = list(by_id.values())
        return pd.Series(values, index=np.array(list(by_id), dtype=np.int64)).infer_objects()

    return {
        "directions": directions, "metric_names": metric_names, "user_attrs": user_attrs,
        "trials": _frame(trials, ["trial_id", "number", "state", "datetime_start", "datetime_complete"]),
        "values": _frame(values, ["trial_id", "objective", "value"]).astype({"value": float}),
        "params": _int_ids(_frame(params, ["trial_id", "name", "value", "dist"])), "dists": list(dists),
        "attrs": {k: series(v) for k, v in attrs.items()},
        "intermediate": _frame(inter, ["trial_id", "step", "value"]).astype({"value": float}),
    }


def _assemble(name: str, long: dict) -> StudyData:
    """Long tables -> one wide row per trial, the pruning reports, and Pareto flags."""
    directions = long["directions"]
    n_obj = len(directions)
    base = long["trials"].copy()
    base["trial_id"] = base["trial_id"].astype("int64")
    base["number"] = base["number"].astype("int64")
    for col in ("datetime_start", "datetime_complete"):
        base[col] = pd.to_datetime(base[col].map(_datetime), errors="coerce")
    base["duration_s"] = (base["datetime_complete"] - base["datetime_start"]).dt.total_seconds()
    base = base.set_index("trial_id")

    values = long["values"]
    for i in range(n_obj):
        col = values[values["objective"] == i].set_index("trial_id")["value"]
        base[f"value_{i}"] = col.reindex(base.index).astype(float)

    params = long["params"]
    param_names = sorted(params["name"].unique().tolist()) if len(params) else []
    param_dists = {}
    for pname, codes in params.groupby("name")["dist"].unique().items():
        param_dists[str(pname)] = long["dists"][int(codes[0])] if len(codes) == 1 else None
    if param_names:
        wide = params.pivot(index="trial_id", columns="name", values="value").infer_objects()
        wide.columns = [f"param_{c}" for c in wide.columns]
        base = base.join(wide)

    for key, column in long["attrs"].items():
        if key not in base.columns:
            base[key] = column.reindex(base.index)
    for col in TRIAL_ATTRS:
        if col not in base:
            base[col] = np.nan
    for col in ("params", "macs", "acts", "latency_ms", "val_acc"):
        base[col] = pd.to_numeric(base[col], errors="coerce")
    base = base.reset_index().sort_values("number").reset_index(drop=True)

    data = StudyData(name=name, directions=directions,
                     objectives=_objective_labels(long["metric_names"], n_obj),
                     trials=base, intermediate=pd.DataFrame(), param_names=param_names,
                     user_attrs=long["user_attrs"], param_dists=param_dists)
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

    inter = _int_ids(long["intermediate"]).merge(base[["trial_id", "number", "state"]], on="trial_id", how="inner")
    inter["step"] = inter["step"].astype("int64")
    data.intermediate = inter[["number", "step", "value", "state"]].sort_values(["number", "step"]).reset_index(drop=True)
    data.trials = base.drop(columns=["trial_id"])
    return data


def pareto_mask(values: np.ndarray, maximize: Iterable[bool]) -> np.ndarray:
    """True for the rows of ``values`` (n x k) that no other row dominates; NaN rows are never on it."""
    values = np.asarray(values, dtype=float)
    n = len(values)
    mask = np.zeros(n, dtype=bool)
    if n == 0:
        return mask
    sign = np.where(np.asarray(list(maximize), dtype=bool), -1.0, 1.0)
    v = values * sign  # minimise every column
    ok = np.isfinite(v).all(axis=1)
    idx = np.flatnonzero(ok)
    v = v[ok]
    if len(v) == 0:
        return mask
    if v.shape[1] == 1:
        mask[idx[v[:, 0] == v[:, 0].min()]] = True
        return mask
    if v.shape[1] == 2:
        order = np.lexsort((v[:, 1], v[:, 0]))
        best_prev = math.inf  # smallest y among points with a strictly smaller x
        i = 0
        while i < len(order):
            j = i
            x = v[order[i], 0]
            while j < len(order) and v[order[j], 0] == x:
                j += 1
            group = order[i:j]
            group_min = v[group, 1].min()
            if group_min < best_prev:
                mask[idx[group[v[group, 1] == group_min]]] = True
                best_prev = group_min
            i = j
        return mask
    on_front = np.ones(len(v), dtype=bool)
    for start in range(0, len(v), 512):
        chunk = v[start:start + 512]
        dominated = ((v[None, :, :] <= chunk[:, None, :]).all(axis=2)
                     & (v[None, :, :] < chunk[:, None, :]).any(axis=2)).any(axis=1)
        on_front[start:start + 512] = ~dominated
    mask[idx[on_front]] = True
    return mask


def study_importances(study: StudyData) -> tuple[pd.DataFrame | None, str | None]:
    """Parameter importances with ``optuna.importance`` over the complete trials, or a note why not.

    PED-ANOVA, Optuna's default evaluator (no scikit-learn needed); for several objectives, the
    importance of reaching the Pareto front. The complete trials (params and values only) reach
    the evaluator through a read-only storage over frozen trials built from ``study.trials``: no
    second read of the RDB storage, and none of the deep copies ``Study.add_trials`` makes (about
    a second for 5,000 trials here). A parameter whose distribution differs between trials is
    left out, with a note.
    """
    names = [n for n, d in study.param_dists.items() if d is not None]
    left_out = sorted(n for n, d in study.param_dists.items() if d is None)
    if not study.param_dists:
        return None, "the study has no sampled parameters"
    if not names:
        return None, "every parameter changes its distribution between trials"
    import optuna
    from optuna.trial import FrozenTrial, TrialState

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    trials = study.trials
    value_cols = [f"value_{i}" for i in range(len(study.directions))]
    values = trials[value_cols].to_numpy(dtype=float)
    done = trials[(trials["state"] == "COMPLETE").to_numpy() & np.isfinite(values).all(axis=1)]
    if len(done) < 2:
        return None, "importances need at least two complete trials"
    columns = [done[f"param_{n}"].tolist() for n in names]
    dists = [study.param_dists[n] for n in names]
    now = datetime.now()
    frozen = []
    for number, vals, *row in zip(done["number"].tolist(), done[value_cols].to_numpy(dtype=float).tolist(),
                                  *columns, strict=False):
        params = {n: v for n, v in zip(names, row, strict=False) if not _missing(v)}
        if not params:
            continue
        frozen.append(FrozenTrial(
            number=int(number), state=TrialState.COMPLETE, value=None, values=vals, datetime_start=now,
            datetime_complete=now, params=params,
            distributions={n: d for n, d in zip(names, dists, strict=True) if n in params},
            user_attrs={}, system_attrs={}, intermediate_values={}, trial_id=int(number)))
    if len(frozen) < 2:
        return None, "importances need at least two complete trials with parameters"
    try:
        optuna_study = optuna.load_study(study_name="importances",
                                         storage=frozen_trials_storage(study.directions, frozen))
        result = optuna.importance.get_param_importances(optuna_study)
    except Exception as exc:  # noqa: BLE001 - e.g. a degenerate search space: say so on the page
        return None, f"importances unavailable: {_short_error(exc)}"
    if not result:
        return None, "no parameter varies across the complete trials"
    imp = pd.DataFrame({"param": list(result), "importance": [float(v) for v in result.values()]})
    note = f"left out (distribution changes between trials): {', '.join(left_out)}" if left_out else None
    return imp.sort_values("importance", ascending=False).reset_index(drop=True), note


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


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
        return None, [f"skipped {path}: {_short_error(exc)}"]
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
