"""``scaler scale``: compound scaling of a baseline: the alpha/beta/gamma grid, the model at any phi,
the ladder, and depth/width/resolution/compound at matched MACs with fitted laws."""

from __future__ import annotations

import argparse
import json
import sys

import scaler.cli.common as common
from scaler.dsl.values import DEPTH_ROUNDINGS
from scaler.scaling import config as scaling_config
from scaler.scaling.config import ScaleConfig


def add_parser(sub: argparse._SubParsersAction) -> None:
    scale = sub.add_parser("scale", help="compound scaling: alpha/beta/gamma grid at phi=1, the model at --phi, laws")
    scale.add_argument("--phi", type=float, help="compound coefficient of the model to generate (any real >= 0)")
    scale.add_argument("--base", help="latest (the latest search's best), a zoo name or a DSL file "
                                      "(default: latest if a search exists, else efficientnet-b0)")
    for name, what in (("alpha", "depth"), ("beta", "width"), ("gamma", "resolution")):
        scale.add_argument(f"--{name}", type=common.positive_float, help=f"{what} coefficient (all three skip the grid)")
    scale.add_argument("--grid", action="store_true", help="run (or resume) the grid search even if coefficients exist")
    scale.add_argument("--step", type=common.positive_float, help=f"grid step (default {scaling_config.DEFAULT_STEP:g})")
    lo, hi = scaling_config.DEFAULT_RANGE
    for name in ("alpha", "beta", "gamma"):
        scale.add_argument(f"--{name}-range", metavar="LO:HI", help=f"grid range of {name} (default {lo:g}:{hi:g})")
    scale.add_argument("--tol", type=float,
                       help=f"keep |alpha*beta^2*gamma^2 - 2| <= TOL (default {scaling_config.DEFAULT_TOL:g})")
    scale.add_argument("--macs-tol", type=float, help=f"and counted MACs within this fraction of 2x "
                                                      f"(default {scaling_config.DEFAULT_MACS_TOL:g})")
    scale.add_argument("--depth-round", choices=DEPTH_ROUNDINGS, default=ScaleConfig.depth_round,
                       help="repeats of derived models: round (nearest, default: MACs follow the law) or ceil "
                            "(EfficientNet's rule; published B1..L2 always use it)")
    scale.add_argument("--width", type=common.positive_float, action=common.Explicit,
                       help=f"proxy width of trained models (default: the budget's if given, else the search's, "
                            f"else {scaling_config.DEFAULT_PROXY_WIDTH:g})")
    scale.add_argument("--ladder", action="store_true", help="print phi=1..7 and the published B1..L2 side by side")
    scale.add_argument("--train", action="store_true", help="train the generated model (all rungs with --ladder)")
    scale.add_argument("--compare", action="store_true", help="depth/width/resolution/compound/dwr at matched MACs + laws")
    ratios = ",".join(f"{r:g}" for r in scaling_config.DEFAULT_RATIOS)
    scale.add_argument("--ratios", default=ratios, help=f"MAC ratios of --compare (default {ratios})")
    scale.add_argument("--bootstrap", type=int, default=ScaleConfig.bootstrap,
                       help=f"bootstrap samples of the law fits (default {ScaleConfig.bootstrap})")
    scale.add_argument("--seeds", type=common.positive_int, default=ScaleConfig.seeds,
                       help="trainer seeds (--seed and the next) of every --compare cell and of the grid's best "
                            f"{scaling_config.GRID_CONFIRM} points: mean ± std and paired verdicts "
                            f"(default {ScaleConfig.seeds})")
    scale.add_argument("--study", help="grid study name (default scale-<base>; resumes when it exists)")
    scale.add_argument("--storage", help="Optuna storage URL (default: sqlite:///results/studies.db)")
    scale.add_argument("--check-budget", action="store_true",
                       help="train the base (seed --seed) again at twice the epochs: is the budget converged?")
    common.add_fidelity_arguments(scale, "training resolution of the base, at most the data's native one; rungs, grid "
                                         "points and cells train at it times their resolution multiplier (default: "
                                         "the budget's, else the search's, else the data set's own)",
                                  "grid points and comparison cells")
    scale.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from scaler.results import check_writable
    from scaler.scaling import format_report, run_scale

    common.storage_from_env(args)
    common.apply_budget(args)
    cfg = ScaleConfig(
        phi=args.phi, base=args.base, alpha=args.alpha, beta=args.beta, gamma=args.gamma, grid=args.grid,
        step=args.step, alpha_range=args.alpha_range, beta_range=args.beta_range, gamma_range=args.gamma_range,
        tol=args.tol, macs_tol=args.macs_tol, width=args.width, ladder=args.ladder, train=args.train,
        compare=args.compare, ratios=args.ratios, bootstrap=args.bootstrap, study=args.study, storage=args.storage,
        seed=args.seed, depth_round=args.depth_round, seeds=args.seeds, strides=args.strides,
        min_feature=args.min_feature, jobs=args.jobs, check_budget=args.check_budget)
    train_cfg = common.train_config(args)
    check_writable(args.results)  # a read-only or full results folder: exit 1 now, not after training
    result = run_scale(cfg, common.base_data_config(args), train_cfg, args.results, log=lambda m: print(m, file=sys.stderr))
    print(json.dumps(result, indent=1) if args.json else format_report(result, full_ladder=args.ladder))
    return 0
