"""``scaler bench``: zoo models and the found family trained on the user's data, S seeds each; with
``--robustness``, each scored under corruptions by ``scaler robustness``'s evaluation."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import scaler.cli.common as common
from scaler.bench import PRESETS, BenchConfig
from scaler.errors import ScalerError

if TYPE_CHECKING:
    from scaler.bench import RobustnessScorer

#: Test images each model is scored on by ``scaler bench --robustness`` (``scaler robustness``: all of them).
ROBUSTNESS_IMAGES = 1000


def add_parser(sub: argparse._SubParsersAction) -> None:
    bench = sub.add_parser("bench", help="zoo models and the found family on your data, S seeds each: the frontier")
    bench.add_argument("--models", help="comma-separated zoo names (default: the preset's)")
    bench.add_argument("--preset", choices=tuple(PRESETS), default=BenchConfig.preset,
                       help=f"model set: {'; '.join(f'{k}: {len(v)} models' for k, v in PRESETS.items())}")
    bench.add_argument("--no-family", action="store_true", help="leave out the family of --base")
    bench.add_argument("--no-zoo", action="store_true", help="leave out the zoo models: the family of --base alone")
    bench.add_argument("--base", default=BenchConfig.base,
                       help="the family's base: latest (the latest search's best, default), a zoo name or a DSL "
                            "file; its rungs are those scaler scale wrote for it")
    bench.add_argument("--phis", type=common.positive_int, nargs="+", default=list(BenchConfig.phis),
                       help="rungs of the found family (those scaler scale wrote)")
    bench.add_argument("--seeds", type=common.positive_int, default=BenchConfig.seeds, help="seeds per model")
    bench.add_argument("--width", type=common.positive_float, default=BenchConfig.width, action=common.Explicit,
                       help="proxy width of every model")
    bench.add_argument("--reference", help="compare every model with this one (default: the found baseline)")
    bench.add_argument("--name", default=BenchConfig.name, help="results/bench/<name>/ (resumes when it exists)")
    bench.add_argument("--robustness", action="store_true",
                       help="after training, score every model's seed-0 run against the reference's under the "
                            "corruptions and perturbation sequences: mCE and mFR columns (kept, not scored twice)")
    bench.add_argument("--robustness-images", type=common.positive_int,
                       help=f"with --robustness: test images each model is scored on (default: {ROBUSTNESS_IMAGES})")
    bench.add_argument("--corruptions", help="with --robustness: comma-separated corruption or family names "
                                             "(default: all)")
    bench.add_argument("--severities", help="with --robustness: A-B, A,B,... or one number, each 1..5 (default: 1-5)")
    bench.add_argument("--frames", type=common.positive_int,
                       help="with --robustness: frames per perturbation sequence (default: scaler robustness's)")
    bench.add_argument("--check-budget", action="store_true",
                       help="train the reference (first seed) again at twice the epochs: is the budget converged?")
    common.add_fidelity_arguments(bench, "training resolution of the bases, at most the data's native one; rungs "
                                         "train at it times their resolution multiplier (default: the data set's "
                                         "own, or the budget's)", "cells")
    bench.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Train zoo models and the found family on the user's data, S seeds each; print the table."""
    from scaler.bench import Bench, format_bench
    from scaler.results import check_writable

    common.apply_budget(args)
    models = tuple(m.strip() for m in args.models.split(",") if m.strip()) if args.models else None
    cfg = BenchConfig(name=args.name, models=models, preset=args.preset, zoo=not args.no_zoo,
                      family=not args.no_family, base=args.base,
                      phis=tuple(args.phis), seeds=args.seeds, width=args.width, strides=args.strides,
                      min_feature=args.min_feature, reference=args.reference,
                      jobs=args.jobs, check_budget=args.check_budget)
    train_cfg = common.train_config(args)  # each cell sets its own seed
    cfg.fidelity.processes(train_cfg.device)  # a bad $SCALER_JOBS is refused before any work
    scorer = _robustness(args) if args.robustness else None  # bad corruption names are refused before any work
    given = [f"--{k.replace('_', '-')}" for k in ("corruptions", "severities", "frames", "robustness_images")
             if getattr(args, k) is not None]
    if given and not args.robustness:
        raise ScalerError(f"{', '.join(given)} only apply with --robustness")
    check_writable(args.results)
    bench = Bench(cfg, common.base_data_config(args), train_cfg, args.results, log=lambda m: print(m, file=sys.stderr))
    summary = bench.run(scorer)
    print(json.dumps(summary, indent=1) if args.json else format_bench(summary))
    return 0


def _robustness(args: argparse.Namespace) -> RobustnessScorer:
    """``--robustness``: ``scaler robustness``'s evaluation of each model against the reference (seed 0 of
    the corrupted images), kept in the cache folder the bench gives, by run, so a rerun scores only what is new."""
    from scaler.bench import RobustnessScorer
    from scaler.cli.robustness import score_against
    from scaler.robustness.corruptions import parse_corruptions, parse_severities
    from scaler.robustness.sequences import DEFAULT_FRAMES, check_frames

    settings = {"seed": 0, "corruptions": list(parse_corruptions(args.corruptions)),
                "severities": list(parse_severities(args.severities)), "frames": check_frames(args.frames or DEFAULT_FRAMES)}
    images = args.robustness_images or ROBUSTNESS_IMAGES

    def score(runs: dict, reference: str, cache: Path) -> dict[str, dict]:
        return score_against(runs, reference, cache, settings, images, args.device)

    return RobustnessScorer(score, {**settings, "images": images})
