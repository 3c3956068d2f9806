"""Everything scaler does with Optuna's storages and internals, in one place.

It owns Optuna storages (``storage``: the one URL parser, the one password masker, the read-only
opener, a storage failure as a one-line ``RunFailedError``), worker identity and dead-worker recovery
(``workers``: fail a dead worker's trial, queue it again), the exact-budget sampler (``budget``:
``BudgetSampler`` keeps a trial budget exact across any number of workers), the one worker loop the
search and the scaling grid both run, with study creation and settings pinning (``loop``), and the
reading of studies back (``reader``: the dashboard's bulk read-only reader of a study's trials as
DataFrames, and parameter importances), so the dashboard never names Optuna's modules itself.

Every use of Optuna's private API (``study._storage``, ``trial._trial_id``, ``LazyRandomState``,
system attributes) lives here; ``tests/test_study.py`` checks that no other module of scaler has one.
This package may import optuna, sqlalchemy, numpy, pandas and scaler.errors (ARCHITECTURE.md's
table); never torch, streamlit, plotly or scaler.cli. Import from the modules (``from
scaler.study.storage import mask_url``): this file imports nothing, so masking a URL does not load
Optuna.
"""
