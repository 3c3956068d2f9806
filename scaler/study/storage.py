"""Optuna storages: opening them (read-write for workers, read-only for the dashboard), the one URL
parser and password masker, and a storage failure as a one-line ``RunFailedError``.

A storage URL is checked before Optuna sees it, because Optuna turns a missing or unknown driver into
"Failed to import DB access module". A plain ``postgresql://`` URL takes SQLAlchemy's default driver
(psycopg 3 since SQLAlchemy 2.1) or, where only psycopg2 is installed, psycopg2.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from scaler.errors import RunFailedError, ScalerError, first_line

#: What to install for a PostgreSQL driver (the extra holds psycopg 3 and psycopg2).
POSTGRES_INSTALL = "pip install 'scaler[postgres]'"
CONNECT_TIMEOUT_S = 10

_USERINFO = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://[^\s:/@?#]*):[^\s/?#]*@")
_QUERY_PASSWORD = re.compile(r"([?&](?:password|pass|pwd)=)[^&\s]*", re.IGNORECASE)


def mask_url(url: str) -> str:
    """A storage URL (or any text holding URLs) with passwords hidden, for logs, output and errors:
    ``user:***@host`` (a password may hold ``@``) and ``password=***`` in a query string."""
    return _QUERY_PASSWORD.sub(r"\1***", _USERINFO.sub(r"\1:***@", url))


def redact(text: str, url: str | None) -> str:
    """``text`` with URL passwords masked and ``url``'s password (raw or percent-decoded) removed wherever
    it appears, e.g. quoted back by a driver's error message."""
    from urllib.parse import unquote

    text = mask_url(text)
    if url:
        match = re.match(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s:/@?#]*:([^\s/?#]*)@", url)
        secrets = {match.group(1), unquote(match.group(1))} if match else set()
        secrets |= {m.group(1) for m in re.finditer(r"[?&](?:password|pass|pwd)=([^&\s]*)", url, re.IGNORECASE)}
        for secret in sorted((s for s in secrets if len(s) >= 3), key=len, reverse=True):
            text = text.replace(secret, "***")
    return text


def sqlite_path(url: str) -> str | None:
    """The file of a plain ``sqlite:///path`` URL, else None (a server, ``:memory:``, a ``file:`` URI)."""
    if not url.startswith("sqlite:///"):
        return None
    path = url[len("sqlite:///"):].split("?", 1)[0]
    if not path or path == ":memory:" or path.startswith("file:"):
        return None
    return path


def engine_url(url: str) -> str:
    """``url`` as SQLAlchemy should connect with it, its driver checked. A URL that does not parse, names
    a driver SQLAlchemy does not know or one that is not installed is a ScalerError of one line that
    says what to use or install, the password masked."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    def bad(why: str) -> ScalerError:
        return ScalerError(f"cannot open storage {mask_url(url)}: {why}")

    try:
        parsed = make_url(url)
    except ArgumentError:
        raise bad("not a database URL; use e.g. sqlite:///results/studies.db or postgresql://user@host/db") from None
    postgres = parsed.drivername.split("+")[0] in ("postgresql", "postgres")
    try:
        dialect = parsed.get_dialect()
    except NoSuchModuleError:
        hint = f"; use postgresql:// or postgresql+psycopg2:// ({POSTGRES_INSTALL})" if postgres else ""
        raise bad(f"no database driver {parsed.drivername!r} in SQLAlchemy{hint}") from None
    try:
        dialect.import_dbapi()
    except ImportError as exc:
        if postgres and "+" not in parsed.drivername and _installed("postgresql+psycopg2"):
            return "postgresql+psycopg2" + url[len(parsed.drivername):]
        module = exc.name or dialect.driver
        raise bad(f"its driver {module} is not installed: "
                  f"{POSTGRES_INSTALL if postgres else f'pip install {module}'}") from None
    return url


def _installed(drivername: str) -> bool:
    from sqlalchemy.engine import make_url

    try:
        make_url(f"{drivername}://").get_dialect().import_dbapi()
    except ImportError:
        return False
    return True


def _connect_args(url: str) -> dict:
    """With libpq (psycopg 3 or psycopg2), give up connecting after 10 s instead of the TCP timeout
    (minutes) when the host does not answer."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() in ("psycopg", "psycopg2"):
        return {"connect_args": {"connect_timeout": CONNECT_TIMEOUT_S}}
    return {}


def open_storage(url: str, heartbeat: int | None = 30) -> Any:
    """An Optuna RDB storage for workers, with heartbeats: a trial whose worker stops beating for 4
    intervals is failed and queued again (``workers.retry_trial``) by whichever worker notices first.
    Pooled connections are pre-pinged, so a database restart does not fail the next call."""
    import optuna
    import sqlalchemy.exc

    from scaler.study.workers import retry_stale

    # Heartbeats are marked experimental in Optuna 5; they are the documented way to retry dead workers.
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    resolved = engine_url(url)
    path = sqlite_path(url)
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine_kwargs = None if url.startswith("sqlite") else {"pool_pre_ping": True, **_connect_args(resolved)}
    for attempt in range(4):
        try:
            return _quiet_heartbeat(optuna.storages.RDBStorage(
                resolved, heartbeat_interval=heartbeat, grace_period=None if heartbeat is None else 4 * heartbeat,
                heartbeat_stale_trial_callback=retry_stale, engine_kwargs=engine_kwargs))
        except (sqlalchemy.exc.SQLAlchemyError, ValueError) as exc:
            if _lost_table_race(exc):
                # N workers starting on an empty database race to create Optuna's tables; the losers retry.
                if attempt == 3:
                    raise ScalerError(f"cannot open storage {mask_url(url)}: its tables could not be created") from None
                time.sleep(0.2 + 0.3 * attempt)
                continue
            raise ScalerError(f"cannot open storage {mask_url(url)}: {redact(first_line(exc), url)}") from None
    raise AssertionError("unreachable")


def _lost_table_race(exc: Exception) -> bool:
    """Whether ``exc`` says another process created Optuna's tables first: PostgreSQL reports a duplicate
    (IntegrityError, ProgrammingError), SQLite an OperationalError "table ... already exists"."""
    import sqlalchemy.exc

    if isinstance(exc, (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError)):
        return True
    return isinstance(exc, sqlalchemy.exc.OperationalError) and "already exists" in str(exc)


def _quiet_heartbeat(storage: Any) -> Any:
    """``storage`` whose heartbeats ignore a storage error: they run in Optuna's heartbeat thread, where a
    database that is briefly away must not print a thread traceback; the worker's own next storage call
    reports a lasting outage."""
    import optuna
    import sqlalchemy.exc

    beat = storage.record_heartbeat

    def record_heartbeat(trial_id: int) -> None:
        try:
            beat(trial_id)
        except (sqlalchemy.exc.SQLAlchemyError, optuna.exceptions.StorageInternalError):
            pass

    storage.record_heartbeat = record_heartbeat
    return storage


def _readonly(url: str) -> tuple[str, dict]:
    """(URL, engine kwargs) of a connection that only reads: a SQLite file opened ``mode=ro``, no pool."""
    from sqlalchemy.pool import NullPool

    path = sqlite_path(url)
    if path is None:
        resolved = engine_url(url)
        return resolved, {"poolclass": NullPool, **_connect_args(resolved)}
    uri = Path(path).resolve().as_uri() + "?mode=ro"
    return "sqlite://", {"poolclass": NullPool,
                         "creator": lambda: sqlite3.connect(uri, uri=True, check_same_thread=False)}


def readonly_engine(url: str) -> Any:
    """A SQLAlchemy engine on a storage that only reads (the dashboard's bulk reads of Optuna's tables)."""
    import sqlalchemy

    resolved, kwargs = _readonly(url)
    return sqlalchemy.create_engine(resolved, **kwargs)


def open_readonly(url: str) -> Any:
    """Optuna's RDBStorage on a connection that only reads, never creating tables (the dashboard)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    resolved, kwargs = _readonly(url)
    return optuna.storages.RDBStorage(resolved, skip_table_creation=True, engine_kwargs=kwargs)


@contextlib.contextmanager
def storage_failures(url: str, advice: str = "") -> Iterator[None]:
    """Turn a storage that fails mid-run (the database gone, full or read-only) into a RunFailedError of
    one line: the masked URL, the driver's own first line (password removed), then ``advice``."""
    try:
        yield
    except ScalerError:
        raise
    except Exception as exc:
        cause = _storage_cause(exc)
        if cause is None:
            raise
        raise RunFailedError(f"storage {mask_url(url)} failed: {redact(first_line(cause), url)}{advice}") from None


def _storage_cause(exc: BaseException) -> BaseException | None:
    """The storage error behind ``exc``, if any. Optuna may re-raise it as another error while cleaning
    up (its failed-trial bookkeeping needs the database too), so look along the chain; prefer the
    driver's error to Optuna's wrapper ("An exception is raised during the commit...")."""
    import optuna
    import sqlalchemy.exc

    chain: list[BaseException] = []
    cause: BaseException | None = exc
    while cause is not None and len(chain) < 10:
        chain.append(cause)
        cause = cause.__cause__ or (None if cause.__suppress_context__ else cause.__context__)
    found = [c for c in chain if isinstance(c, (sqlalchemy.exc.SQLAlchemyError, optuna.exceptions.StorageInternalError))]
    return next((c for c in reversed(found) if isinstance(c, sqlalchemy.exc.SQLAlchemyError)), found[0] if found else None)


def trial_id(trial: Any) -> int:
    """The storage's id of a trial (``FrozenTrial`` and ``Trial`` keep it private)."""
    return trial._trial_id


def frozen_trials_storage(directions: list[str], trials: list) -> Any:
    """A read-only Optuna storage holding one study, ``importances``, made of the given frozen trials:
    Optuna's evaluators read a study through a storage, and this one copies nothing."""
    import copy

    from optuna.storages import BaseStorage
    from optuna.study import StudyDirection
    from optuna.study._frozen import FrozenStudy

    study_directions = [StudyDirection.MAXIMIZE if d == "maximize" else StudyDirection.MINIMIZE
                        for d in directions]
    by_id = {t._trial_id: t for t in trials}

    class FrozenTrialsStorage(BaseStorage):
        """Serves one study's trials as given; every write raises."""

        def _read_only(self, *args: Any, **kwargs: Any) -> Any:
            raise NotImplementedError("read-only storage")

        create_new_study = delete_study = set_study_user_attr = set_study_system_attr = _read_only
        create_new_trial = set_trial_param = set_trial_state_values = _read_only
        set_trial_intermediate_value = set_trial_user_attr = set_trial_system_attr = _read_only

        def get_study_id_from_name(self, study_name: str) -> int:
            if study_name != "importances":
                raise KeyError(study_name)
            return 0

        def get_study_name_from_id(self, study_id: int) -> str:
            return "importances"

        def get_study_directions(self, study_id: int) -> list:
            return list(study_directions)

        def get_study_user_attrs(self, study_id: int) -> dict:
            return {}

        def get_study_system_attrs(self, study_id: int) -> dict:
            return {}

        def get_all_studies(self) -> list:
            return [FrozenStudy(study_name="importances", direction=None, directions=study_directions,
                                user_attrs={}, system_attrs={}, study_id=0)]

        def get_trial(self, trial_id: int) -> Any:
            return by_id[trial_id]

        def get_all_trials(self, study_id: int, deepcopy: bool = True, states: Any = None) -> list:
            out = [t for t in trials if states is None or t.state in states]
            return copy.deepcopy(out) if deepcopy else out

    return FrozenTrialsStorage()
