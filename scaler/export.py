"""A trained run as a file to deploy: ONNX (onnxruntime, TensorRT, ...) or TorchScript.

The run folder (``results/runs/<id>/``) holds what is needed: ``model.arch`` (the Spec that was
trained), ``weights.pt`` and ``run.json`` (resolution, input channels, classes, the input
normalisation and the class names). The module is rebuilt from the Spec, loaded strictly, and
written in eval mode with a dynamic batch dimension: input ``images`` (N, C, H, W), output
``logits`` (N, classes). The data set's normalisation is the graph's first step, so the input is
raw pixel values scaled to [0, 1] at the run's resolution; the class names (by output index), the
mean and the std travel in the file too (ONNX ``metadata_props``; TorchScript extra files). A run
recorded before scaler kept its normalisation is exported as before: input normalised as its data
set was. The file is written under a temporary name and renamed, so a failed export leaves nothing
behind. ONNX needs the ``export`` extra (``pip install 'scaler[export]'``: onnx, onnxruntime).
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from scaler.errors import ScalerError
from scaler.results import read_record, results_root
from scaler.results.record import RunRecord
from scaler.results.schema import RUN_RECORD, RUN_SPEC, RUN_WEIGHTS, RUNS

if TYPE_CHECKING:  # torch is imported where it is used: the CLI reads FORMATS without it
    import torch
    from torch import nn

FORMATS = ("onnx", "torchscript")
SUFFIXES = {".onnx": "onnx", ".pt": "torchscript", ".ts": "torchscript"}
ONNX_OPSET = 17
#: The run record's fields an exported file carries, each as JSON text under its own key.
DEPLOY_KEYS = ("class_names", "mean", "std")


@dataclass
class TrainedRun:
    """A run folder's module with its weights loaded, and the input it expects: raw pixels in [0, 1]
    when the run recorded its normalisation (``raw_input``), else images normalised as its data set was."""

    path: Path
    model: nn.Module
    in_channels: int
    resolution: int
    raw_input: bool
    metadata: dict[str, str]  # what the exported file carries besides the graph (class names, mean, std)

    def example(self, batch: int = 2, seed: int = 0) -> torch.Tensor:
        import torch

        return torch.randn(batch, self.in_channels, self.resolution, self.resolution,
                           generator=torch.Generator().manual_seed(seed))


def find_run(run: str, results: str | Path | None = None) -> Path:
    """A run folder by path or by id under ``results/runs``."""
    for candidate in (Path(run), results_root(results) / RUNS / run):
        if (candidate / RUN_RECORD).is_file():
            return candidate
    raise ScalerError(f"no run folder {run!r} (a path or an id under {results_root(results) / RUNS} with a {RUN_RECORD})")


def load_run(path: Path) -> TrainedRun:
    """Rebuild the trained module of a run folder (eval mode, on the CPU)."""
    import torch

    from scaler.dsl import parse_spec
    from scaler.nn.build import build

    record = read_record(path)
    if not (path / RUN_WEIGHTS).is_file():
        raise ScalerError(f"run {path} has no {RUN_WEIGHTS}: only runs that keep weights can be exported "
                          f"(scaler train, scaler scale --train)")
    missing = [k for k in ("in_channels", "num_classes", "resolution") if not isinstance(getattr(record, k), int)]
    if missing:
        raise ScalerError(f"run {path}: {RUN_RECORD} lacks {', '.join(missing)} "
                          f"(written by an older scaler; train it again)")
    spec = parse_spec((path / RUN_SPEC).read_text(encoding="utf-8"), str(path / RUN_SPEC))
    model = build(spec, num_classes=record.num_classes, in_channels=record.in_channels)
    try:
        model.load_state_dict(torch.load(path / RUN_WEIGHTS, map_location="cpu", weights_only=True))
    except (RuntimeError, OSError, EOFError) as exc:
        raise ScalerError(f"run {path}: its weights do not load into {spec.name}: {str(exc).splitlines()[0]}") from None
    raw_input = _normalisation_of(record, path) is not None
    if raw_input:
        from scaler.nn.normalise import Normalised

        model = Normalised(model, record.mean, record.std)
    metadata = {key: json.dumps(getattr(record, key)) for key in DEPLOY_KEYS if getattr(record, key) is not None}
    metadata["input"] = (f"images N x {record.in_channels} x {record.resolution} x {record.resolution}, "
                         + ("pixel values in [0, 1] (the normalisation is in the graph)" if raw_input
                            else "normalised with the training data's mean and std"))
    return TrainedRun(path, model.eval(), record.in_channels, record.resolution, raw_input, metadata)


def _normalisation_of(record: RunRecord, path: Path) -> tuple[list[float], list[float]] | None:
    """The run's input mean and std, None for a run recorded before they were kept, an error for a bad pair."""
    mean, std = record.mean, record.std
    if mean is None and std is None:
        return None
    ok = all(isinstance(v, list) and len(v) == record.in_channels and all(isinstance(x, (int, float)) for x in v)
             for v in (mean, std)) and all(x > 0 for x in std)
    if not ok:
        raise ScalerError(f"run {path}: {RUN_RECORD} has a bad mean/std (one positive number per input channel)")
    return mean, std


def export_format(target: Path, fmt: str | None) -> str:
    """``fmt``, or the format the target's suffix names."""
    if fmt is None:
        fmt = SUFFIXES.get(target.suffix)
        if fmt is None:
            raise ScalerError(f"cannot tell the format of {target} from its suffix; pass --format {'|'.join(FORMATS)}")
    if fmt not in FORMATS:
        raise ScalerError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    return fmt


def export(run: TrainedRun, target: Path, fmt: str) -> Path:
    """Write ``run``'s module to ``target`` as ``fmt``; returns the path."""
    import torch

    if fmt == "onnx":
        try:
            import onnx  # noqa: F401 - torch's exporter needs it
        except ImportError:
            raise ScalerError("ONNX export needs onnx: pip install 'scaler[export]'") from None
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    x = run.example()
    try:
        # torch marks TorchScript and its legacy ONNX exporter deprecated; both still write the files
        # deployments read today, and the notice is not the user's to act on
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore", category=FutureWarning)
            warnings.simplefilter("ignore", category=DeprecationWarning)
            if fmt == "onnx":
                torch.onnx.export(run.model, (x,), str(tmp), dynamo=False, input_names=["images"],
                                  output_names=["logits"], opset_version=ONNX_OPSET,
                                  dynamic_axes={"images": {0: "batch"}, "logits": {0: "batch"}})
                _add_onnx_metadata(tmp, run.metadata)
            else:
                torch.jit.save(torch.jit.trace(run.model, x), str(tmp), _extra_files=run.metadata)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _add_onnx_metadata(path: Path, metadata: dict[str, str]) -> None:
    """Write ``metadata`` into the ONNX file's ``metadata_props`` (onnxruntime: ``custom_metadata_map``)."""
    import onnx

    model = onnx.load(str(path))
    onnx.helper.set_model_props(model, metadata)
    onnx.save(model, str(path))
