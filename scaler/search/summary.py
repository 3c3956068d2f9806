"""What a search found: its trials as table rows, the chosen baseline, the files saved for it, and
``latest_best`` (the newest saved baseline, for ``scaler scale --base latest``)."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scaler.dsl.trained import TrainedFor
from scaler.errors import ScalerError, first_line
from scaler.search.config import SearchConfig
from scaler.study.storage import mask_url


@dataclass
class SearchResult:
    """What a search found: the study, the chosen baseline and the table rows of its trials."""

    study_name: str
    storage: str
    baseline: dict | None
    reference: dict | None
    target_macs: float
    rows: list[dict]
    pareto: list[dict]
    out_dir: Path | None = None
    stats: dict = field(default_factory=dict)
    confirmed: dict | None = None  # the seed confirmation (scaler.search.confirm), when it ran


class SearchInterrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM through the CLI) stopped a search cleanly: ``result`` holds the summary so far;
    ``requeued`` is the number of the trial that was in flight, now failed and queued again (or None)."""

    def __init__(self, result: SearchResult, requeued: int | None) -> None:
        super().__init__("search interrupted")
        self.result, self.requeued = result, requeued


def trial_row(trial: Any) -> dict:
    """One trial as a table row."""
    attrs = trial.user_attrs
    return {
        "trial": trial.number, "state": trial.state.name, "value": trial.values[0] if trial.values else None,
        "val_acc": attrs.get("val_acc"), "test_acc": attrs.get("test_acc"), "params": attrs.get("params"),
        "macs": attrs.get("macs"),
        "latency_ms": attrs.get("latency_ms"), "reference": attrs.get("reference"),
        "feasible": all(c <= 0 for c in trial.constraints.values()), **{
            f"proxy_{k}": v for k, v in attrs.get("proxies", {}).items()},
        "spec": attrs.get("spec"),
    }


def summarize(study: Any, storage_url: str, cfg: SearchConfig, target: float) -> SearchResult:
    """Rank the trials and choose the baseline: the best feasible trial at or under the MACs target."""
    import optuna

    complete = [t for t in study.get_trials(deepcopy=False) if t.state == optuna.trial.TrialState.COMPLETE]
    rank = "val_acc" if cfg.objective == "pareto" else "value"
    rows = sorted((trial_row(t) for t in complete), key=lambda r: -r[rank])
    pareto = [trial_row(t) for t in study.best_trials] if cfg.objective == "pareto" else []
    candidates = pareto or rows
    feasible = [r for r in candidates if r["feasible"]]
    under = [r for r in feasible if r["macs"] <= target]
    key = (lambda r: r["val_acc"]) if cfg.objective == "pareto" else (lambda r: r["value"])
    baseline = max(under or feasible, key=key, default=None)
    reference = next((r for r in rows if r["reference"]), None)
    return SearchResult(study.study_name, mask_url(storage_url), baseline, reference, target, rows, pareto)


def save_search(result: SearchResult, out: Path, trained: TrainedFor) -> Path:
    """best.arch (the baseline Spec, marked with the data it was ``trained`` for), summary.json and
    trials.csv, each written atomically."""
    import pandas as pd

    from scaler.results import schema, write_json, write_text

    if result.baseline:
        write_text(out / schema.SEARCH_BEST, trained.mark(result.baseline["spec"]))
    write_json(out / schema.SEARCH_SUMMARY, {k: v for k, v in dataclasses.asdict(result).items() if k != "out_dir"})
    frame = pd.DataFrame([{k: v for k, v in r.items() if k != "spec"} for r in result.rows])
    write_text(out / schema.SEARCH_TRIALS, frame.to_csv(index=False))
    return out


def latest_best(results: str | Path | None = None, log: Callable[[str], None] | None = None) -> Path:
    """The best.arch of the most recent search (for ``scaler scale --base latest``). A file that does
    not parse (corrupt, truncated, not text) is reported through ``log`` (default: stderr) and skipped."""
    from scaler.dsl import parse_file
    from scaler.results import results_root, schema

    warn = log or (lambda m: print(f"scaler: warning: {m}", file=sys.stderr))

    def mtime(p: Path) -> float:
        try:
            return p.stat().st_mtime
        except OSError:
            return 0.0

    for path in sorted((results_root(results) / schema.SEARCH).glob(f"*/{schema.SEARCH_BEST}"), key=mtime, reverse=True):
        try:
            models = parse_file(path)
        except (ScalerError, OSError, UnicodeDecodeError, ValueError) as exc:
            warn(f"skipped {path}: {first_line(exc)}")
            continue
        if not models:
            warn(f"skipped {path}: no model in it")
            continue
        return path
    raise ScalerError("no search result yet: run 'scaler search --space mbconv' first, or pass --base NAME|FILE")
