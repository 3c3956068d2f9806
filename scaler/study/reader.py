"""Reading studies back, in bulk and read-only: the list of a storage's studies, one study's trials as
long tables, and parameter importances. The dashboard is the reader; it sees DataFrames and never
Optuna or SQLAlchemy.

Studies are read straight from the tables of Optuna's RDB schema (a few bulk SELECTs): loading a
5,000-trial study through ``optuna.load_study(...).get_trials()`` takes about 10 s on this project's
CPU, the bulk read under half a second. When the fast path fails (another schema version, a non-RDB
storage) the reader falls back to Optuna's public API and gives the same tables. Every connection
only reads (``storage.readonly_engine``, ``storage.open_readonly``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from scaler.errors import first_line
from scaler.study.storage import frozen_trials_storage, open_readonly, readonly_engine, trial_id

STUDY_LIST_COLUMNS = ["name", "directions", "objectives", "n_trials", "complete", "pruned", "running",
                      "failed", "last_complete"]

_TABLES = ["studies", "study_directions", "study_system_attributes", "study_user_attributes",
           "trials", "trial_values", "trial_params", "trial_user_attributes",
           "trial_intermediate_values"]

#: Optuna stores an infinite or NaN value as a type marker beside a placeholder number.
_INF = {"INF_POS": math.inf, "INF_NEG": -math.inf, "NAN": math.nan}


class UnreadableStorage(Exception):
    """Neither the bulk read nor Optuna's API could read the storage; the message says why, in one line."""


@dataclass
class StudyTables:
    """One study as long tables, one row per stored item.

    ``trials``: ``trial_id``, ``number``, ``state`` (``COMPLETE``, ``PRUNED``, ...), ``datetime_start``,
    ``datetime_complete`` (pandas datetimes); ``values``: ``trial_id``, ``objective``, ``value``;
    ``params``: ``trial_id``, ``name``, ``value`` (as sampled), ``dist`` (an index into ``dists``, the
    parameters' distributions, opaque to a reader); ``attrs``: the trials' user attributes, one Series per
    key indexed by trial_id; ``intermediate``: ``trial_id``, ``step``, ``value`` (the pruning reports).
    ``loader`` says which path read it: ``sql`` (bulk) or ``optuna`` (the fallback).
    """

    directions: list[str]
    objectives: list[str]
    user_attrs: dict
    trials: pd.DataFrame
    values: pd.DataFrame
    params: pd.DataFrame
    dists: list
    attrs: dict[str, pd.Series]
    intermediate: pd.DataFrame
    loader: str = "sql"


def list_studies(url: str) -> pd.DataFrame:
    """The studies in a storage (``STUDY_LIST_COLUMNS``): name, directions, objective names, trial counts
    by state, the last completion. Raises UnreadableStorage."""
    try:
        return _list_sql(url)
    except Exception as fast_exc:  # noqa: BLE001 - any failure of the fast path: try Optuna's API
        try:
            return _list_optuna(url)
        except Exception as exc:  # noqa: BLE001
            raise UnreadableStorage(f"{short_error(exc)} (direct read: {short_error(fast_exc)})") from None


def read_study(url: str, name: str) -> StudyTables:
    """One study's long tables. Raises KeyError when the storage has no such study, else UnreadableStorage."""
    try:
        return _read_sql(url, name)
    except KeyError:
        raise
    except Exception as fast_exc:  # noqa: BLE001 - fall back to Optuna's own reader
        try:
            return _read_optuna(url, name)
        except KeyError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise UnreadableStorage(f"{short_error(exc)} (direct read: {short_error(fast_exc)})") from None


def short_error(exc: BaseException) -> str:
    """An exception's first line, at most 300 characters, for a warning on a page."""
    return first_line(exc)[:300]


# ------------------------------------------------------------------------------------ list studies

def _tables(engine: Any) -> dict:
    import sqlalchemy

    meta = sqlalchemy.MetaData()
    meta.reflect(engine, only=_TABLES)
    return meta.tables


def _list_sql(url: str) -> pd.DataFrame:
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


def _list_optuna(url: str) -> pd.DataFrame:
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


def _study_row(name: str, directions: list[str], metric_names: Any, states: dict, last: Any) -> dict:
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


# -------------------------------------------------------------------------------------- one study

def _read_sql(url: str, name: str) -> StudyTables:
    """The study's long tables from Optuna's RDB tables (KeyError: no such study)."""
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
    direction_list = [_direction(d) for _, d in sorted(directions)] or ["minimize"]
    return StudyTables(
        directions=direction_list,
        objectives=_objective_labels(_json(sys_attrs.get("study:metric_names")), len(direction_list)),
        user_attrs={k: _json(v) for k, v in user_attrs.items()}, trials=_trial_frame(trials_df),
        values=_int_ids(values_df[["trial_id", "objective", "value"]]),
        params=_int_ids(params_df[["trial_id", "name", "value", "dist"]]), dists=dists,
        attrs=_decode_attrs(attrs_df), intermediate=_int_ids(inter_df[["trial_id", "step", "value"]]), loader="sql")


def _frame(rows: list, columns: list[str]) -> pd.DataFrame:
    """Rows as an object frame: no per-column type inference (the caller converts what it uses)."""
    return pd.DataFrame(rows, columns=columns, dtype=object)


def _int_ids(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    df["trial_id"] = df["trial_id"].astype("int64")
    return df


def _trial_frame(trials: pd.DataFrame) -> pd.DataFrame:
    """Integer ids and numbers, the two times as pandas datetimes (NaT where missing or unreadable)."""
    trials = _int_ids(trials)
    trials["number"] = trials["number"].astype("int64")
    for col in ("datetime_start", "datetime_complete"):
        trials[col] = pd.to_datetime(trials[col].map(_datetime), errors="coerce")
    return trials


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


def _read_optuna(url: str, name: str) -> StudyTables:
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

    return StudyTables(
        directions=directions, objectives=_objective_labels(metric_names, len(directions)), user_attrs=user_attrs,
        trials=_trial_frame(_frame(trials, ["trial_id", "number", "state", "datetime_start", "datetime_complete"])),
        values=_int_ids(_frame(values, ["trial_id", "objective", "value"]).astype({"value": float})),
        params=_int_ids(_frame(params, ["trial_id", "name", "value", "dist"])), dists=list(dists),
        attrs={k: series(v) for k, v in attrs.items()},
        intermediate=_int_ids(_frame(inter, ["trial_id", "step", "value"]).astype({"value": float})), loader="optuna")


# ------------------------------------------------------------------------------------- importances

def param_importances(trials: pd.DataFrame, directions: list[str],
                      param_dists: dict) -> tuple[pd.DataFrame | None, str | None]:
    """Parameter importances with ``optuna.importance`` over the complete trials, or a note why not.

    ``trials``: one row per trial with ``number``, ``state``, ``value_0`` ... and ``param_<name>``;
    ``param_dists``: name -> the parameter's distribution (from ``StudyTables.dists``), None where it
    changes between trials (such a parameter is left out, with a note). PED-ANOVA, Optuna's default
    evaluator (no scikit-learn needed); for several objectives, the importance of reaching the Pareto
    front. The complete trials (params and values only) reach the evaluator through a read-only storage
    over frozen trials built from ``trials``: no second read of the RDB storage, and none of the deep
    copies ``Study.add_trials`` makes (about a second for 5,000 trials here).
    """
    names = [n for n, d in param_dists.items() if d is not None]
    left_out = sorted(n for n, d in param_dists.items() if d is None)
    if not param_dists:
        return None, "the study has no sampled parameters"
    if not names:
        return None, "every parameter changes its distribution between trials"
    import optuna
    from optuna.trial import FrozenTrial, TrialState

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    value_cols = [f"value_{i}" for i in range(len(directions))]
    values = trials[value_cols].to_numpy(dtype=float)
    done = trials[(trials["state"] == "COMPLETE").to_numpy() & np.isfinite(values).all(axis=1)]
    if len(done) < 2:
        return None, "importances need at least two complete trials"
    columns = [done[f"param_{n}"].tolist() for n in names]
    dists = [param_dists[n] for n in names]
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
                                         storage=frozen_trials_storage(directions, frozen))
        result = optuna.importance.get_param_importances(optuna_study)
    except Exception as exc:  # noqa: BLE001 - e.g. a degenerate search space: say so on the page
        return None, f"importances unavailable: {short_error(exc)}"
    if not result:
        return None, "no parameter varies across the complete trials"
    imp = pd.DataFrame({"param": list(result), "importance": [float(v) for v in result.values()]})
    note = f"left out (distribution changes between trials): {', '.join(left_out)}" if left_out else None
    return imp.sort_values("importance", ascending=False).reset_index(drop=True), note


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))
