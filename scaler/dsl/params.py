"""Open choices of a search space: what a Space leaves for the search to decide."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from scaler.dsl.values import format_value

Scalar = int | float | str | bool | tuple


@dataclass(frozen=True)
class Categorical:
    """One of a fixed set of values, written ``{3,5}``."""

    values: tuple

    def __contains__(self, value: object) -> bool:
        return value in self.values

    def text(self) -> str:
        return "{" + ",".join(format_value(v) for v in self.values) + "}"


@dataclass(frozen=True)
class IntRange:
    """An integer from ``low`` to ``high`` inclusive in steps of ``step``, written ``[1..4]`` or ``[16..64/8]``."""

    low: int
    high: int
    step: int = 1

    def text(self) -> str:
        return f"[{self.low}..{self.high}" + (f"/{self.step}" if self.step != 1 else "") + "]"

    def __contains__(self, value: object) -> bool:
        return isinstance(value, int) and self.low <= value <= self.high and (value - self.low) % self.step == 0

    @property
    def values(self) -> tuple[int, ...]:
        return tuple(range(self.low, self.high + 1, self.step))


@dataclass(frozen=True)
class Tied:
    """A reference ``$name`` to a choice declared once for the model and shared by every use."""

    name: str

    def text(self) -> str:
        return "$" + self.name


Param = Categorical | IntRange | Tied
PARAM_TYPES = (Categorical, IntRange, Tied)


class Trial(Protocol):
    """The part of ``optuna.trial.Trial`` a Space needs; any object with these methods will do."""

    def suggest_categorical(self, name: str, choices: list) -> object: ...

    def suggest_int(self, name: str, low: int, high: int, step: int = 1) -> int: ...


def suggest(trial: Trial, name: str, param: Categorical | IntRange) -> Scalar:
    """Ask ``trial`` for a value of ``param`` under ``name``."""
    if isinstance(param, IntRange):
        return trial.suggest_int(name, param.low, param.high, step=param.step)
    if all(isinstance(v, (int, float, str, bool)) for v in param.values):
        return trial.suggest_categorical(name, list(param.values))
    # Optuna stores only plain scalars: kernel pairs are chosen by index.
    index = trial.suggest_categorical(name, list(range(len(param.values))))
    return param.values[index]
