"""The labelled split and the teacher's pseudo-labels.

``labelled_split`` keeps a stratified, seeded fraction of the training images labelled; the rest
is the unlabelled pool, whose labels no training sees (they only score the pseudo-labels). The
split indexes the training split alone, so no validation or test image can enter the pool.
``pseudo_labels`` follows the Noisy Student reference code: the teacher in eval mode on the
un-augmented pool (``teacher_probs``: no dropout, no stochastic depth, no RandAugment), soft labels
(its softmax) or hard ones (one-hot of its argmax), images under a confidence threshold dropped,
then the classes balanced to one count each: a crowded class keeps its most confident images, a
sparse one has its images duplicated (whole copies, then its most confident again).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from scaler.errors import ScalerError
from scaler.student.config import check_fraction


def labelled_split(y: Tensor, fraction: float, seed: int) -> tuple[Tensor, Tensor]:
    """(labelled rows, pool rows) of training labels ``y``, both sorted: per class ``round(fraction *
    count)`` rows (at least 1, at most all but one) chosen by a permutation seeded with ``seed``."""
    check_fraction(fraction)
    y = y.cpu()
    gen = torch.Generator().manual_seed(seed)
    labelled = []
    for c in torch.unique(y).tolist():
        rows = (y == c).nonzero().flatten()
        take = min(max(1, round(fraction * len(rows))), max(1, len(rows) - 1))
        labelled.append(rows[torch.randperm(len(rows), generator=gen)[:take]])
    chosen = torch.cat(labelled).sort().values
    mask = torch.ones(len(y), dtype=torch.bool)
    mask[chosen] = False
    return chosen, mask.nonzero().flatten()


def digest(*tensors: Tensor) -> str:
    """A short hash of the tensors' values (a split's rows, a pseudo-label set): what a training key holds."""
    h = hashlib.sha256()
    for t in tensors:
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


@torch.no_grad()
def teacher_probs(model: nn.Module, x: Tensor, batch_size: int = 512) -> Tensor:
    """The teacher's softmax on ``x`` in eval mode (float32, on ``x``'s device); its mode is put back."""
    was_training = model.training
    model.eval()
    out = [torch.softmax(model(x[i:i + batch_size].contiguous(memory_format=torch.channels_last)).float(), 1)
           for i in range(0, len(x), batch_size)]
    model.train(was_training)
    return torch.cat(out)


@dataclass(frozen=True)
class PseudoLabels:
    """A pseudo-labelled set: ``rows`` of the pool (a row twice where its class was duplicated), the
    ``targets`` the student learns (one distribution per row), and how good they are where the pool's
    labels are known (None for an outside pool)."""

    rows: Tensor
    targets: Tensor
    per_class: int
    confident: int  # pool images at or above the threshold
    pool_acc: float | None  # the teacher's argmax against the hidden labels, over the whole pool
    kept_acc: float | None  # the same over the balanced set (duplicates counted)

    @property
    def digest(self) -> str:
        return digest(self.rows, self.targets)

    def summary(self) -> dict:
        return {"images": len(self.rows), "per_class": self.per_class, "confident": self.confident,
                "pool_acc": self.pool_acc, "kept_acc": self.kept_acc, "digest": self.digest}


def pseudo_labels(probs: Tensor, threshold: float = 0.3, hard: bool = False, per_class: int | None = None,
                  hidden: Tensor | None = None) -> PseudoLabels:
    """The balanced pseudo-label set of a teacher's ``probs`` over the pool (rows of ``probs``).

    ``per_class`` None: the confident images over the classes (at least 1). ``hidden``: the pool's true
    labels, only to score the pseudo-labels. A class with no confident image stays empty.
    """
    probs = probs.float().cpu()
    confidence, label = probs.max(1)
    confident = (confidence >= threshold).nonzero().flatten()
    if len(confident) == 0:
        raise ScalerError(f"no pool image reaches the confidence threshold {threshold:g}: lower --threshold")
    count = per_class or max(1, len(confident) // probs.shape[1])
    rows = []
    for c in range(probs.shape[1]):
        mine = confident[label[confident] == c]
        if len(mine) == 0:
            continue
        mine = mine[confidence[mine].argsort(descending=True, stable=True)]
        rows.append(torch.cat([mine.repeat(count // len(mine)), mine[: count % len(mine)]]))
    chosen = torch.cat(rows)
    targets = nn.functional.one_hot(label[chosen], probs.shape[1]).float() if hard else probs[chosen]
    pool_acc = kept_acc = None
    if hidden is not None:
        hidden = hidden.cpu()
        pool_acc = (label == hidden).float().mean().item()
        kept_acc = (label[chosen] == hidden[chosen]).float().mean().item()
    return PseudoLabels(chosen, targets, count, len(confident), pool_acc, kept_acc)
