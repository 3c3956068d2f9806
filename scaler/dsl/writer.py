"""Layers and model parts -> DSL text that parses back to an equal model.

The writer takes plain data (a name, choices, the settings to write, layers), so that it depends on
the block configs only and ``Model.text()`` can call it without an import cycle.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from scaler.dsl.blocks import Layer, block_fields
from scaler.dsl.params import PARAM_TYPES, Param
from scaler.dsl.values import format_value

_LETTERS = re.compile(r"[a-z]+")


def _text(value: object) -> str:
    return value.text() if isinstance(value, PARAM_TYPES) else format_value(value)


def _option(key: str, value: object) -> str:
    text = _text(value)
    # Short form (k3, se0.25) where the key is all letters and the value starts like a number or choice.
    if _LETTERS.fullmatch(key) and re.match(r"[0-9.{\[$]", text):
        return key + text
    return f"{key}={text}"


def write_layer(layer: Layer) -> str:
    """One layer line, options in declaration order, defaults left out."""
    words = [layer.part.ljust(5), layer.block.kind]
    for f in block_fields(type(layer.block)):
        value = getattr(layer.block, f.name)
        if value == f.default:  # a choice never equals a default
            continue
        if f.metadata["kind"] == "flag":
            words.append(f.metadata["key"])
        else:
            words.append(_option(f.metadata["key"], value))
    if layer.repeats != 1:
        words.append(_option("r", layer.repeats))
    return " ".join(words)


def write_model(name: str, choices: Iterable[tuple[str, Param]], settings: Mapping[str, Any],
                layers: Iterable[Layer]) -> str:
    """A whole model: choices first (a setting may use them), then ``settings`` (those to write, by
    DSL keyword), then layers."""
    lines = [f"model {name}"]
    lines.extend(f"  choice {choice} {param.text()}" for choice, param in choices)
    lines.extend(f"  {key} {_text(value)}" for key, value in settings.items())
    lines.extend("  " + write_layer(layer) for layer in layers)
    return "\n".join(lines) + "\n"
