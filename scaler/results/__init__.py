"""The results/ folder: layout, atomic writes, and loaders into pandas for the dashboard.

Layout (``root`` is ``results/`` unless ``--results`` or ``$SCALER_RESULTS`` say otherwise)::

    runs/<run-id>/run.json     one trained model: spec (DSL text), config, history, metrics
    runs/<run-id>/model.arch   the Spec as DSL text (``scaler train``/``inspect`` take it)
    runs/<run-id>/weights.pt   state_dict (load with ``torch.load(..., weights_only=True)``)
    studies.db                 the Optuna storage of searches and scaling grids
    search/<study>/...         search summaries and the best Spec (``best.arch``)
    scale/<base>/...           scaling grids, ladders, law fits, generated Specs

A run record (``run.json``) is a ``scaler.results.record.RunRecord`` (typed, versioned): the spec
(DSL text), the data and training configs, status, counts, accuracies, timings, history, what
deploying it needs (input ``mean``/``std``, ``class_names``) and ``extra`` (``study``, ``trial``,
``phi``, ``ladder``, ``strategy``, ...). ``model.arch`` starts with a ``# trained-for`` header
(``scaler.dsl.trained``) naming the data set, classes and input channels it was trained for.

Every file and run folder is written under a temporary name and renamed into place, so readers
never see a half-written result and an interrupted writer leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from scaler.dsl.trained import TrainedFor
from scaler.errors import RunFailedError, ScalerError
from scaler.results.record import RunRecord, upgrade
from scaler.results.schema import RUN_RECORD, RUN_SPEC, RUN_WEIGHTS, RUNS, SCHEMA_VERSION, STORAGE


def results_root(root: str | Path | None = None) -> Path:
    """The results folder: ``root``, else ``$SCALER_RESULTS``, else ``./results``."""
    return Path(root or os.environ.get("SCALER_RESULTS") or "results")


def default_storage(root: str | Path | None = None) -> str:
    """The default Optuna storage URL: a SQLite file in the results folder."""
    return f"sqlite:///{results_root(root).resolve() / STORAGE}"


def _failed(path: Path, exc: OSError) -> RunFailedError:
    return RunFailedError(f"cannot write {path}: {exc.strerror or exc}")


def check_writable(root: str | Path | None = None) -> Path:
    """The results folder, created if needed, after writing and removing a probe file in it; a
    read-only, full or missing-parent folder (or a file in its place) is a ``RunFailedError`` (exit 1)
    before any work starts."""
    folder = results_root(root)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-probe.", dir=folder)
        try:
            os.write(fd, b"\n" * 4096)
            os.fsync(fd)
        finally:
            os.close(fd)
            os.unlink(probe)
    except OSError as exc:
        raise RunFailedError(f"cannot write to the results folder {folder}: {exc.strerror or exc}") from None
    return folder


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (temporary file in the same folder, then rename)."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except OSError as exc:
        raise _failed(path, exc) from None
    return path


def write_json(path: str | Path, data: Any) -> Path:
    """Write ``data`` as indented JSON, atomically."""
    return write_text(path, json.dumps(data, indent=1, default=_jsonable) + "\n")


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


@contextlib.contextmanager
def staged_dir(final: str | Path) -> Iterator[Path]:
    """A folder filled under a temporary name and renamed to ``final`` only if the block succeeds."""
    final = Path(final)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
    except OSError as exc:
        raise _failed(final, exc) from None
    try:
        yield tmp
        try:
            os.replace(tmp, final)
        except OSError as exc:  # e.g. a folder of that name appeared meanwhile, or the disk went read-only
            raise _failed(final, exc) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def new_run_id(name: str) -> str:
    """A sortable, unique-enough run folder name: ``<name>-<UTC time>``."""
    safe = re.sub(r"[^a-zA-Z0-9_.-]+", "-", name)[:60]
    return f"{safe}-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}-{os.getpid() % 10000:04d}"


def read_json(path: Path) -> tuple[dict | None, str | None]:
    """(data, None), or (None, warning) for a missing, corrupt or half-written file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, f"skipped {path}: {exc}"
    if not isinstance(data, dict):
        return None, f"skipped {path}: not a JSON object"
    return data, None


def load_runs(root: str | Path | None = None) -> tuple[list[dict], list[str]]:
    """Every run record under ``runs/`` (newest last; older versions upgraded, see ``record.upgrade``),
    each with its folder as ``path``, and a warning per unreadable one."""
    runs, warnings = [], []
    for path in sorted((results_root(root) / RUNS).glob(f"*/{RUN_RECORD}")):
        data, warning = read_json(path)
        if warning:
            warnings.append(warning)
        else:
            runs.append({**upgrade(data), "path": str(path.parent)})
    return runs, warnings


def read_record(folder: Path) -> RunRecord:
    """The run record of one run folder, any version; a missing or unreadable one is a ``ScalerError``."""
    data, problem = read_json(folder / RUN_RECORD)
    if problem:
        raise ScalerError(problem)
    return RunRecord.from_dict(data)


def save_run(record: dict | RunRecord, kind: str, root: str | Path | None = None, state_dict: dict | None = None,
             extra: dict | None = None) -> Path:
    """Write one run folder (run.json, model.arch, weights.pt) atomically; returns its path."""
    trained = record if isinstance(record, RunRecord) else RunRecord.from_dict(record)
    run_id = first = new_run_id(trained.name or "run")
    for n in range(2, 1000):  # the same name twice within a second (a search's best, then its rung): -2, -3...
        if not (results_root(root) / RUNS / run_id).exists():
            break
        run_id = f"{first}-{n}"
    final = results_root(root) / RUNS / run_id
    full = dataclasses.replace(trained, schema_version=SCHEMA_VERSION, run_id=run_id, kind=kind,
                               created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), extra=extra or {})
    header = _trained_for(full)
    with staged_dir(final) as tmp:
        write_json(tmp / RUN_RECORD, full.as_dict())
        write_text(tmp / RUN_SPEC, header.mark(full.spec or "") if header else full.spec or "")
        if state_dict is not None:
            import torch

            try:
                torch.save(state_dict, tmp / RUN_WEIGHTS)
            except OSError as exc:
                raise _failed(final / RUN_WEIGHTS, exc) from None
    return final


def _trained_for(record: RunRecord) -> TrainedFor | None:
    """What a run's network was trained for (its model.arch header), when the record says."""
    if record.data.get("name") is None or record.num_classes is None or record.in_channels is None:
        return None
    return TrainedFor(str(record.data["name"]), record.num_classes, record.in_channels)
