"""Compound scaling and scaling laws (EfficientNet, Tan & Le 2019, sections 3.3 and 4).

The second step of EfficientNet, on the user's baseline and data: a grid search for the coefficients
(alpha, beta, gamma) at phi = 1, the Spec at any phi and its ladder next to the published B1..L2, and
single-dimension vs compound scaling (and dWr, the fast compound scaling of Dollar, Singh and Girshick 2021)
at matched MACs with fitted scaling laws. MACs are multiply-adds throughout.

Modules: ``config`` (settings, constants, results-file columns), ``base`` (the model being scaled),
``coefficients`` (alpha, beta, gamma and where they come from), ``growth`` (Specs at any multiplier or
phi, the ladder), ``cells`` (scaled models trained at fidelity with every seed, kept in the one store
of ``scaler.training.store``), ``grid`` (the Optuna grid study), ``compare`` (matched MACs), ``laws``
(the power-law fit), ``run`` (the ``scaler scale`` steps) and ``report`` (its text output).

The package owns ``results/scale/<base>/`` (each file written atomically): ``grid.csv`` (alpha, beta,
gamma, val_acc, macs, params), ``coefficients.json``, ``ladder.csv`` (label, name, phi, width, depth,
resolution, params, macs, mac_ratio), ``models/*.arch``, ``compare.csv`` (strategy, mac_ratio, macs,
val_acc, val_std, seeds, vs_compound, vs_low, vs_high, verdict, trained_macs, acts), ``fits.json`` ({strategy:
{a, b, c, a_std, b_std, c_std, m0, x, noise}}: error = a * (MACs / m0)^-b + c with m0 the base's MACs,
x = "mac_ratio"), ``compare.json`` (the full comparison table and predictions) and ``summary.json``
(what the last call printed, as JSON).

Every trained model keeps the strides the stride rule of ``scaler.strides`` gives the base at the
base's training resolution (``--strides``, ``--min-feature``; ``adapt-each`` decides them again at
each model's own resolution); ladders count the model as written, the comparison's matched MACs
the model as trained. With ``--seeds S`` every comparison cell and the grid's best points are trained
with S seeds and reported as mean ± std with paired verdicts (``scaler.stats``).

It imports scaler.dsl, scaler.nn.complexity, scaler.data, scaler.zoo, scaler.training, scaler.errors,
scaler.search (only for the latest search's best model), scaler.study (Optuna storages and the trial
loop), scaler.results and scaler.report; never scaler.cli, streamlit or plotly.
"""

from __future__ import annotations

import importlib
from typing import Any

#: Public names and the module that defines each, imported on first use (as Optuna does): the CLI
#: reads ``scaler.scaling.config`` without paying for the trainer, Optuna and numpy.
_EXPORTS = {
    "STRATEGIES": "scaler.results.schema", "resolve_base": "scaler.scaling.base", "base_key": "scaler.scaling.base",
    "Coefficients": "scaler.scaling.coefficients", "solve_ratio": "scaler.scaling.compare",
    "strategy_spec": "scaler.scaling.compare", "ScaleConfig": "scaler.scaling.config",
    "grid_candidates": "scaler.scaling.grid", "at_phi": "scaler.scaling.growth", "grow": "scaler.scaling.growth",
    "ladder": "scaler.scaling.growth",
    "published_coefficients": "scaler.scaling.growth", "published_spec": "scaler.scaling.growth",
    "fit_power_law": "scaler.scaling.laws", "format_report": "scaler.scaling.report", "run_scale": "scaler.scaling.run",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'scaler.scaling' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
