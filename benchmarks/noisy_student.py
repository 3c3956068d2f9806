"""Does Noisy Student climb the found family's ladder on Fashion-MNIST with 10% of the labels?

A thin script over ``scaler student`` (``scaler.student.run.SelfTraining``, which trains, pairs and
judges): the teacher (rung phi 0) pseudo-labels the other 90% of the training images, and a noisy
student (phi 1) is held against the supervised phi 1 (the labelled images alone, the same noise and
image passes) and the noiseless student, seeds paired. If the noisy student beats the supervised
baseline (its 95% interval above 0), phi 2 learns from it as a second iteration (``--phi2``). It
prints every net's test accuracy (mean ± std over seeds), the student's gains with their intervals
and verdicts, the pseudo-labels' accuracy per iteration, whether it went on to phi 2 and why; with
``--robustness``, the mCE and mFR (``scaler robustness``'s, on a few test images) of the teacher, the
supervised and the noisy student against the teacher, and of the noisy student against its supervised
twin (a student at another resolution than its teacher sees other images: no score against it); and
the published small-data points to hold the gain against (``scaler.zoo.self_training_published``).
Every training is kept in the results folder's store, as ``scaler student`` keeps it, so a rerun
trains nothing twice. Needs the family's rungs: ``scaler scale --phi 3`` first.

    .venv/bin/python benchmarks/noisy_student.py [--base latest] [--labels 0.1] [--seeds 3] [--robustness] [--json]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import scaler.cli.common as common
from scaler.errors import ScalerError
from scaler.results import results_root, schema, write_json
from scaler.student.config import StudentConfig
from scaler.student.run import SelfTraining, format_student
from scaler.zoo import self_training_published

#: Test images each net is scored on with ``--robustness`` (``scaler robustness``: all of them).
ROBUSTNESS_IMAGES = 200
PHI2 = ("if-climbs", "always", "never")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default=StudentConfig.base, help="the family whose rungs scaler scale wrote")
    parser.add_argument("--labels", type=float, default=StudentConfig.labels, help="fraction of labelled images")
    parser.add_argument("--threshold", type=float, default=StudentConfig.threshold,
                        help="least teacher confidence of a pseudo-labelled image")
    parser.add_argument("--seeds", type=common.positive_int, default=StudentConfig.seeds, help="seeds, paired")
    parser.add_argument("--width", type=common.positive_float, default=StudentConfig.width)
    parser.add_argument("--name", default="noisy-student", help="results/student/<name>/ (phi 2: <name>-phi2)")
    parser.add_argument("--phi2", choices=PHI2, default=PHI2[0],
                        help="the second iteration (phi 1 -> 2): if the first climbs (default), always or never")
    parser.add_argument("--robustness", action="store_true", help="mCE and mFR of the teacher and the students")
    parser.add_argument("--robustness-images", type=common.positive_int, default=ROBUSTNESS_IMAGES,
                        help=f"with --robustness: test images each net is scored on (default {ROBUSTNESS_IMAGES})")
    common.add_fidelity_arguments(parser, "training resolution of the teacher (default: the data set's own)",
                                  "trainings")
    args = parser.parse_args()
    try:
        out = run(args)
    except ScalerError as exc:
        print(f"noisy_student: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    print(json.dumps(out, indent=1) if args.json else report(out))


def run(args: argparse.Namespace) -> dict:
    """The first iteration, the second if asked or earned, their robustness; kept under the results folder."""
    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    cfg = StudentConfig(name=args.name, base=args.base, labels=args.labels, threshold=args.threshold,
                        ablate=("noise",), seeds=args.seeds,
                        width=args.width, strides=args.strides, min_feature=args.min_feature, jobs=args.jobs)
    second = dataclasses.replace(cfg, name=f"{args.name}-phi2", iterations=2)
    data_cfg, train_cfg = common.data_config(args), common.train_config(args)
    if args.phi2 != "never":
        SelfTraining(second, data_cfg, train_cfg, args.results, log).ladder()  # no phi 2 rung: said before any work
    summary = SelfTraining(cfg, data_cfg, train_cfg, args.results, log).run()
    climbs, why = climbed(summary)
    went_on = args.phi2 == "always" or (args.phi2 == "if-climbs" and climbs)
    if went_on:
        summary = SelfTraining(second, data_cfg, train_cfg, args.results, log).run()
    why = f"{why}; --phi2 {args.phi2}: " + ("went on to phi 2" if went_on else "stopped at phi 1")
    out = {"name": args.name, "data": summary["data"]["name"], "labelled": summary["labelled"], "pool": summary["pool"],
           "seeds": summary["seeds"], "climbed": climbs, "phi2": went_on, "why": why,
           "published": [{**dataclasses.asdict(p), "gain": p.gain} for p in self_training_published()], "student": summary}
    if args.robustness:
        out["robustness"] = robustness(summary, args)
    folder = results_root(args.results) / schema.BENCHMARKS / "noisy_student"
    out["saved"] = str(write_json(folder / f"{args.name}.json", out))
    return out


def climbed(summary: dict) -> tuple[bool, str]:
    """Whether the first iteration climbs: its noisy student beats the supervised student of its rung,
    the paired 95% interval of the test-accuracy gain above 0; and why, in words."""
    row = next(r for r in summary["rows"] if r["iteration"] == 1 and r["role"] == "supervised")
    interval = f"gain {row['student_minus']:+.4f}, 95% interval [{row['diff_low']:+.4f}, {row['diff_high']:+.4f}]"
    if row["diff_low"] > 0:
        return True, f"the noisy student beat the supervised {row['label']} ({interval})"
    return False, f"the noisy student did not beat the supervised {row['label']} ({interval}: not above 0)"


def robustness(summary: dict, args: argparse.Namespace) -> list[dict]:
    """Per iteration, seed 0's teacher, supervised and noisy student scored by ``scaler robustness`` against
    the teacher, and the noisy student against its supervised twin; kept in a cache a rerun reads back."""
    from scaler.cli.robustness import score_against
    from scaler.robustness.corruptions import parse_corruptions, parse_severities
    from scaler.robustness.sequences import DEFAULT_FRAMES

    settings = {"seed": 0, "corruptions": list(parse_corruptions(None)), "severities": list(parse_severities(None)),
                "frames": DEFAULT_FRAMES}
    cache = results_root(args.results) / schema.ROBUSTNESS / args.name / schema.ROBUSTNESS_CACHE
    out = []
    for it in summary["iterations"]:
        rows = {r["role"]: r for r in summary["rows"] if r["iteration"] == it["iteration"]}
        runs = {role: Path(rows[role]["runs"][0]) for role in ("teacher", "supervised", "student")}
        against_teacher = score_against(runs, "teacher", cache, settings, args.robustness_images, args.device)
        twin = score_against({k: runs[k] for k in ("supervised", "student")}, "supervised", cache, settings,
                             args.robustness_images, args.device)
        out.append({"iteration": it["iteration"], "images": args.robustness_images,
                    "labels": {role: rows[role]["label"] for role in runs},
                    "against_teacher": against_teacher, "against_supervised": twin})
    return out


def report(out: dict) -> str:
    """The student's table, the phi 2 decision, the robustness scores and the published points, for people."""
    from scaler.report import fixed, format_table, plain

    def score(value: float | None) -> str:
        return "" if value is None else fixed(3)(value)

    lines = [f"Noisy Student on {out['data']}: {out['labelled']} labelled, {out['pool']} unlabelled images, "
             f"{out['seeds']} seed(s) (test accuracy, mean ± std over seeds; 'student' is the noisy student)",
             format_student(out["student"]), f"phi 2: {out['why']}"]
    for r in out.get("robustness", []):
        rows = [{"role": role, "label": label, **{f"{k}_t": v for k, v in r["against_teacher"][role].items()},
                 **{f"{k}_s": r["against_supervised"].get(role, {}).get(k) for k in ("mce", "mfr")}}
                for role, label in r["labels"].items()]
        lines += [f"robustness, iteration {r['iteration']} (seed 0, {r['images']} test images; "
                  f"against the teacher {r['labels']['teacher']}, and against the supervised {r['labels']['supervised']}; "
                  "empty: another resolution than the reference's):",
                  format_table(rows, [("role", "role", plain), ("label", "model", plain),
                                      ("mce_t", "mCE vs teacher", score), ("mfr_t", "mFR vs teacher", score),
                                      ("mce_s", "mCE vs supervised", score), ("mfr_s", "mFR vs supervised", score)])]
    lines.append("published small-data self-training, to hold the gain against (test accuracy):")
    for p in out["published"]:
        lines.append(f"  {p['study']}: {p['data']}, {p['labelled']:,} labelled + {p['unlabelled']:,} unlabelled, "
                     f"{p['net']}: {p['baseline']} {p['baseline_acc']:.4f} -> {p['method']} {p['acc']:.4f} "
                     f"({p['gain']:+.4f}); {p['source']}")
    lines.append(f"saved {out['saved']}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
