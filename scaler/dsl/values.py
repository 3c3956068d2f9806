"""Scalar values of the DSL: how each kind of option is read from and written to text."""

from __future__ import annotations

import math
import re

ACTIVATIONS = ("relu", "relu6", "silu", "gelu", "hswish", "sigmoid", "none")
NORMS = ("bn", "gn", "none")
# How a depth multiplier turns repeats into whole blocks: EfficientNet's ceil, or to the nearest
# (half up), which keeps the total depth close to depth x repeats (timm's depth_trunc="round").
DEPTH_ROUNDINGS = ("ceil", "round")

_INT = re.compile(r"[0-9]+")
_FLOAT = re.compile(r"[0-9]*\.?[0-9]+(e-?[0-9]+)?")
_PAIR = re.compile(r"([0-9]+)x([0-9]+)")
_WORD = re.compile(r"[a-z][a-z0-9_.-]*")


def parse_value(kind: str, text: str) -> int | float | str | tuple[int, int]:
    """Read ``text`` as a value of ``kind``; raise ValueError saying what was expected."""
    if kind in ("int", "count"):
        if not _INT.fullmatch(text):
            raise ValueError(f"expected a whole number, got {text!r}")
        value = int(text)
        if kind == "int" and value < 1:
            raise ValueError(f"expected a whole number of at least 1, got {text!r}")
        return value
    if kind in ("float", "ratio"):
        if not _FLOAT.fullmatch(text):
            raise ValueError(f"expected a number, got {text!r}")
        value = float(text)
        if not math.isfinite(value):
            raise ValueError(f"expected a finite number, got {text!r}")
        if kind == "ratio" and not 0.0 <= value < 1.0:
            raise ValueError(f"expected a fraction in [0, 1), got {text!r}")
        if kind == "float" and value <= 0.0:
            raise ValueError(f"expected a positive number, got {text!r}")
        return value
    if kind == "kernel":
        pair = _PAIR.fullmatch(text)
        if pair:
            kh, kw = int(pair.group(1)), int(pair.group(2))
            if kh < 1 or kw < 1:
                raise ValueError(f"expected kernel sizes of at least 1, got {text!r}")
            return kh if kh == kw else (kh, kw)
        return parse_value("int", text)
    if kind == "act":
        if text not in ACTIVATIONS:
            raise ValueError(f"unknown activation {text!r}; expected one of {', '.join(ACTIVATIONS)}")
        return text
    if kind == "norm":
        if text not in NORMS:
            raise ValueError(f"unknown norm {text!r}; expected one of {', '.join(NORMS)}")
        return text
    if kind == "rounding":
        if text not in DEPTH_ROUNDINGS:
            raise ValueError(f"unknown depth rounding {text!r}; expected one of {', '.join(DEPTH_ROUNDINGS)}")
        return text
    if kind == "word":
        if not _WORD.fullmatch(text):
            raise ValueError(f"expected a name (letters, digits, '-', '_', '.'), got {text!r}")
        return text
    raise AssertionError(f"unknown value kind {kind}")


def format_value(value: object) -> str:
    """Write a scalar so that ``parse_value`` reads it back equal."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return f"{value[0]}x{value[1]}"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        text = repr(value)
        return text.replace("e-0", "e-").replace("e+", "e") if "e" in text else text
    return str(value)
