"""What a saved Spec was trained for: the data set, its class count and its input channels.

A Spec counts differently for 10 classes and 1 channel than for ImageNet's 1000 and 3, and the DSL
text does not say which (the head ``fc`` takes its outputs from the data). A file that saves a trained
or searched Spec (a search's ``best.arch``, a scaling rung, a run's ``model.arch``) starts with one
comment line naming it, so the file stays plain DSL that any parser reads, the Spec stays the same
plain data, and ``scaler inspect`` counts the network that was trained.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

#: The comment line's start; the rest of the line is a JSON object of the fields.
PREFIX = "# trained-for: "


@dataclass(frozen=True)
class TrainedFor:
    """The data set a Spec was trained on, its number of classes and its input channels."""

    data: str
    classes: int
    in_channels: int

    def header(self) -> str:
        """The comment line (newline included) that ``read_trained_for`` reads back."""
        return PREFIX + json.dumps(asdict(self)) + "\n"

    def mark(self, text: str) -> str:
        """DSL ``text`` with this header first (an older header replaced)."""
        body = [line for line in text.splitlines(keepends=True) if not line.startswith(PREFIX)]
        return self.header() + "".join(body)


def read_trained_for(text: str) -> TrainedFor | None:
    """The header of a saved Spec's text, or None when the comments before the first statement have none
    (a hand-written or older file) or it does not read as one."""
    for line in text.splitlines():
        if line.startswith(PREFIX):
            try:
                fields = json.loads(line[len(PREFIX):])
                found = TrainedFor(str(fields["data"]), fields["classes"], fields["in_channels"])
            except (ValueError, KeyError, TypeError):
                return None
            ok = all(isinstance(n, int) and not isinstance(n, bool) and n >= 1
                     for n in (found.classes, found.in_channels))
            return found if ok else None
        if line.strip() and not line.lstrip().startswith("#"):
            return None
    return None


def file_trained_for(target: str | Path) -> TrainedFor | None:
    """The header of the DSL file ``target``, or None for a zoo name, a file without one or one that cannot be read."""
    path = Path(target)
    try:
        return read_trained_for(path.read_text(encoding="utf-8-sig")) if path.is_file() else None
    except (OSError, UnicodeDecodeError):
        return None
