"""``scaler robustness``: trained runs under the corruption suite and the perturbation sequences, scored
against a reference run (error per corruption and severity, mean error, mCE, relative mCE, mFR).

Each run is rebuilt from its folder as ``scaler export`` rebuilds it (its Spec, its weights and, first in
the module, the normalisation it was trained with), so every run is fed the same test images as 8-bit
pixels in [0, 1]: the test split of the data set it recorded, at its resolution. Everything the
command is told is checked before anything is evaluated; each run's numbers are kept under
``results/robustness/<name>/cache/`` by run id, data set, seed, corruptions, severities, images and
frames, so a rerun (and the reference of a later comparison under the same name) is read back, not recomputed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from scaler.cli.common import add_json_argument, add_results_argument, positive_int
from scaler.training.config import TrainConfig

if TYPE_CHECKING:
    from scaler.data import Dataset
    from scaler.export import TrainedRun
    from scaler.results.record import RunRecord
    from scaler.robustness.evaluate import RobustnessResult, RobustnessSummary


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("robustness", help="trained runs under corruptions and perturbations, against a reference")
    parser.add_argument("runs", nargs="+", metavar="RUN", help="run folders, or their ids under results/runs")
    parser.add_argument("--reference", metavar="RUN",
                        help="the frozen run the CE, mCE and mFR are relative to (default: the first RUN)")
    parser.add_argument("--corruptions", help="comma-separated corruption or family names (default: all)")
    parser.add_argument("--severities", help="A-B, A,B,... or one number, each 1..5 (default: 1-5)")
    parser.add_argument("--frames", type=positive_int,
                        help="frames per perturbation sequence (default: scaler.robustness.sequences.DEFAULT_FRAMES)")
    parser.add_argument("--images", type=positive_int, help="at most this many test images (default: all)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the corrupted images and the sequences")
    parser.add_argument("--name", help="folder under results/robustness (default: the reference's run id)")
    parser.add_argument("--data", help="read the test images from this source instead of the one the runs "
                                       "recorded (e.g. an image folder that moved)")
    parser.add_argument("--data-dir", help="folder holding the data set files (else $SCALER_DATA, Debian's copy)")
    parser.add_argument("--device", default=TrainConfig.device, help="auto (cuda if available), cpu, cuda, cuda:N")
    add_results_argument(parser)
    add_json_argument(parser)
    parser.set_defaults(func=run)


@dataclass
class _Model:
    """One run to evaluate: its id, folder, record, rebuilt module (raw pixels in) and the test images it gets."""

    run_id: str
    path: Path
    record: RunRecord
    trained: TrainedRun
    data: Dataset


def run(args: argparse.Namespace) -> int:
    """Check every input, evaluate (or read back) each run and the reference, score, write, print."""
    from scaler.export import find_run
    from scaler.robustness.corruptions import parse_corruptions, parse_severities
    from scaler.robustness.sequences import DEFAULT_FRAMES, check_frames

    corruptions, severities = parse_corruptions(args.corruptions), parse_severities(args.severities)
    args.frames = check_frames(args.frames or DEFAULT_FRAMES)
    paths = [find_run(r, args.results) for r in args.runs]
    reference_path = find_run(args.reference, args.results) if args.reference else paths[0]
    ordered = list(dict.fromkeys(p.resolve() for p in [reference_path, *paths]))
    models = load_models(ordered, args.device, args.data, args.data_dir)
    reference, compared = models[0], [models[ordered.index(p.resolve())] for p in paths]
    for model in compared:
        _check_same_data(model, reference)

    from scaler.results import results_root, write_json
    from scaler.results.schema import ROBUSTNESS, ROBUSTNESS_CACHE, ROBUSTNESS_SUMMARY
    from scaler.robustness.evaluate import compare

    folder = results_root(args.results) / ROBUSTNESS / (args.name or reference.run_id)
    settings = {"seed": args.seed, "corruptions": list(corruptions), "severities": list(severities),
                "frames": args.frames}
    results = {model.run_id: evaluate_cached(model, folder / ROBUSTNESS_CACHE, settings, args.images)
               for model in models}
    summaries = {m.run_id: compare(results[m.run_id], results[reference.run_id]) for m in compared}
    out = {"reference": reference.run_id, **settings, "data": results[reference.run_id].data,
           "runs": [{"run": m.run_id, "path": str(m.path), "result": results[m.run_id].to_dict(),
                     "summary": summaries[m.run_id].to_dict()} for m in compared]}
    path = write_json(folder / ROBUSTNESS_SUMMARY, out)
    if args.json:
        print(json.dumps(out, indent=1))
    else:
        for model in compared:
            print(_report(model.run_id, reference.run_id, results[model.run_id], summaries[model.run_id]))
            print()
        print(f"saved {path}")
    return 0


def evaluate_cached(model: _Model, cache: Path, settings: dict, images: int | None) -> RobustnessResult:
    """``model``'s numbers under ``settings`` (seed, corruptions, severities, frames) on its first ``images``
    test images (None: all): read back from ``cache`` when a file there holds them for this very run,
    data set and settings, else evaluated now (progress on stderr) and kept there."""
    from scaler.results import read_json, write_json
    from scaler.robustness.evaluate import RobustnessResult, evaluate_robustness

    images = min(images or len(model.data.x_test), len(model.data.x_test))
    key = json.dumps({"run": model.run_id, "data": model.data.name, **settings, "images": images}, sort_keys=True)
    path = cache / f"{hashlib.sha256(key.encode()).hexdigest()[:16]}.json"
    cached, _ = read_json(path) if path.is_file() else (None, None)
    if cached is not None and cached.get("key") == key:
        print(f"{model.run_id}: read back from {path}", file=sys.stderr)
        return RobustnessResult.from_dict(cached["result"])
    print(f"{model.run_id}: {len(settings['corruptions'])} corruptions x {len(settings['severities'])} severities "
          f"on {images} images", file=sys.stderr)
    result = evaluate_robustness(
        model.trained.model, model.data, seed=settings["seed"], corruptions=settings["corruptions"],
        severities=settings["severities"], frames=settings["frames"], images=images,
        augmented=bool(model.record.train.get("augment", True)),
        progress=lambda line: print(f"{model.run_id}: {line}", file=sys.stderr),
    )
    write_json(path, {"key": key, "result": result.to_dict()})
    return result


def load_models(paths: list[Path], device: str, data: str | None = None, data_dir: str | None = None) -> list[_Model]:
    """Each run folder's module and test images (one load per data source and resolution); ``data`` and
    ``data_dir`` replace the source the runs recorded."""
    from scaler.data import resolve_device
    from scaler.errors import ScalerError
    from scaler.export import load_run
    from scaler.results import read_record

    target = resolve_device(device)
    loaded: dict[tuple, Dataset] = {}
    models = []
    for path in paths:
        record, trained = read_record(path), load_run(path)
        if not trained.raw_input:
            raise ScalerError(f"run {path} records no input normalisation (an older scaler): train it again")
        source = (data or record.data.get("name"), data_dir or record.data.get("data_dir"), trained.resolution)
        if source[0] is None:
            raise ScalerError(f"run {path}: its record names no data set: give --data")
        if source not in loaded:
            loaded[source] = _test_images(*source, device=str(target))
        test = loaded[source]
        if (test.num_classes, test.in_channels) != (record.num_classes, record.in_channels):
            raise ScalerError(f"run {path} classifies {record.num_classes} classes of {record.in_channels}-channel "
                              f"images, {test.name} has {test.num_classes} of {test.in_channels}")
        trained.model.to(target)
        models.append(_Model(record.run_id or path.name, path, record, trained, test))
    return models


def score_against(runs: dict[str, Path], reference: str, cache: Path, settings: dict, images: int | None,
                  device: str) -> dict[str, dict]:
    """The mCE and mFR of each run (by label) against ``runs[reference]``, over the corruptions and
    sequences its training did not apply (the headline numbers of ``scaler robustness``; None where a
    ratio is undefined), each run evaluated or read back as ``evaluate_cached`` does. A run at another
    resolution than the reference's saw other images: it gets None, and a line on stderr says so."""
    from scaler.robustness.evaluate import compare

    labels = list(runs)
    models = dict(zip(labels, load_models([runs[label] for label in labels], device), strict=True))
    ref = models[reference]
    shared = [label for label in labels if (models[label].data.name, models[label].data.resolution)
              == (ref.data.name, ref.data.resolution)]
    for label in labels:
        if label not in shared:
            print(f"{label}: trained at {models[label].data.resolution} px, the reference {reference} at "
                  f"{ref.data.resolution} px: no mCE or mFR against it", file=sys.stderr)
    results = {label: evaluate_cached(models[label], cache, settings, images) for label in shared}
    out: dict[str, dict] = {label: {"mce": None, "mfr": None} for label in labels}
    for label in shared:
        scores = compare(results[label], results[reference]).to_dict()["unseen"]
        out[label] = {"mce": scores["mce"], "mfr": scores["mfr"]}
    return out


def _test_images(name: str, data_dir: str | None, resolution: int, device: str) -> Dataset:
    """The data set's test split as 8-bit pixels in [0, 1] at ``resolution``, with mean 0 and std 1, so that
    every run sees bit-identical images whatever training cut normalised it (its module normalises)."""
    import dataclasses

    from scaler.data import DataConfig, load_data

    # one training and one validation image: only the test split is used, and it is un-normalised here
    data = load_data(DataConfig(name=name, data_dir=data_dir, train_size=1, val_size=1, resolution=resolution,
                                device=device))
    shape = (1, -1, 1, 1)
    x = data.x_test * data.x_test.new_tensor(data.std).view(shape) + data.x_test.new_tensor(data.mean).view(shape)
    x = x.clamp_(0, 1).mul_(255).round_().div_(255)
    channels = data.in_channels
    return dataclasses.replace(data, x_test=x, mean=(0.0,) * channels, std=(1.0,) * channels)


def _check_same_data(model: _Model, reference: _Model) -> None:
    """A run is scored only against a reference trained on the same data set at the same resolution."""
    from scaler.errors import ScalerError

    ours = (model.data.name, model.data.resolution)
    theirs = (reference.data.name, reference.data.resolution)
    if ours != theirs:
        raise ScalerError(f"run {model.run_id} was trained on {ours[0]} at {ours[1]} px, the reference "
                          f"{reference.run_id} on {theirs[0]} at {theirs[1]} px: a reference must share the data set")


def _report(run_id: str, reference_id: str, result: RobustnessResult, summary: RobustnessSummary) -> str:
    """One run's table: errors by corruption and severity with CE and relative CE, then its scores."""
    from scaler.report import fixed, format_table, plain

    severities = sorted({s for by in result.errors.values() for s in by})
    rows = []
    for group, scores in (("", summary.unseen), ("seen", summary.seen)):
        for name in scores.corruptions:
            rows.append({"corruption": name, "seen": group, **{f"s{s}": result.errors[name][s] for s in severities},
                         "ce": scores.corruption_errors[name], "rce": scores.relative_corruption_errors[name]})
    columns = [("corruption", "corruption", plain), ("seen", "training", plain),
               *[(f"s{s}", f"sev {s}", fixed(4)) for s in severities],
               ("ce", "CE", fixed(3)), ("rce", "rel. CE", fixed(3))]
    lines = [f"{run_id} against {reference_id} on {result.data} ({result.images} test images, seed {result.seed}): "
             f"clean error {result.clean_error:.4f} (reference {summary.reference_clean_error:.4f})",
             format_table(rows, columns)]
    for label, scores in (("not seen in training", summary.unseen), ("seen in training", summary.seen)):
        if scores.corruptions or scores.relative_flip_rates:
            lines.append(f"{label}: mean error {scores.mean_error:.4f}, mCE {scores.mce:.3f}, relative mCE "
                         f"{scores.relative_mce:.3f}, mFR {scores.mfr:.3f} ({', '.join(scores.relative_flip_rates)})")
    if summary.undefined:
        lines.append(f"undefined (the reference was not hurt): {', '.join(summary.undefined)}")
    return "\n".join(lines)
