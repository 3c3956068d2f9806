"""scaler.study: the only module touching Optuna's storage and internals; storage URLs and drivers; the
shared worker loop."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import optuna
import pytest

from scaler.errors import RunFailedError, ScalerError
from scaler.study import workers
from scaler.study.budget import BudgetSampler
from scaler.study.loop import run_trials
from scaler.study.storage import engine_url, open_storage, storage_failures

ROOT = Path(__file__).resolve().parent.parent
TS = optuna.trial.TrialState
SECRET = "pw-Secret9"
# Optuna's private API: its storage and ids behind a study or trial, private modules, the samplers'
# random states and grids, and the system attributes that steer GridSampler and the retry chain.
PRIVATE = re.compile(r"\._storage\b|\._trial_id\b|\._study_id\b|\boptuna(\.\w+)*\._\w+|LazyRandomState|"
                     r"\._all_grids\b|\._rng\b|system_attr\(|system_attrs\s*=\s*(?!\{\})|[\"'](fixed_params|grid_id)[\"']")


def test_no_optuna_private_api_outside_the_study_package() -> None:
    found = [f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
             for path in sorted((ROOT / "scaler").rglob("*.py")) if "study" not in path.relative_to(ROOT).parts
             for n, line in enumerate(path.read_text().splitlines(), 1) if PRIVATE.search(line)]
    assert not found, "\n".join(found)
    assert PRIVATE.search((ROOT / "scaler" / "study" / "budget.py").read_text())  # the pattern does match


def test_worker_identity_is_asked_anew(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workers.os, "getpid", lambda: 4242)
    assert workers.worker_id() == f"{workers.host_id()}:4242"


# --- storage URLs and drivers -----------------------------------------------------------------


def test_an_unknown_driver_is_one_line_exit_2_naming_what_to_install(cli, tmp_path: Path) -> None:
    code, out, err = cli("search", "--storage", f"postgresql+nosuchdriver://u:{SECRET}@127.0.0.1/db",
                         "--results", str(tmp_path))
    assert code == 2 and not out
    assert err.strip() == ("scaler: error: cannot open storage postgresql+nosuchdriver://u:***@127.0.0.1/db: no "
                           "database driver 'postgresql+nosuchdriver' in SQLAlchemy; use postgresql:// or "
                           "postgresql+psycopg2:// (pip install 'scaler[postgres]')")


HIDE = "import sys; sys.modules.update(dict.fromkeys(sys.argv[1].split(','))); sys.argv[1:2] = []; "


def run_without(modules: str, code: str, *args: str) -> subprocess.CompletedProcess:
    """``python -c HIDE+code modules *args`` with ``modules`` made unimportable (as if not installed)."""
    return subprocess.run([sys.executable, "-c", HIDE + code, modules, *args], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)


@pytest.mark.slow
@pytest.mark.parametrize("url", ["postgresql://u:{}@127.0.0.1:1/db", "postgresql+psycopg://u:{}@127.0.0.1:1/db",
                                 "postgresql+psycopg2://u:{}@127.0.0.1:1/db"])
def test_a_missing_postgres_driver_is_one_line_exit_2(url: str, tmp_path: Path) -> None:
    done = run_without("psycopg,psycopg2", "from scaler.cli import main; raise SystemExit(main(sys.argv[1:]))",
                       "search", "--storage", url.format(SECRET), "--results", str(tmp_path))
    assert done.returncode == 2 and not done.stdout
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("scaler: error: cannot open storage postgresql") and SECRET not in line
    assert line.endswith("is not installed: pip install 'scaler[postgres]'")


def test_a_url_that_does_not_parse_is_a_scaler_error() -> None:
    with pytest.raises(ScalerError, match="not a database URL"):
        engine_url("not a url")


def test_a_storage_error_becomes_one_run_failure_and_a_scaler_error_stays() -> None:
    import sqlalchemy.exc

    url = f"postgresql://u:{SECRET}@db/x"
    with pytest.raises(RunFailedError) as caught, storage_failures(url, "; rerun"):
        try:
            raise sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception(f"server closed\nFATAL: {SECRET}"))
        except sqlalchemy.exc.OperationalError as exc:
            raise ValueError("optuna cleaning up") from exc
    assert str(caught.value).startswith("storage postgresql://u:***@db/x failed: (builtins.Exception) server closed")
    assert str(caught.value).endswith("; rerun") and SECRET not in str(caught.value)
    with pytest.raises(ScalerError, match="bad flag"), storage_failures(url):
        try:
            raise sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception("gone"))
        except sqlalchemy.exc.OperationalError:
            raise ScalerError("bad flag") from None


def dbapi_params(storage: object) -> dict:
    """The libpq connection parameters of a connection from ``storage``'s pool."""
    raw = storage.engine.raw_connection()
    try:
        conn = raw.dbapi_connection
        return conn.get_dsn_parameters() if hasattr(conn, "get_dsn_parameters") else conn.info.get_parameters()
    finally:
        raw.close()


@pytest.mark.slow
@pytest.mark.parametrize(("driver", "used"), [("", "psycopg"), ("psycopg", "psycopg"), ("psycopg2", "psycopg2")])
def test_the_three_postgres_url_forms_open_with_a_connect_timeout(pg, driver: str, used: str) -> None:
    storage = open_storage(pg.url_for("scaler", driver=driver))
    assert storage.engine.dialect.driver == used and dbapi_params(storage)["connect_timeout"] == "10"
    study = optuna.create_study(storage=storage, study_name=f"form-{used}-{driver}", direction="maximize")
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)
    assert len(optuna.load_study(study_name=study.study_name, storage=pg.url_for("scaler")).trials) == 1


@pytest.mark.slow
def test_a_plain_postgres_url_falls_back_to_psycopg2_when_psycopg_is_missing(pg) -> None:
    done = run_without("psycopg", "from scaler.study.storage import open_storage; "
                       "s = open_storage(sys.argv[1]); s.get_all_studies(); print(s.engine.dialect.driver)", pg.url)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "psycopg2"


# --- the worker loop ----------------------------------------------------------------------------


def test_the_loop_stops_at_the_budget_and_requeues_the_trial_in_flight_on_ctrl_c(tmp_path: Path) -> None:
    storage = open_storage(f"sqlite:///{tmp_path / 's.db'}", heartbeat=None)
    sampler = BudgetSampler(optuna.samplers.RandomSampler(seed=0), budget=3)
    study = optuna.create_study(storage=storage, study_name="loop", sampler=sampler, direction="maximize")

    def interrupted(trial: optuna.trial.Trial) -> float:
        if trial.number == 1:
            raise KeyboardInterrupt
        return trial.suggest_float("x", 0, 1)

    outcome = run_trials(study, interrupted, sampler, log=lambda m: None)
    assert (outcome.stopped_by, outcome.requeued) == ("interrupt", 1)
    assert [t.state for t in study.trials] == [TS.COMPLETE, TS.FAIL, TS.WAITING]
    outcome = run_trials(study, lambda t: t.suggest_float("x", 0, 1), sampler, log=lambda m: None)
    assert outcome.stopped_by is None
    states = [t.state for t in study.trials]
    assert states.count(TS.COMPLETE) == 3 and states.count(TS.FAIL) == 1 and TS.WAITING not in states
    assert study.trials[2].user_attrs["retry_of"] == 1
