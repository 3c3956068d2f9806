"""The batches a student (or its supervised baseline) trains on: the trainer's ``BatchSource``.

Every batch holds labelled and pseudo-labelled images at a set ratio (``ratio`` unlabelled per
labelled: 3 makes a batch of 128 hold 32 labelled and 96 pseudo-labelled images), in one forward
pass; an epoch is one pass over the pseudo-labelled set while the labelled images cycle through
fresh permutations. Without a pseudo-labelled set every image of the batch is labelled and the
number of steps is given, so a supervised baseline passes exactly as many images as its student.
Targets are distributions (labelled images one-hot, smoothed as the trainer smooths; pseudo-labelled
ones the teacher's), and the loss is the cross-entropy against them. RandAugment
(``scaler.student.noise``) is applied to the whole batch when the noise is on.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from scaler.student.noise import rand_augment


@dataclass(frozen=True)
class RandAugment:
    """RandAugment's settings and the statistics the images were normalised with."""

    ops: int
    magnitude: float
    mean: Sequence[float]
    std: Sequence[float]


class MixedBatches:
    """Labelled images ``x_l`` (targets ``t_l``) and pseudo-labelled ones ``x_u`` (targets ``t_u``) mixed
    ``ratio`` : 1 in each batch; ``steps``: steps per epoch where there is no pseudo-labelled set."""

    def __init__(self, x_l: Tensor, t_l: Tensor, x_u: Tensor | None = None, t_u: Tensor | None = None,
                 ratio: float = 3.0, steps: int | None = None, noise: RandAugment | None = None,
                 seed: int = 0) -> None:
        self.x_l, self.t_l, self.x_u, self.t_u = x_l, t_l, x_u, t_u
        self.ratio, self.steps, self.noise = ratio, steps, noise
        self.noise_gen = torch.Generator(device=x_l.device).manual_seed(seed + 7_919)

    def split(self, batch_size: int) -> tuple[int, int]:
        """(labelled, pseudo-labelled) images per batch."""
        if self.x_u is None:
            return batch_size, 0
        unlabelled = unlabelled_share(batch_size, self.ratio)
        return batch_size - unlabelled, unlabelled

    def steps_per_epoch(self, batch_size: int) -> int:
        if self.x_u is None:
            return self.steps or max(1, len(self.x_l) // batch_size)
        return max(1, len(self.x_u) // self.split(batch_size)[1])

    def epoch(self, batch_size: int, generator: torch.Generator) -> Iterator[tuple[Tensor, Tensor]]:
        n_l, n_u = self.split(batch_size)
        steps = self.steps_per_epoch(batch_size)
        need = steps * n_l
        order_l = torch.cat([torch.randperm(len(self.x_l), generator=generator)
                             for _ in range(-(-need // len(self.x_l)))]).to(self.x_l.device)
        order_u = torch.randperm(len(self.x_u), generator=generator).to(self.x_l.device) if self.x_u is not None else None
        for i in range(steps):
            il = order_l[i * n_l:(i + 1) * n_l]
            x, t = self.x_l[il], self.t_l[il]
            if order_u is not None:
                iu = order_u[i * n_u:(i + 1) * n_u]
                x, t = torch.cat([x, self.x_u[iu]]), torch.cat([t, self.t_u[iu]])  # type: ignore[index]
            if self.noise is not None:
                x = rand_augment(x, self.noise.mean, self.noise.std, self.noise.ops, self.noise.magnitude,
                                 self.noise_gen)
            yield x, t

    def loss(self, logits: Tensor, targets: Tensor) -> Tensor:
        return F.cross_entropy(logits, targets)

    def generators(self) -> Sequence[torch.Generator]:
        return [self.noise_gen]


def unlabelled_share(batch_size: int, ratio: float) -> int:
    """Pseudo-labelled images in a batch of ``batch_size`` at ``ratio`` per labelled one (at least one of each)."""
    return min(batch_size - 1, max(1, round(batch_size * ratio / (ratio + 1))))


def one_hot(y: Tensor, classes: int, smoothing: float) -> Tensor:
    """Labels as distributions, smoothed as ``nn.CrossEntropyLoss(label_smoothing=...)`` smooths them."""
    return F.one_hot(y, classes).float() * (1 - smoothing) + smoothing / classes
