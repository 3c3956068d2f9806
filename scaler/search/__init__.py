"""Neural architecture search on Optuna: every sampled architecture of a Space is one trial.

Objectives (MnasNet, Tan et al. 2019; EfficientNet, Tan & Le 2019):
- ``reward``: maximise ACC * (MACs / T) ** w with w = -0.07 (a soft compute target T);
- ``constraint``: maximise ACC subject to MACs <= --max-macs and/or params <= --max-params
  (``Trial.set_constraint``, Optuna 5's API: infeasible trials are kept but ranked below feasible ones);
- ``pareto``: maximise ACC and minimise MACs (or latency) with NSGA-II; the result is the front.

Trials carry the Spec as DSL text and its counts in user attributes; the study lives in an Optuna
storage (SQLite under results/ by default), so a search resumes where it stopped. Any number of
workers (processes, machines) may share one study in PostgreSQL: the worker plumbing (the exact
budget, dead-worker retry, the trial loop, Ctrl-C re-queueing the trial in flight) is scaler.study's.

Modules: ``config`` (SearchConfig, the space, sampler, pruner and study settings), ``objective`` (one
trial: sample, size guards, train, score; the prefilter), ``run`` (run_search in named steps),
``confirm`` (the best candidates trained again with seeds, with intervals and verdicts),
``summary`` (the baseline, the saved files, latest_best), ``report`` (the result as text and JSON).
"""

from __future__ import annotations

import importlib
from typing import Any

#: Public names and their modules, imported on first use (PEP 562): the CLI reads the config's
#: constants without loading Optuna and torch.
_EXPORTS = {
    **dict.fromkeys(("OBJECTIVES", "PRUNERS", "SAMPLERS", "DEFAULT_CONFIRM", "SearchConfig", "load_space",
                     "reference_point"), "scaler.search.config"),
    **dict.fromkeys(("reward", "trial_model_name"), "scaler.search.objective"),
    "run_search": "scaler.search.run",
    **dict.fromkeys(("SearchInterrupted", "SearchResult", "latest_best"), "scaler.search.summary"),
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'scaler.search' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
