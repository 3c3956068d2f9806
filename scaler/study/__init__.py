"""Everything scaler does with Optuna's storages and internals, in one place.

It owns Optuna storages (``storage``: the one URL parser, the one password masker, the read-only
opener the dashboard uses, a storage failure as a one-line ``RunFailedError``), worker identity and
dead-worker recovery (``workers``: fail a dead worker's trial, queue it again), the exact-budget
sampler (``budget``: ``BudgetSampler`` keeps a trial budget exact across any number of workers), and
the one worker loop the search and the scaling grid both run, with study creation and settings
pinning (``loop``).

Every use of Optuna's private API (``study._storage``, ``trial._trial_id``, ``LazyRandomState``,
system attributes) lives here; ``tests/test_study.py`` checks that no other module of scaler has one.
This package may import optuna, sqlalchemy, scaler.errors and scaler.results; never torch,
streamlit, plotly or scaler.cli. Import from the modules (``from scaler.study.storage import
mask_url``): this file imports nothing, so masking a URL does not load Optuna.
"""
