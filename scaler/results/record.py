"""The run record (``runs/<run-id>/run.json``): one typed dataclass, its version, and how records
written by older versions read.

``scaler.training.fit`` fills the trained fields, ``scaler.results.save_run`` adds the envelope
(``run_id``, ``kind``, ``created``, ``extra``, ``schema_version``) and writes it, and the loaders read
it back through ``upgrade``. The dashboard's Runs table, a subset of it,
is named here, so that a field renamed or dropped fails at import rather than in a reader.

Versions: 1 had no ``mean``, ``std`` and ``class_names`` (read as None: such a run exports as before,
its input normalised); 2 adds them, and what the trainer ran: ``precision``, ``channels_last``, ``backend``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from scaler.results.schema import SCHEMA_VERSION

#: The envelope ``save_run`` adds to what ``fit`` measured.
ENVELOPE = ("schema_version", "run_id", "kind", "created", "extra")


@dataclass(frozen=True)
class RunRecord:
    """One trained model: what was trained on what, how it went, and what deploying it needs.

    ``spec`` is DSL text; ``data`` and ``train`` are the configs as dicts; ``status`` is "ok" or
    "diverged"; accuracies and losses are None when not evaluated or diverged; ``latency_ms`` is one
    image on ``device``; ``history`` has one dict per report (``epoch``, ``train_loss``, ``val_loss``,
    ``val_acc``, ``lr``, ...); ``mean``/``std`` normalise input pixels in [0, 1] per channel;
    ``class_names`` are by output index; ``extra`` is free-form (``study``, ``trial``, ``phi``, ...).
    Fields are None where an older record lacks them.
    """

    name: str | None = None
    family: str | None = None
    spec: str | None = None
    status: str | None = None
    resolution: int | None = None
    params: int | None = None
    macs: int | None = None
    acts: int | None = None
    val_acc: float | None = None
    val_loss: float | None = None
    test_acc: float | None = None
    latency_ms: float | None = None
    train_time_s: float | None = None
    images_per_s: float | None = None
    epochs_run: float | None = None
    device: str | None = None
    world_size: int | None = None
    precision: str | None = None
    channels_last: bool | None = None
    backend: str | None = None
    train: dict = field(default_factory=dict)
    history: list[dict] = field(default_factory=list)
    data: dict = field(default_factory=dict)
    in_channels: int | None = None
    num_classes: int | None = None
    mean: list[float] | None = None
    std: list[float] | None = None
    class_names: list[str] | None = None
    schema_version: int = SCHEMA_VERSION
    run_id: str | None = None
    kind: str | None = None
    created: str | None = None
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The record as ``run.json`` holds it; an envelope not added yet (before ``save_run``) is left out."""
        out = dataclasses.asdict(self)
        for key in ("run_id", "kind", "created"):
            if out[key] is None:
                del out[key]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunRecord:
        """A record from its JSON form, any version: fields it lacks take their defaults, unknown keys are dropped."""
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})


FIELDS = tuple(f.name for f in dataclasses.fields(RunRecord))


def fields_of(*names: str) -> tuple[str, ...]:
    """``names``, each checked to be a field of the run record."""
    unknown = [name for name in names if name not in FIELDS]
    if unknown:
        raise AssertionError(f"not run record fields: {', '.join(unknown)}")
    return names


def upgrade(data: dict[str, Any]) -> dict[str, Any]:
    """A loaded ``run.json`` with every field of this version (None where an older version lacks it);
    other keys are kept, since readers of loose records (the dashboard) also read older layouts."""
    defaults = RunRecord().as_dict()
    return {**{key: value for key, value in defaults.items() if key not in ENVELOPE}, **data}


#: The run record's fields in the dashboard's Runs table.
TABLE = fields_of("run_id", "kind", "name", "family", "created", "status", "resolution", "params", "macs", "acts",
                  "val_acc", "test_acc", "latency_ms", "train_time_s", "images_per_s", "device", "spec")
