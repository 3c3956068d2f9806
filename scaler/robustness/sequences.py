"""Perturbation sequences for the flip rate (after ImageNet-P, Hendrycks & Dietterich 2019).

A sequence is ``frames`` versions of each test image. Noise sequences are the image under fresh
noise in every frame (the strength of the corruption's severity 1), and a prediction flips when it
differs from the first frame's, since consecutive noise frames are no closer to each other than to
the first. Geometric sequences move the clean image a small step further in every frame (frame 0 is
the image itself), and a prediction flips when it differs from the previous frame's. ImageNet-P
uses 30-31 frames on 224 px images; ``DEFAULT_FRAMES`` is shorter to keep the cost at about eleven
test-set passes per sequence, and the steps are sized so the last frame sits near the corruptions'
severity 3 (rotate 15 degrees, shear 0.2, scale 20%, translate 10 px at 32 px is beyond the trainer's
crops). Randomness (the noise, and each image's direction of motion) comes from a CPU generator.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from scaler.errors import ScalerError, UnknownNameError
from scaler.robustness.corruptions import CORRUPTIONS, rotate_by, scale_by, shear_by, translate_by

DEFAULT_FRAMES = 11

Step = Callable[[Tensor, Tensor, float], Tensor]
"""A geometric frame: (images, each image's random motion, frame index) -> images."""
Motion = Callable[[int, torch.Generator], Tensor]
"""Each of n images' random motion: a sign (N) or a direction (N x 2)."""


def _signs(n: int, generator: torch.Generator) -> Tensor:
    return torch.randint(0, 2, (n,), generator=generator).float() * 2 - 1


def _axes(n: int, generator: torch.Generator) -> Tensor:
    """One of right, left, down, up per image."""
    axes = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    return axes[torch.randint(0, 4, (n,), generator=generator)]


def _rotate_step(x: Tensor, sign: Tensor, t: float) -> Tensor:
    return rotate_by(x, 1.5 * t * sign)


def _shear_step(x: Tensor, sign: Tensor, t: float) -> Tensor:
    return shear_by(x, 0.02 * t * sign)


def _scale_step(x: Tensor, sign: Tensor, t: float) -> Tensor:
    return scale_by(x, 1 + 0.02 * t * sign)


def _translate_step(x: Tensor, direction: Tensor, t: float) -> Tensor:
    """One pixel per frame (at 32 px, whole pixels) along the image's axis-aligned direction."""
    return translate_by(x, (direction * t * x.shape[-2] / 32).round())


@dataclass(frozen=True)
class Perturbation:
    """A perturbation sequence: noise (``corruption`` at severity 1 in every frame, flips against the
    first frame) or geometric (``step`` with each image's ``motion``, flips against the previous frame)."""

    name: str
    kind: str
    corruption: str = ""
    step: Step | None = None
    motion: Motion = _signs

    @property
    def seen_in_training(self) -> bool:
        """Whether the trainer's augmentation applies this motion (the crops translate)."""
        return self.name in CORRUPTIONS and CORRUPTIONS[self.name].seen_in_training

    @property
    def against_first(self) -> bool:
        return self.kind == "noise"


SEQUENCES: dict[str, Perturbation] = {
    p.name: p
    for p in (
        Perturbation("gaussian_noise", "noise", corruption="gaussian_noise"),
        Perturbation("shot_noise", "noise", corruption="shot_noise"),
        Perturbation("speckle_noise", "noise", corruption="speckle_noise"),
        Perturbation("rotate", "geometric", step=_rotate_step),
        Perturbation("shear", "geometric", step=_shear_step),
        Perturbation("scale", "geometric", step=_scale_step),
        Perturbation("translate", "geometric", step=_translate_step, motion=_axes),
    )
}
SEQUENCE_NAMES = tuple(SEQUENCES)


def get_sequence(name: str) -> Perturbation:
    """The perturbation sequence ``name``, else a one-line UnknownNameError."""
    key = name.strip().lower().replace("-", "_")
    if key not in SEQUENCES:
        raise UnknownNameError(f"unknown perturbation sequence {name!r}: known are {', '.join(SEQUENCE_NAMES)}")
    return SEQUENCES[key]


def check_frames(frames: int) -> int:
    """``frames`` if a sequence can have that many (at least 2), else a one-line ScalerError."""
    if frames < 2:
        raise ScalerError(f"a perturbation sequence needs at least 2 frames, got {frames}")
    return frames


def perturbation_frames(images: Tensor, name: str, frames: int, generator: torch.Generator) -> list[Tensor]:
    """The ``frames`` frames of sequence ``name`` for ``images`` (N x C x H x W in [0, 1]), each like ``images``."""
    sequence = get_sequence(name)
    check_frames(frames)
    if sequence.step is None:
        fn = CORRUPTIONS[sequence.corruption].fn
        return [fn(images, 1, generator) for _ in range(frames)]
    motion = sequence.motion(len(images), generator)
    return [sequence.step(images, motion, float(t)).clamp(0, 1) for t in range(frames)]
