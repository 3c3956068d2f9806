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
``summary`` (the baseline, the saved files, latest_best).
"""

from __future__ import annotations

from scaler.search.config import OBJECTIVES, PRUNERS, SAMPLERS, SearchConfig, load_space, reference_point
from scaler.search.objective import reward, trial_model_name
from scaler.search.run import run_search
from scaler.search.summary import SearchInterrupted, SearchResult, latest_best

__all__ = ["OBJECTIVES", "PRUNERS", "SAMPLERS", "SearchConfig", "SearchInterrupted", "SearchResult", "latest_best",
           "load_space", "reference_point", "reward", "run_search", "trial_model_name"]
