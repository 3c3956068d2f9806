"""The results/ folder: layout, atomic writes, and loaders into pandas for the dashboard.

Layout (``root`` is ``results/`` unless ``--results`` or ``$SCALER_RESULTS`` say otherwise)::

    runs/<run-id>/run.json     one trained model: spec (DSL text), config, history, metrics
    runs/<run-id>/model.arch   the Spec as DSL text (``scaler train``/``inspect`` take it)
    runs/<run-id>/weights.pt   state_dict (load with ``torch.load(..., weights_only=True)``)
    studies.db                 the Optuna storage of searches and scaling grids
    search/<study>/...         search summaries and the best Spec (``best.arch``)
    scale/<base>/...           scaling grids, ladders, law fits, generated Specs

A run record (``run.json``) holds: ``schema_version``, ``run_id``, ``kind`` ("train", "search",
"scale"), ``name``, ``family``, ``created`` (ISO 8601 UTC), ``spec`` (DSL text), ``data`` and
``train`` (the configs as dicts), ``device``, ``status`` ("ok" or "diverged"), ``resolution``,
``params``, ``macs``, ``acts``, ``val_acc``, ``test_acc`` (null when not evaluated), ``latency_ms``
(one image, this device), ``train_time_s``, ``images_per_s``, ``history`` (one dict per report:
``epoch``, ``train_loss``, ``val_loss``, ``val_acc``, ``lr``, ...), and ``extra`` (free-form:
``study``, ``trial``, ``phi``, ``ladder``, ``strategy``, ...).

Every file and run folder is written under a temporary name and renamed into place, so readers
never see a half-written result and an interrupted writer leaves nothing behind.
"""

from __future__ import annotations

import contextlib
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
from scaler.errors import RunFailedError
from scaler.results.schema import RUN_RECORD, RUN_SPEC, RUN_WEIGHTS, SCHEMA_VERSION


def results_root(root: str | Path | None = None) -> Path:
    """The results folder: ``root``, else ``$SCALER_RESULTS``, else ``./results``."""
    return Path(root or os.environ.get("SCALER_RESULTS") or "results")


def default_storage(root: str | Path | None = None) -> str:
    """The default Optuna storage URL: a SQLite file in the results folder."""
    return f"sqlite:///{results_root(root).resolve() / 'studies.db'}"


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
    """Every run record under ``runs/`` (newest last) and a warning per unreadable one."""
    runs, warnings = [], []
    for path in sorted((results_root(root) / "runs").glob(f"*/{RUN_RECORD}")):
        data, warning = read_json(path)
        if warning:
            warnings.append(warning)
        else:
            data["path"] = str(path.parent)
            runs.append(data)
    return runs, warnings


def save_run(record: dict, kind: str, root: str | Path | None = None, state_dict: dict | None = None,
             extra: dict | None = None) -> Path:
    """Write one run folder (run.json, model.arch, weights.pt) atomically; returns its path."""
    run_id = first = new_run_id(record["name"])
    for n in range(2, 1000):  # the same name twice within a second (a search's best, then its rung): -2, -3...
        if not (results_root(root) / "runs" / run_id).exists():
            break
        run_id = f"{first}-{n}"
    final = results_root(root) / "runs" / run_id
    full = {"schema_version": SCHEMA_VERSION, "run_id": run_id, "kind": kind,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **record, "extra": extra or {}}
    with staged_dir(final) as tmp:
        write_json(tmp / RUN_RECORD, full)
        trained = _trained_for(record)
        write_text(tmp / RUN_SPEC, trained.mark(record["spec"]) if trained else record["spec"])
        if state_dict is not None:
            import torch

            try:
                torch.save(state_dict, tmp / RUN_WEIGHTS)
            except OSError as exc:
                raise _failed(final / RUN_WEIGHTS, exc) from None
    return final


def _trained_for(record: dict) -> TrainedFor | None:
    """What a run record's network was trained for (its model.arch header), when the record says."""
    try:
        return TrainedFor(record["data"]["name"], record["num_classes"], record["in_channels"])
    except (KeyError, TypeError):
        return None
