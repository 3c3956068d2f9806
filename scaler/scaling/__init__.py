"""Compound scaling and scaling laws (EfficientNet, Tan & Le 2019, sections 3.3 and 4).

The second step of EfficientNet, on the user's baseline and data: a grid search for the coefficients
(alpha, beta, gamma) at phi = 1, the Spec at any phi and its ladder next to the published B1..L2, and
single-dimension vs compound scaling at matched MACs with fitted scaling laws. MACs are multiply-adds
throughout.

Modules: ``config`` (settings, constants, results-file columns), ``base`` (the model being scaled),
``coefficients`` (alpha, beta, gamma and where they come from), ``grow`` (Specs at any multiplier or
phi, the ladder), ``fidelity`` (training scaled models once each), ``grid`` (the Optuna grid study),
``compare`` (matched MACs), ``laws`` (the power-law fit), ``run`` (the ``scaler scale`` steps) and
``report`` (its text output).

The package owns ``results/scale/<base>/`` (each file written atomically): ``grid.csv`` (alpha, beta,
gamma, val_acc, macs, params), ``coefficients.json``, ``ladder.csv`` (label, name, phi, width, depth,
resolution, params, macs, mac_ratio), ``models/*.arch``, ``compare.csv`` (strategy, mac_ratio, macs,
val_acc), ``fits.json`` ({strategy: {a, b, c, a_std, b_std, c_std, m0, x}}: error = a * (MACs / m0)^-b + c
with m0 the base's MACs, x = "mac_ratio"), ``compare.json`` (the full comparison table and
predictions) and ``summary.json`` (what the last call printed, as JSON).

It imports scaler.dsl, scaler.nn.complexity, scaler.data, scaler.zoo, scaler.training, scaler.errors,
scaler.search (only for the latest search's best model), scaler.study (Optuna storages and the trial
loop), scaler.results and scaler.report; never scaler.cli, streamlit or plotly.
"""

from scaler.results.schema import STRATEGIES
from scaler.scaling.base import resolve_base
from scaler.scaling.coefficients import Coefficients
from scaler.scaling.compare import solve_ratio, strategy_spec
from scaler.scaling.config import ScaleConfig
from scaler.scaling.grid import grid_candidates
from scaler.scaling.grow import at_phi, grow, ladder, network_identity, published_coefficients, published_spec
from scaler.scaling.laws import fit_power_law
from scaler.scaling.report import format_report
from scaler.scaling.run import run_scale

__all__ = [
    "STRATEGIES", "Coefficients", "ScaleConfig", "at_phi", "fit_power_law", "format_report", "grid_candidates",
    "grow", "ladder", "network_identity", "published_coefficients", "published_spec", "resolve_base", "run_scale",
    "solve_ratio", "strategy_spec",
]
