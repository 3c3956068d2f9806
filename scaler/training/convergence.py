"""Is a training budget converged? A training measured again at twice its epochs, through the one store.

A proxy ranks nets only if their accuracies have stopped moving: trained twice as long, the base's
validation accuracy should change by less than ``CONVERGED_WITHIN`` points. ``scaler scale
--check-budget`` and ``scaler bench --check-budget`` train (or reuse) the base at E and 2E epochs here,
each a training of ``scaler.training.store`` under its own ``training_key`` (resumable, reused), and
show and write the two accuracies, the gap and the verdict.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING

from scaler.training.store import Store, Training

if TYPE_CHECKING:  # torch comes with these
    from scaler.data import DataConfig, Dataset

#: The largest change of validation accuracy, in points, from E to 2E epochs that counts as converged.
CONVERGED_WITHIN = 0.5


def doubled(training: Training) -> Training:
    """``training`` at twice its epochs (its run labelled ``epochs_check``)."""
    train = dataclasses.replace(training.train, epochs=2 * training.train.epochs)
    return dataclasses.replace(training, train=train, extra={**training.extra, "epochs_check": "2x"})


def convergence(store: Store, training: Training, data: Callable[[DataConfig], Dataset],
                log: Callable[[str], None] | None = None) -> dict:
    """``training`` and ``doubled(training)``, each trained or reused through ``store`` on ``data(cut)``
    (their progress on ``log``): their validation accuracies and ``verdict`` of them."""
    short, _ = store.train(training, data, log=log)
    long, _ = store.train(doubled(training), data, log=log)
    return verdict(training.train.epochs, short.get("val_acc"), long.get("val_acc"))


def verdict(epochs: int, val_acc: float | None, val_acc_2x: float | None) -> dict:
    """The check's figures as JSON: the epochs, the accuracy at E and 2E, the gap in points (2E minus E),
    ``converged`` (the gap within ``CONVERGED_WITHIN``; None when a training diverged) and the verdict."""
    gap = None if val_acc is None or val_acc_2x is None else 100 * (val_acc_2x - val_acc)
    converged = None if gap is None else abs(gap) <= CONVERGED_WITHIN
    words = {None: "unknown: a training diverged", True: "converged", False: "not converged: raise --epochs"}
    return {"epochs": epochs, "val_acc": val_acc, "epochs_2x": 2 * epochs, "val_acc_2x": val_acc_2x,
            "gap_points": gap, "within_points": CONVERGED_WITHIN, "converged": converged,
            "verdict": words[converged]}


def format_convergence(check: dict, what: str = "the base") -> str:
    """One line for people: ``budget check: the base's val acc 0.8123 at 2 epochs, 0.8311 at 4 (+1.88
    points): not converged: raise --epochs (within 0.5 point)``; ``what``: the model checked."""
    def acc(v: float | None) -> str:
        return "diverged" if v is None else f"{v:.4f}"

    gap = "" if check["gap_points"] is None else f" ({check['gap_points']:+.2f} points)"
    return (f"budget check: {what}'s val acc {acc(check['val_acc'])} at {check['epochs']} epoch(s), "
            f"{acc(check['val_acc_2x'])} at {check['epochs_2x']}{gap}: {check['verdict']} "
            f"(within {check['within_points']:g} point)")
