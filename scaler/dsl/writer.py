"""Spec/Space -> DSL text that parses back to an equal model."""

from __future__ import annotations

import re

from scaler.dsl.blocks import block_fields
from scaler.dsl.model import SETTINGS, Layer, Model
from scaler.dsl.params import PARAM_TYPES
from scaler.dsl.values import format_value

_LETTERS = re.compile(r"[a-z]+")


def _option(key: str, value: object) -> str:
    text = value.text() if isinstance(value, PARAM_TYPES) else format_value(value)
    # Short form (k3, se0.25) where the key is all letters and the value starts like a number or choice.
    if _LETTERS.fullmatch(key) and re.match(r"[0-9.{\[$]", text):
        return key + text
    return f"{key}={text}"


def write_layer(layer: Layer) -> str:
    """One layer line, options in declaration order, defaults left out."""
    words = [layer.part.ljust(5), layer.block.kind]
    for f in block_fields(type(layer.block)):
        value = getattr(layer.block, f.name)
        if value == f.default and not isinstance(value, PARAM_TYPES):
            continue
        if f.metadata["kind"] == "flag":
            words.append(f.metadata["key"])
        else:
            words.append(_option(f.metadata["key"], value))
    if layer.repeats != 1:
        words.append(_option("r", layer.repeats))
    return " ".join(words)


def write_model(model: Model) -> str:
    """The whole model: choices first (a setting may use them), then settings that differ from the
    defaults, then layers."""
    lines = [f"model {model.name}"]
    for name, param in model.choices:
        lines.append(f"  choice {name} {param.text()}")
    for key, (_, default) in SETTINGS.items():
        value = getattr(model, key)
        if value != default or isinstance(value, PARAM_TYPES):
            text = value.text() if isinstance(value, PARAM_TYPES) else format_value(value)
            lines.append(f"  {key} {text}")
    lines.extend("  " + write_layer(layer) for layer in model.layers)
    return "\n".join(lines) + "\n"
