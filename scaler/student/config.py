"""What a self-training is told, as plain data (no torch, so the CLI reads it cheaply): ``StudentConfig``
and its checks, the ablations, RandAugment's magnitude scale."""

from __future__ import annotations

from dataclasses import dataclass

from scaler.errors import ScalerError
from scaler.training.fidelity import PROXY, ProxyFidelity

#: The magnitude scale of the RandAugment paper: M in 0..30.
MAX_MAGNITUDE = 30


def check_fraction(labels: float) -> float:
    """``labels`` if it is a fraction strictly between 0 and 1, else a ``ScalerError``."""
    if not 0 < labels < 1:
        raise ScalerError(f"--labels must be a fraction between 0 and 1 (exclusive), got {labels:g}")
    return labels


ABLATIONS = ("noise",)


@dataclass(frozen=True)
class StudentConfig:
    """What to self-train and how. ``dropout``/``drop_path``: the student's noise where its Spec sets none."""

    name: str = "default"
    base: str = "latest"
    labels: float = 0.1
    unlabeled: str | None = None
    iterations: int = 1
    same_size: bool = False
    hard: bool = False
    threshold: float = 0.3
    per_class: int | None = None
    ratio: float = 3.0
    ra_ops: int = 2
    ra_magnitude: float = 9.0
    dropout: float = 0.2
    drop_path: float = 0.2
    ablate: tuple[str, ...] = ()
    seeds: int = PROXY.seeds
    width: float = PROXY.width
    strides: str = PROXY.strides
    min_feature: int = PROXY.min_feature
    jobs: int | None = PROXY.jobs

    def __post_init__(self) -> None:
        check_fraction(self.labels)
        checks = [
            (self.iterations >= 1, f"--iterations must be at least 1, got {self.iterations}"),
            (0 <= self.threshold < 1, f"--threshold must be in [0, 1), got {self.threshold:g}"),
            (self.per_class is None or self.per_class >= 1, f"--per-class must be at least 1, got {self.per_class}"),
            (0 < self.ratio < float("inf"), f"--ratio must be positive, got {self.ratio:g}"),
            (self.ra_ops >= 0, f"--ra-ops must be at least 0, got {self.ra_ops}"),
            (0 <= self.ra_magnitude <= MAX_MAGNITUDE,
             f"--ra-magnitude must be in 0..{MAX_MAGNITUDE}, got {self.ra_magnitude:g}"),
            (0 <= self.dropout < 1 and 0 <= self.drop_path < 1, "--dropout and --drop-path must be in [0, 1)"),
        ]
        for ok, message in checks:
            if not ok:
                raise ScalerError(message)
        unknown = sorted(set(self.ablate) - set(ABLATIONS))
        if unknown:
            raise ScalerError(f"unknown ablation {unknown[0]!r}: use {', '.join(ABLATIONS)}")
        self.fidelity  # noqa: B018 (its checks)

    @property
    def fidelity(self) -> ProxyFidelity:
        return ProxyFidelity(width=self.width, strides=self.strides, min_feature=self.min_feature, seeds=self.seeds,
                             jobs=self.jobs)

    def noise(self) -> dict:
        """The noise as the training keys hold it."""
        return {"randaugment": [self.ra_ops, self.ra_magnitude], "dropout": self.dropout, "drop_path": self.drop_path}
