"""Errors that mean "bad input": the CLI prints them as one line and exits with code 2."""

from __future__ import annotations


class ScalerError(Exception):
    """A user-facing error: bad input (exit code 2) unless ``exit_code`` says otherwise."""

    exit_code: int = 2


class UnknownNameError(ScalerError):
    """A zoo model, data set, block type or option that does not exist."""


class RunFailedError(ScalerError):
    """Something went wrong while running (not the user's input): exit code 1."""

    exit_code = 1


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type name if it has none), for one-line errors."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
