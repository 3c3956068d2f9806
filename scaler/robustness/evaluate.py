"""Run a trained model over the corrupted test set and the perturbation sequences; compare with a reference.

The test images are un-normalised back to [0, 1], corrupted in fixed chunks of ``CHUNK`` images,
stored as 8-bit images would be (rounded to multiples of 1/255, as ImageNet-C's files are),
normalised again with the data set's statistics and classified in eval mode without gradients. Each
chunk's randomness comes from its own CPU generator seeded by (seed, corruption, severity, chunk),
so a corruption's images do not depend on which other corruptions or sequences are run, nor on the
device; the SHA-256 of the 8-bit images per corruption and severity goes into the result, so two
results can be checked to have seen the same images.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import torch
from torch import Tensor, nn

from scaler.data import Dataset
from scaler.errors import ScalerError
from scaler.robustness import metrics
from scaler.robustness.corruptions import CORRUPTION_NAMES, CORRUPTIONS, SEVERITIES, check_severity, get_corruption
from scaler.robustness.sequences import (
    DEFAULT_FRAMES,
    SEQUENCE_NAMES,
    check_frames,
    get_sequence,
    perturbation_frames,
)

CHUNK = 500
"""Images per generator and per forward pass: fixed, so the corrupted images never depend on a batch size."""


@dataclass
class RobustnessResult:
    """One model's numbers: clean error, error per corruption and severity, flip rate per sequence,
    the SHA-256 of the corrupted images (per corruption and severity, and per sequence), and what
    they were computed on. ``seen_in_training`` names the corruptions and sequences the model's
    training augmentation applied, reported apart."""

    data: str
    seed: int
    images: int
    frames: int
    clean_error: float
    errors: dict[str, dict[int, float]]
    hashes: dict[str, dict[int, str]]
    flip_rates: dict[str, float]
    sequence_hashes: dict[str, str]
    seen_in_training: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-ready data (severity keys become strings, as JSON needs)."""
        out = asdict(self)
        out["errors"] = {n: {str(s): e for s, e in by.items()} for n, by in self.errors.items()}
        out["hashes"] = {n: {str(s): h for s, h in by.items()} for n, by in self.hashes.items()}
        out["seen_in_training"] = list(self.seen_in_training)
        return out

    @classmethod
    def from_dict(cls, raw: dict[str, object]) -> RobustnessResult:
        """The inverse of ``to_dict`` (for a cached reference's numbers)."""
        values = dict(raw)
        values["errors"] = {n: {int(s): float(e) for s, e in by.items()} for n, by in raw["errors"].items()}
        values["hashes"] = {n: {int(s): str(h) for s, h in by.items()} for n, by in raw["hashes"].items()}
        values["seen_in_training"] = tuple(raw.get("seen_in_training", ()))
        return cls(**values)


def _chunk_generator(seed: int, *key: object) -> torch.Generator:
    """A CPU generator seeded from ``seed`` and ``key`` (a name, a severity, a chunk index) by SHA-256."""
    digest = hashlib.sha256("/".join(map(str, (seed, *key))).encode()).digest()
    return torch.Generator().manual_seed(int.from_bytes(digest[:8], "little") & (2**63 - 1))


def _as_8bit(x: Tensor) -> Tensor:
    return x.mul(255).round_().clamp_(0, 255).to(torch.uint8)


@torch.no_grad()
def evaluate_robustness(
    model: nn.Module,
    data: Dataset,
    *,
    seed: int = 0,
    corruptions: Sequence[str] = CORRUPTION_NAMES,
    severities: Sequence[int] = SEVERITIES,
    sequences: Sequence[str] = SEQUENCE_NAMES,
    frames: int = DEFAULT_FRAMES,
    images: int | None = None,
    augmented: bool = True,
    progress: Callable[[str], None] | None = None,
) -> RobustnessResult:
    """Errors of ``model`` on ``data``'s test set under each corruption and severity, and its flip rate
    on each perturbation sequence.

    ``images`` (None: all) takes the first so many test images; ``augmented`` says whether the model
    was trained with the trainer's augmentation (then the corruptions it applies are marked seen).
    ``progress`` is called with one line per corruption and sequence (for stderr). Inputs go to the
    model's device; the model is put in eval mode and restored after.
    """
    names = [get_corruption(n).name for n in corruptions]
    sequence_names = [get_sequence(n).name for n in sequences]
    severities = [check_severity(s) for s in severities]
    if sequence_names:
        check_frames(frames)
    total = len(data.x_test)
    count = total if images is None else images
    if not 1 <= count <= total:
        raise ScalerError(f"images must be between 1 and {total} (the test set's size), got {images}")
    params = next(model.parameters(), None)
    device = params.device if params is not None else data.device
    mean = torch.tensor(data.mean, device=data.device).view(1, -1, 1, 1)
    std = torch.tensor(data.std, device=data.device).view(1, -1, 1, 1)
    labels = data.y_test[:count].to(device)
    chunks = [(i, slice(start, min(start + CHUNK, count))) for i, start in enumerate(range(0, count, CHUNK))]

    def clean(part: slice) -> Tensor:
        return (data.x_test[part] * std + mean).clamp(0, 1)

    def classify(x: Tensor) -> Tensor:
        return model(x.to(device).contiguous(memory_format=torch.channels_last)).argmax(1)

    def predict(x8: Tensor) -> Tensor:
        return classify((x8.to(data.device).float() / 255 - mean) / std)

    was_training = model.training
    model.eval()
    try:
        clean_wrong = sum(int((classify(data.x_test[part]) != labels[part]).sum()) for _, part in chunks)
        errors: dict[str, dict[int, float]] = {}
        hashes: dict[str, dict[int, str]] = {}
        for name in names:
            fn = CORRUPTIONS[name].fn
            errors[name], hashes[name] = {}, {}
            for severity in severities:
                digest, wrong = hashlib.sha256(), 0
                for index, part in chunks:
                    x8 = _as_8bit(fn(clean(part), severity, _chunk_generator(seed, name, severity, index)))
                    digest.update(x8.cpu().numpy().tobytes())
                    wrong += int((predict(x8) != labels[part]).sum())
                errors[name][severity] = wrong / count
                hashes[name][severity] = digest.hexdigest()
            if progress:
                progress(f"{name}: error {', '.join(f'{errors[name][s]:.4f}' for s in severities)} (severities "
                         f"{', '.join(map(str, severities))})")
        flip_rates: dict[str, float] = {}
        sequence_hashes: dict[str, str] = {}
        for name in sequence_names:
            predictions: list[list[int]] = [[] for _ in range(frames)]
            digest = hashlib.sha256()
            for index, part in chunks:
                sequence = perturbation_frames(clean(part), name, frames, _chunk_generator(seed, "sequence", name, index))
                for t, frame in enumerate(sequence):
                    x8 = _as_8bit(frame)
                    digest.update(x8.cpu().numpy().tobytes())
                    predictions[t].extend(predict(x8).tolist())
            flip_rates[name] = metrics.flip_rate(predictions, against_first=get_sequence(name).against_first)
            sequence_hashes[name] = digest.hexdigest()
            if progress:
                progress(f"{name} sequence: flip rate {flip_rates[name]:.4f}")
    finally:
        model.train(was_training)
    seen = [n for n in names if CORRUPTIONS[n].seen_in_training]
    seen += [n for n in sequence_names if get_sequence(n).seen_in_training and n not in seen]
    return RobustnessResult(
        data=data.name, seed=seed, images=count, frames=frames, clean_error=clean_wrong / count, errors=errors,
        hashes=hashes, flip_rates=flip_rates, sequence_hashes=sequence_hashes,
        seen_in_training=tuple(seen) if augmented else (),
    )


@dataclass
class Scores:
    """The ImageNet-C / -P scores of one group of corruptions and sequences (seen or not seen in training)."""

    corruptions: tuple[str, ...]
    mean_error: float
    corruption_errors: dict[str, float]
    mce: float
    relative_corruption_errors: dict[str, float]
    relative_mce: float
    relative_flip_rates: dict[str, float]
    mfr: float


@dataclass
class RobustnessSummary:
    """A model's scores against a reference: ``unseen`` (the headline numbers) and ``seen`` (corruptions
    and sequences its training augmentation applies), plus the undefined ratios' names."""

    clean_error: float
    reference_clean_error: float
    unseen: Scores
    seen: Scores
    undefined: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        """Plain data for strict JSON: an undefined ratio (NaN) becomes None (null)."""
        return _nan_to_none(asdict(self))


def _nan_to_none(value: object) -> object:
    if isinstance(value, dict):
        return {k: _nan_to_none(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_nan_to_none(v) for v in value]
    return None if isinstance(value, float) and math.isnan(value) else value


def compare(result: RobustnessResult, reference: RobustnessResult) -> RobustnessSummary:
    """Score ``result`` against ``reference`` (CE, mCE, relative mCE, mFR), checking first that both saw
    the same data set and the same corrupted images (a one-line ScalerError when not)."""
    if result.data != reference.data:
        raise ScalerError(
            f"the reference was evaluated on {reference.data!r}, the run on {result.data!r}: "
            "a reference must be trained on the same data set"
        )
    for name, by_severity in result.hashes.items():
        for severity, digest in by_severity.items():
            if reference.hashes.get(name, {}).get(severity) not in (None, digest):
                raise ScalerError(
                    f"the reference saw other {name} images at severity {severity} "
                    f"(seed {reference.seed} vs {result.seed}, {reference.images} vs {result.images} images, "
                    "or another resolution)"
                )
    seen = set(result.seen_in_training)

    def scores(chosen: set[str]) -> Scores:
        errors = {n: e for n, e in result.errors.items() if n in chosen}
        flips = {n: f for n, f in result.flip_rates.items() if n in chosen}
        ce = metrics.corruption_errors(errors, reference.errors)
        rce = metrics.relative_corruption_errors(errors, result.clean_error, reference.errors, reference.clean_error)
        rfr = metrics.relative_flip_rates(flips, reference.flip_rates)
        return Scores(
            corruptions=tuple(errors), mean_error=metrics.mean_error(errors),
            corruption_errors=ce, mce=metrics.mean_defined(ce),
            relative_corruption_errors=rce, relative_mce=metrics.mean_defined(rce),
            relative_flip_rates=rfr, mfr=metrics.mean_defined(rfr),
        )

    every = set(result.errors) | set(result.flip_rates)
    unseen, seen_scores = scores(every - seen), scores(every & seen)
    undefined = sorted(
        f"{kind} {name}"
        for group in (unseen, seen_scores)
        for kind, values in (("CE", group.corruption_errors), ("relative CE", group.relative_corruption_errors),
                             ("FR", group.relative_flip_rates))
        for name, value in values.items()
        if math.isnan(value)
    )
    return RobustnessSummary(clean_error=result.clean_error, reference_clean_error=reference.clean_error,
                             unseen=unseen, seen=seen_scores, undefined=undefined)
