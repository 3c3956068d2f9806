"""The model zoo: every model described in the DSL files under ``scaler/zoo/spaces/`` (the repository's
``search_spaces/`` is a link to them), joined with the published results under ``scaler/zoo/reference/``.

Owns names -> Models/Specs; imports the DSL and the analytic counter, never torch."""

from __future__ import annotations

import csv
import difflib
import functools
import os
from dataclasses import dataclass
from pathlib import Path

from scaler.dsl import DSLError, Model, Spec, parse_file, require_spec
from scaler.errors import UnknownNameError
from scaler.nn.complexity import complexity

REFERENCE_DIR = Path(__file__).parent / "reference"


def spaces_dir() -> Path:
    """Where the DSL files live: ``$SCALER_SPACES`` or the package's own ``spaces/`` (installed with it)."""
    return Path(os.environ.get("SCALER_SPACES") or Path(__file__).resolve().parent / "spaces")


@functools.lru_cache(maxsize=4)
def _library(directory: Path) -> dict[str, Model]:
    models: dict[str, Model] = {}
    for path in sorted(directory.glob("*.arch")):
        for name, model in parse_file(path, library=models).items():
            if name in models:
                raise DSLError(f"model {name!r} is also defined in {models[name].source}", str(path))
            models[name] = model
    return models


def library() -> dict[str, Model]:
    """Every model and space of the zoo by name (files read once per process)."""
    return _library(spaces_dir())


def get_model(name: str) -> Model:
    """A zoo model or space by name; an unknown name suggests the closest ones."""
    models = library()
    if name not in models:
        close = difflib.get_close_matches(name, list(models), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else "; run 'scaler zoo' for the list"
        raise UnknownNameError(f"unknown model {name!r}{hint}")
    return models[name]


def load_target(target: str, model: str | None = None) -> Model:
    """A zoo name, or a DSL file (which may extend zoo models); ``model`` picks one of several in a file."""
    path = Path(target)
    if path.suffix == ".arch" or path.exists() or os.sep in target:
        models = parse_file(path, library=library())
        if model is None:
            return list(models.values())[-1]
        if model not in models:
            raise UnknownNameError(f"{target}: no model {model!r}; it defines {', '.join(models)}")
        return models[model]
    return get_model(target)


def load_spec(target: str, model: str | None = None) -> Spec:
    """Like ``load_target`` but a fixed model is required."""
    return require_spec(load_target(target, model))


@dataclass(frozen=True)
class Published:
    """A published ImageNet result for a zoo model."""

    model: str
    top1: float | None
    top5: float | None
    params_m: float | None
    year: int | None
    extra_data: str
    source: str


def _number(text: str) -> float | None:
    return float(text) if text else None


@functools.lru_cache(maxsize=1)
def published() -> dict[str, Published]:
    """Published results by zoo name (``reference/imagenet_published.csv``)."""
    out = {}
    with open(REFERENCE_DIR / "imagenet_published.csv", newline="") as f:
        for row in csv.DictReader(f):
            if row["zoo_name"]:
                out[row["zoo_name"]] = Published(
                    row["model"], _number(row["top1"]), _number(row["top5"]), _number(row["params_m"]),
                    int(row["year"]) if row["year"] else None, row["extra_data"], row["source"])
    return out


@dataclass(frozen=True)
class FashionMnistResult:
    """A published Fashion-MNIST test accuracy: the classifier as its submitter named it, its parameter
    count where stated, the preprocessing and augmentation it trained with, and where it is published."""

    model: str
    test_acc: float
    params: int | None
    preprocessing: str
    source: str


@functools.lru_cache(maxsize=1)
def fashion_mnist_published() -> tuple[FashionMnistResult, ...]:
    """Published Fashion-MNIST results (``reference/fashion_mnist_published.csv``), best first."""
    with open(REFERENCE_DIR / "fashion_mnist_published.csv", newline="") as f:
        rows = [FashionMnistResult(r["model"], float(r["test_acc"]), int(r["params"]) if r["params"] else None,
                                   r["preprocessing"], r["source"]) for r in csv.DictReader(f)]
    return tuple(sorted(rows, key=lambda r: -r.test_acc))


@dataclass(frozen=True)
class SelfTrainingResult:
    """A published small-data self-training result: the data set, its labelled and unlabelled image
    counts, the net (teacher -> student), the baseline's and the method's test accuracy, and the source."""

    study: str
    data: str
    labelled: int
    unlabelled: int
    net: str
    baseline: str
    baseline_acc: float
    method: str
    acc: float
    source: str

    @property
    def gain(self) -> float:
        return self.acc - self.baseline_acc


@functools.lru_cache(maxsize=1)
def self_training_published() -> tuple[SelfTrainingResult, ...]:
    """Published self-training against its supervised baseline (``reference/self_training_published.csv``):
    the points ``benchmarks/noisy_student.py`` holds its gain against."""
    with open(REFERENCE_DIR / "self_training_published.csv", newline="") as f:
        return tuple(SelfTrainingResult(r["study"], r["data"], int(r["labelled"]), int(r["unlabelled"]), r["net"],
                                        r["baseline"], float(r["baseline_acc"]), r["method"], float(r["acc"]),
                                        r["source"]) for r in csv.DictReader(f))


def zoo_table(family: str | None = None) -> list[dict]:
    """One row per fixed zoo model: name, family, resolution, params, MACs, activations, published top-1."""
    rows = []
    pub = published()
    for name, model in library().items():
        if not isinstance(model, Spec) or (family and model.family != family):
            continue
        cx = complexity(model)
        p = pub.get(name)
        rows.append({
            "name": name, "family": model.family, "resolution": model.resolution,
            "params": cx.params, "macs": cx.macs, "acts": cx.acts,
            "top1": p.top1 if p else None, "top5": p.top5 if p else None,
            "published_params_m": p.params_m if p else None, "year": p.year if p else None,
            "extra_data": p.extra_data if p else None, "source": p.source if p else None,
        })
    if family and not rows:
        families = sorted({m.family for m in library().values()})
        raise UnknownNameError(f"unknown family {family!r}; known: {', '.join(families)}")
    return rows
