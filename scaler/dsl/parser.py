"""The DSL parser: text -> named Spaces and Specs, with errors located as file:line:col.

Grammar (one statement a line, ``#`` starts a comment)::

    model NAME [extends BASE]          at column 1; the indented lines below belong to it
      SETTING VALUE                    family, resolution, width, depth, divisor, dropout, ...
      choice NAME {a,b,...}|[lo..hi]   a choice shared by every ``$NAME`` that uses it
      stem|stage|head BLOCK OPTION...  a layer line; OPTION is ``k3``, ``k=3``, ``se0.25``, ``dw``,
                                       ``act=silu``, ``r2`` (repeats), ``k{3,5}``, ``r[1..4]``, ``k$kernel``

A model that extends another inherits its settings, choices and layers; its own settings replace
the inherited ones and its own layer lines, if any, replace all inherited layers.
Nothing in the text is ever evaluated as code.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scaler.dsl.blocks import BLOCK_TYPES, Layer, Linear, fields_by_key
from scaler.dsl.errors import DSLError
from scaler.dsl.model import PARTS, SETTINGS, Model, Space, Spec, make_model
from scaler.dsl.params import Categorical, IntRange, Tied
from scaler.dsl.values import format_value, parse_value

_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]*")
_CHOICE_NAME = re.compile(r"[a-z][a-z0-9_]*")
_RANGE = re.compile(r"\[([0-9]+)\.\.([0-9]+)(?:/([0-9]+))?\]")
_SHORT = re.compile(r"([a-z]+)([0-9.{\[$].*)")
_CLOSERS = {"{": "}", "[": "]"}


@dataclass(frozen=True)
class Token:
    text: str
    col: int


class _Located:
    """Raises DSLErrors at a line of a source."""

    def __init__(self, source: str, line: int):
        self.source = source
        self.line = line

    def error(self, message: str, col: int) -> DSLError:
        return DSLError(message, self.source, self.line, col)


def tokenize(line: str, where: _Located) -> list[Token]:
    """Split a line at white space, keeping ``{...}`` and ``[...]`` groups whole; drop the comment."""
    tokens: list[Token] = []
    i, n = 0, len(line)
    while i < n:
        ch = line[i]
        if ch == "#":
            break
        if ch.isspace():
            i += 1
            continue
        start = i
        while i < n and not line[i].isspace() and line[i] != "#":
            if line[i] in _CLOSERS:
                opener = line[i]
                close = line.find(_CLOSERS[opener], i)
                if close < 0:
                    raise where.error(f"unclosed '{opener}': expected '{_CLOSERS[opener]}'", i + 1)
                i = close
            elif line[i] in "}]":
                raise where.error(f"unexpected '{line[i]}'", i + 1)
            i += 1
        text = re.sub(r"\s+", "", line[start:i])
        tokens.append(Token(text, start + 1))
    return tokens


def _parse_scalar(text: str) -> Any:
    """A value of a declared choice, whose kind is known only where it is used."""
    # "count" and "ratio" too, so that 0 (se, dropout, padding) can be a declared choice's value;
    # each use checks the values against its own kind.
    for kind in ("count", "float", "ratio", "kernel", "word"):
        try:
            return parse_value(kind, text)
        except ValueError:
            continue
    raise ValueError(f"expected a number or a name, got {text!r}")


def _parse_param_or_value(kind: str, text: str, col: int, where: _Located,
                          declared: Mapping[str, Categorical | IntRange]) -> Any:
    """A value of ``kind``, or a choice of such values (``{..}``, ``[..]``, ``$name``)."""
    try:
        if text.startswith("{"):
            items = [item for item in text[1:-1].split(",")]
            if not items or any(item == "" for item in items):
                raise ValueError(f"expected values separated by commas, got {text!r}")
            values = tuple(parse_value(kind, item) for item in items)
            if len(set(values)) != len(values):
                raise ValueError(f"repeated value in {text!r}")
            return Categorical(values)
        if text.startswith("["):
            match = _RANGE.fullmatch(text)
            if not match or kind not in ("int", "count", "kernel"):
                raise ValueError(f"expected an integer range such as [1..4] or [16..64/8], got {text!r}")
            low, high, step = int(match.group(1)), int(match.group(2)), int(match.group(3) or 1)
            if step < 1 or high < low or (high - low) % step:
                raise ValueError(f"empty or uneven range {text!r}: need low <= high and (high - low) a multiple of the step")
            parse_value(kind, str(low))
            return IntRange(low, high, step)
        if text.startswith("$"):
            name = text[1:]
            if name not in declared:
                raise ValueError(f"unknown choice ${name}; declare it first with 'choice {name} {{...}}'")
            param = declared[name]
            # A range is checked at its ends: its values are whole numbers in between.
            for value in ((param.low, param.high) if isinstance(param, IntRange) else param.values):
                parse_value(kind, format_value(value))
            return Tied(name)
        return parse_value(kind, text)
    except ValueError as exc:
        raise where.error(str(exc), col) from None


def _parse_block(tokens: list[Token], part: str, where: _Located,
                 declared: Mapping[str, Categorical | IntRange]) -> Layer:
    """``BLOCK OPTION...`` -> a Layer with a typed block config."""
    if not tokens:
        raise where.error(f"expected a block type after '{part}': one of {', '.join(BLOCK_TYPES)}", 0)
    head, options = tokens[0], tokens[1:]
    cls = BLOCK_TYPES.get(head.text)
    if cls is None:
        raise where.error(f"unknown block type {head.text!r}; expected one of {', '.join(BLOCK_TYPES)}", head.col)
    keys = fields_by_key(cls)
    values: dict[str, Any] = {}
    repeats: Any = 1
    seen: set[str] = set()
    for token in options:
        if "=" in token.text:
            key, text = token.text.split("=", 1)
        else:
            match = _SHORT.fullmatch(token.text)
            key, text = (match.group(1), match.group(2)) if match else (token.text, "")
        if key in seen:
            raise where.error(f"option {key!r} given twice", token.col)
        seen.add(key)
        if key == "r":
            if not text:
                raise where.error("option 'r' (repeats) needs a value, e.g. r2", token.col)
            repeats = _parse_param_or_value("int", text, token.col, where, declared)
            continue
        f = keys.get(key)
        if f is None:
            known = ", ".join(list(keys) + ["r"])
            raise where.error(f"unknown option {key!r} for {cls.kind}; expected one of {known}", token.col)
        kind = f.metadata["kind"]
        if kind == "flag":
            if text:
                raise where.error(f"option {key!r} is a flag and takes no value", token.col)
            values[f.name] = True
            continue
        if not text:
            raise where.error(f"option {key!r} ({f.name}) needs a value, e.g. {key}=...", token.col)
        values[f.name] = _parse_param_or_value(kind, text, token.col, where, declared)
    missing = [f"{k} ({f.name})" for k, f in keys.items()
               if f.default is dataclasses.MISSING and f.name not in values]
    if missing:
        raise where.error(f"{cls.kind} needs {', '.join(missing)}", head.col)
    return Layer(part, cls(**values), repeats)


@dataclass
class _Draft:
    """A model being read: settings, choices and layers so far."""

    name: str
    line: int
    settings: dict[str, Any]
    choices: dict[str, Categorical | IntRange]
    layers: list[Layer]
    inherited_layers: bool
    declared_at: dict[str, tuple[int, int]] = field(default_factory=dict)  # choice -> (line, col) in this model


def _check_tied(draft: _Draft, source: str) -> None:
    """Every ``$name`` must fit the choice as finally declared: a choice declared again after its
    uses (or over an inherited one) is checked here, at its declaration."""
    uses = [(key, SETTINGS[key][0], value) for key, value in draft.settings.items()]
    for layer in draft.layers:
        uses.append(("r", "int", layer.repeats))
        uses.extend((f.metadata["key"], f.metadata["kind"], getattr(layer.block, f.name))
                    for f in dataclasses.fields(layer.block))
    for key, kind, value in uses:
        if isinstance(value, Tied) and value.name in draft.declared_at:
            for item in draft.choices[value.name].values:
                try:
                    parse_value(kind, format_value(item))
                except ValueError as exc:
                    line, col = draft.declared_at[value.name]
                    raise DSLError(f"choice ${value.name} is used by {key!r}: {exc}", source, line, col) from None


def _finish(draft: _Draft, source: str) -> Model:
    _check_tied(draft, source)
    where = _Located(source, draft.line)
    if not draft.layers:
        raise where.error(f"model {draft.name!r} has no layers (stem/stage/head lines)", 1)
    last = draft.layers[-1]
    if not (last.part == "head" and isinstance(last.block, Linear) and last.block.channels is None):
        raise where.error(f"model {draft.name!r} must end with the classifier 'head fc' (no c)", 1)
    return make_model(name=draft.name, layers=tuple(draft.layers), choices=tuple(draft.choices.items()),
                      source=source, **draft.settings)


def parse_text(text: str, source: str = "<text>", library: Mapping[str, Model] | None = None) -> dict[str, Model]:
    """Every model a DSL text defines, by name; ``library`` holds models it may extend."""
    library = library or {}
    models: dict[str, Model] = {}
    draft: _Draft | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        where = _Located(source, number)
        tokens = tokenize(raw, where)
        if not tokens:
            continue
        first = tokens[0]
        if first.col == 1:
            if draft is not None:
                models[draft.name] = _finish(draft, source)
            draft = _start_model(tokens, where, models, library)
            continue
        if draft is None:
            raise where.error("expected 'model NAME' at the start of a line before any indented line", first.col)
        _body_line(draft, tokens, where)
    if draft is not None:
        models[draft.name] = _finish(draft, source)
    if not models:
        raise DSLError("no model defined (expected a line 'model NAME')", source, 1, 1)
    return models


def _start_model(tokens: list[Token], where: _Located, models: Mapping[str, Model],
                 library: Mapping[str, Model]) -> _Draft:
    if tokens[0].text != "model":
        raise where.error(f"expected 'model NAME', got {tokens[0].text!r} (body lines must be indented)", 1)
    if len(tokens) < 2 or not _NAME.fullmatch(tokens[1].text):
        col = tokens[1].col if len(tokens) > 1 else len(tokens[0].text) + 2
        raise where.error("expected a model name (lower-case letters, digits, '-', '_', '.') after 'model'", col)
    name = tokens[1].text
    if name in models:
        raise where.error(f"model {name!r} is defined twice in this file", tokens[1].col)
    draft = _Draft(name, where.line, {}, {}, [], False)
    rest = tokens[2:]
    if rest:
        if rest[0].text != "extends" or len(rest) != 2:
            raise where.error("expected 'extends BASE' or the end of the line", rest[0].col)
        base = models.get(rest[1].text) or library.get(rest[1].text)
        if base is None:
            raise where.error(f"unknown base model {rest[1].text!r}", rest[1].col)
        draft.settings = base.settings()
        draft.choices = dict(base.choices)
        draft.layers = list(base.layers)
        draft.inherited_layers = True
    return draft


def _body_line(draft: _Draft, tokens: list[Token], where: _Located) -> None:
    keyword = tokens[0]
    if keyword.text in PARTS:
        if draft.inherited_layers:
            draft.layers, draft.inherited_layers = [], False
        draft.layers.append(_parse_block(tokens[1:], keyword.text, where, draft.choices))
        return
    if keyword.text == "choice":
        if len(tokens) != 3 or not _CHOICE_NAME.fullmatch(tokens[1].text):
            raise where.error("expected 'choice NAME {a,b,...}' or 'choice NAME [low..high]'", keyword.col)
        name, values = tokens[1], tokens[2]
        if values.text.startswith("{"):
            try:
                items = tuple(_parse_scalar(item) for item in values.text[1:-1].split(","))
            except ValueError as exc:
                raise where.error(str(exc), values.col) from None
            if len(set(items)) != len(items):
                raise where.error(f"repeated value in {values.text!r}", values.col)
            draft.choices[name.text] = Categorical(items)
            draft.declared_at[name.text] = (where.line, values.col)
        else:
            param = _parse_param_or_value("count", values.text, values.col, where, {})
            if not isinstance(param, IntRange):
                raise where.error("expected {a,b,...} or [low..high] after the choice name", values.col)
            draft.choices[name.text] = param
            draft.declared_at[name.text] = (where.line, values.col)
        return
    if keyword.text in SETTINGS:
        if len(tokens) != 2:
            col = tokens[2].col if len(tokens) > 2 else keyword.col + len(keyword.text) + 1
            raise where.error(f"expected one value after {keyword.text!r}", col)
        kind = SETTINGS[keyword.text][0]
        draft.settings[keyword.text] = _parse_param_or_value(kind, tokens[1].text, tokens[1].col, where, draft.choices)
        return
    expected = ", ".join(list(PARTS) + ["choice"] + list(SETTINGS))
    raise where.error(f"unknown statement {keyword.text!r}; expected one of {expected}", keyword.col)


def parse_file(path: str | Path, library: Mapping[str, Model] | None = None) -> dict[str, Model]:
    """Every model defined in a DSL file; a missing or unreadable file is a DSLError too."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DSLError("no such file", str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DSLError(f"cannot read: {exc}", str(path)) from None
    return parse_text(text, str(path), library)


def parse_spec(text: str, source: str = "<text>", library: Mapping[str, Model] | None = None) -> Spec:
    """The one fixed model of a text (the last, if it defines several)."""
    model = list(parse_text(text, source, library).values())[-1]
    return require_spec(model)


def require_spec(model: Model) -> Spec:
    """``model`` as a Spec, or a DSLError naming the choices it leaves open."""
    if isinstance(model, Space):
        names = list(model.params())
        open_ = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
        raise DSLError(f"model {model.name!r} is a search space, a fixed model is needed (open choices: {open_})",
                       model.source)
    assert isinstance(model, Spec)
    return model
