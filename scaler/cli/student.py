"""``scaler student``: Noisy Student self-training up the found family's ladder, against the supervised
baseline and the teacher, S seeds paired."""

from __future__ import annotations

import argparse
import json
import sys

import scaler.cli.common as common
from scaler.student.config import ABLATIONS, StudentConfig


def number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def add_parser(sub: argparse._SubParsersAction) -> None:
    student = sub.add_parser("student", help="Noisy Student self-training up the family's ladder, against "
                                             "the supervised baseline")
    student.add_argument("--base", default=StudentConfig.base,
                         help="latest (the latest search's best, default), a zoo name or a DSL file: whose rungs "
                              "scaler scale wrote")
    student.add_argument("--labels", type=number,
                         help=f"number of the training images kept labelled, stratified (default "
                              f"{StudentConfig.labels:g}); the rest is the unlabelled pool")
    student.add_argument("--unlabeled", metavar="SOURCE",
                         help="an outside unlabelled pool (imagefolder:PATH); every training image is then labelled")
    student.add_argument("--iterations", type=common.positive_int, default=StudentConfig.iterations,
                         help="students, one rung up each: phi 0 -> 1 (-> 2 ...) (default 1)")
    student.add_argument("--same-size", action="store_true", help="every student is its teacher's size (phi 0)")
    student.add_argument("--hard", action="store_true", help="hard pseudo-labels (the teacher's argmax), not soft")
    student.add_argument("--threshold", type=number, default=StudentConfig.threshold,
                         help=f"least teacher confidence of a pseudo-labelled image (default {StudentConfig.threshold:g})")
    student.add_argument("--per-class", type=common.positive_int,
                         help="pseudo-labelled images per class after balancing (default: the confident images "
                              "over the classes)")
    student.add_argument("--ratio", type=common.positive_float, default=StudentConfig.ratio,
                         help=f"pseudo-labelled images per labelled one in each batch (default {StudentConfig.ratio:g})")
    student.add_argument("--ra-ops", type=int, default=StudentConfig.ra_ops,
                         help=f"RandAugment operations per image (default {StudentConfig.ra_ops})")
    student.add_argument("--ra-magnitude", type=float, default=StudentConfig.ra_magnitude,
                         help=f"RandAugment magnitude, 0..30 (default {StudentConfig.ra_magnitude:g})")
    student.add_argument("--dropout", type=number, default=StudentConfig.dropout,
                         help=f"dropout of a noisy net whose Spec sets none (default {StudentConfig.dropout:g})")
    student.add_argument("--drop-path", type=number, default=StudentConfig.drop_path,
                         help=f"stochastic depth of a noisy net whose Spec sets none (default {StudentConfig.drop_path:g})")
    student.add_argument("--ablate", choices=ABLATIONS, action="append", default=[],
                         help="also train a student without noise on the same pseudo-labels")
    student.add_argument("--seeds", type=common.positive_int, default=StudentConfig.seeds, help="seeds, paired")
    student.add_argument("--width", type=common.positive_float, default=StudentConfig.width,
                         help="proxy width of every net")
    student.add_argument("--name", default=StudentConfig.name, help="results/student/<name>/")
    common.add_fidelity_arguments(student, "training resolution of the teacher (default: the data set's own)",
                                  "trainings")
    student.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Self-train up the ladder, S seeds; print the table."""
    from scaler.errors import ScalerError
    from scaler.results import check_writable
    from scaler.student.run import SelfTraining, format_student

    if args.unlabeled and args.labels is not None:
        raise ScalerError("--unlabeled labels every training image: leave out --labels")
    cfg = StudentConfig(name=args.name, base=args.base,
                        labels=StudentConfig.labels if args.labels is None else args.labels,
                        unlabeled=args.unlabeled, iterations=args.iterations, same_size=args.same_size,
                        hard=args.hard, threshold=args.threshold, per_class=args.per_class, ratio=args.ratio,
                        ra_ops=args.ra_ops, ra_magnitude=args.ra_magnitude, dropout=args.dropout,
                        drop_path=args.drop_path, ablate=tuple(dict.fromkeys(args.ablate)), seeds=args.seeds,
                        width=args.width, strides=args.strides, min_feature=args.min_feature, jobs=args.jobs)
    train_cfg = common.train_config(args)
    cfg.fidelity.processes(train_cfg.device)  # a bad $SCALER_JOBS is refused before any work
    check_writable(args.results)
    summary = SelfTraining(cfg, common.data_config(args), train_cfg, args.results,
                           log=lambda m: print(m, file=sys.stderr)).run()
    print(json.dumps(summary, indent=1) if args.json else format_student(summary))
    return 0
