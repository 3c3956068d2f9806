"""Space and Spec: a network as stem, stages and head, with choices open (Space) or fixed (Spec)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from scaler.dsl.blocks import Block, Layer, Linear, block_fields
from scaler.dsl.params import PARAM_TYPES, Categorical, IntRange, Param, Scalar, Tied, Trial, suggest
from scaler.dsl.writer import write_model
from scaler.errors import ScalerError

PARTS = ("stem", "stage", "head")


def setting(kind: str, default: Any) -> Any:
    """A model-level setting: its DSL keyword is the field's name, its value is read as ``kind``."""
    return field(default=default, metadata={"kind": kind})


@dataclass(frozen=True)
class BlockInstance:
    """One block of the expanded network: widths scaled, repeats unrolled, defaults filled in."""

    layer: int
    part: str
    block: Block
    drop_path: float = 0.0


@dataclass(frozen=True)
class Model:
    """Fields shared by Space and Spec. ``source`` says where it was defined and is not compared.

    The settings' fields are the one place their DSL kinds and defaults are written (``SETTINGS``).
    """

    name: str
    layers: tuple[Layer, ...]
    family: Any = setting("word", "custom")
    resolution: Any = setting("int", 224)
    width: Any = setting("float", 1.0)
    depth: Any = setting("float", 1.0)
    depth_round: Any = setting("rounding", "ceil")
    divisor: Any = setting("int", 8)
    dropout: Any = setting("ratio", 0.0)
    drop_path: Any = setting("ratio", 0.0)
    act: Any = setting("act", "relu")
    norm: Any = setting("norm", "bn")
    bn_eps: Any = setting("float", 1e-5)
    gn_groups: Any = setting("int", 32)
    choices: tuple[tuple[str, Param], ...] = ()
    source: str = field(default="<text>", compare=False)

    def settings(self) -> dict[str, Any]:
        """The model-level settings by DSL keyword."""
        return {key: getattr(self, key) for key in SETTINGS}

    def text(self) -> str:
        """This model as DSL text that parses back to an equal model; settings at their defaults are left out."""
        changed = {key: value for key, value in self.settings().items() if value != SETTINGS[key][1]}
        return write_model(self.name, self.choices, changed, self.layers)

    def layer_paths(self) -> Iterator[tuple[str, Layer]]:
        """Each layer with its name: the part and its count so far (``stem1``, ``stage3``, ``head1``)."""
        counts = dict.fromkeys(PARTS, 0)
        for layer in self.layers:
            counts[layer.part] += 1
            yield f"{layer.part}{counts[layer.part]}", layer

    def _values_by_path(self) -> Iterator[tuple[str, Any]]:
        """Every setting and layer option, fixed or a choice, by its path (``width``, ``stage2.kernel``)."""
        yield from self.settings().items()
        for path, layer in self.layer_paths():
            for f in block_fields(type(layer.block)):
                yield f"{path}.{f.name}", getattr(layer.block, f.name)
            yield f"{path}.repeats", layer.repeats


SETTINGS: dict[str, tuple[str, Any]] = {
    f.name: (f.metadata["kind"], f.default) for f in dataclasses.fields(Model) if "kind" in f.metadata
}
"""Model-level settings: DSL keyword -> (value kind, default), read off Model's fields."""


@dataclass(frozen=True)
class Spec(Model):
    """A fully fixed architecture: every option has a value."""

    def scale(self, depth: float = 1.0, width: float = 1.0, resolution: int | None = None,
              name: str | None = None) -> Spec:
        """This Spec grown by depth and width multipliers (compounding) and set to ``resolution``."""
        if depth <= 0 or width <= 0 or (resolution is not None and resolution < 1):
            raise ScalerError(f"scale factors must be positive (depth={depth}, width={width}, resolution={resolution})")
        return dataclasses.replace(
            self,
            name=name or self.name,
            depth=self.depth * depth,
            width=self.width * width,
            resolution=resolution if resolution is not None else self.resolution,
        )

    def blocks(self) -> list[BlockInstance]:
        """The network unrolled block by block: the single source of truth for builder and counter."""
        out: list[BlockInstance] = []
        for index, layer in enumerate(self.layers):
            block = self._resolve(layer.block)
            repeats = layer.repeats
            if layer.part == "stage" and block.depth_scalable:
                repeats = scale_repeats(repeats, self.depth, self.depth_round)
            for i in range(repeats):
                first = block if i == 0 or not hasattr(block, "stride") else dataclasses.replace(block, stride=1)
                out.append(BlockInstance(index, layer.part, first))
        residual = [i for i, b in enumerate(out) if b.block.residual]
        for rank, i in enumerate(residual):
            rate = self.drop_path * rank / len(residual)
            out[i] = dataclasses.replace(out[i], drop_path=rate)
        return out

    def _resolve(self, block: Block) -> Block:
        """Scale channel options by the width multiplier and fill model-level defaults."""
        changes: dict[str, Any] = {}
        for f in block_fields(type(block)):
            value = getattr(block, f.name)
            if f.metadata["channels"] and value is not None:
                # A grouped bottleneck's width must stay a multiple of its groups (ResNeXt).
                groups = getattr(block, "groups", 1) if f.name == "width" else 1
                changes[f.name] = round_channels(value, self.width, math.lcm(self.divisor, groups))
            elif f.name in ("act", "norm") and value is None:
                changes[f.name] = getattr(self, f.name)
        if isinstance(block, Linear) and block.dropout is None:
            changes["dropout"] = self.dropout if block.channels is None else 0.0
        return dataclasses.replace(block, **changes)


@dataclass(frozen=True)
class Space(Model):
    """An architecture with choices left open; ``sample`` or ``fix`` turns it into a Spec."""

    def params(self) -> dict[str, Categorical | IntRange]:
        """The search dimensions by name: declared (tied) choices by their name, others by place."""
        declared = dict(self.choices)
        found: dict[str, Categorical | IntRange] = {}
        for path, value in self._values_by_path():
            if isinstance(value, Tied):
                found[value.name] = declared[value.name]
            elif isinstance(value, PARAM_TYPES):
                found[path] = value
        return found

    def fix(self, values: Mapping[str, Scalar], name: str | None = None) -> Spec:
        """The Spec with every choice set from ``values`` (names as in ``params``)."""
        params = self.params()
        missing = sorted(set(params) - set(values))
        if missing:
            raise ScalerError(f"space {self.name}: no value for {', '.join(missing)}")
        outside = [f"{key}={values[key]!r}" for key, param in params.items() if values[key] not in param]
        if outside:
            raise ScalerError(f"space {self.name}: value outside its choices: {', '.join(outside)}")

        def pick(path: str, value: Any) -> Any:
            if isinstance(value, PARAM_TYPES):
                return values[value.name if isinstance(value, Tied) else path]
            return value

        settings = {key: pick(key, value) for key, value in self.settings().items()}
        layers = []
        for path, layer in self.layer_paths():
            block = dataclasses.replace(
                layer.block,
                **{f.name: pick(f"{path}.{f.name}", getattr(layer.block, f.name)) for f in block_fields(type(layer.block))},
            )
            layers.append(Layer(layer.part, block, pick(f"{path}.repeats", layer.repeats)))
        return Spec(name=name or self.name, layers=tuple(layers), source=self.source, **settings)

    def values_of(self, spec: Spec) -> dict[str, Scalar] | None:
        """The choice values that make this Space ``spec`` (names aside), or None if it is not a point of it."""
        shape = [(layer.part, type(layer.block)) for layer in self.layers]
        if shape != [(layer.part, type(layer.block)) for layer in spec.layers]:
            return None
        declared = dict(self.choices)
        values: dict[str, Scalar] = {}
        for (path, mine), (_, theirs) in zip(self._values_by_path(), spec._values_by_path(), strict=True):
            if not isinstance(mine, PARAM_TYPES):
                if mine != theirs:
                    return None
                continue
            key = mine.name if isinstance(mine, Tied) else path
            allowed = declared[key].values if isinstance(mine, Tied) else mine.values
            if theirs not in allowed or values.get(key, theirs) != theirs:
                return None
            values[key] = theirs
        return values if self.fix(values, name=spec.name) == spec else None

    def sample(self, trial: Trial, name: str | None = None) -> Spec:
        """The Spec chosen by an Optuna trial (any object with ``suggest_categorical``/``suggest_int``)."""
        return self.fix({key: suggest(trial, key, param) for key, param in self.params().items()}, name=name)


def make_model(**fields: Any) -> Spec | Space:
    """A Spec when no value is a choice, else a Space."""
    space = Space(**fields)
    if any(isinstance(value, PARAM_TYPES) for _, value in space._values_by_path()):
        return space
    return Spec(**fields)


def scale_repeats(repeats: int, depth: float, rounding: str = "ceil") -> int:
    """A stage's ``repeats`` times ``depth`` as whole blocks, at least one.

    ``ceil`` is EfficientNet's ``round_repeats`` (B1..B7 are built with it); ``round`` goes to the nearest
    (half up), so a one-block stage stays one block at depth 1.2 and the network's MACs follow the compound
    scaling law (alpha * beta^2 * gamma^2)^phi instead of overshooting it by up to a third.
    """
    scaled = repeats * depth
    return max(1, int(math.ceil(scaled) if rounding == "ceil" else math.floor(scaled + 0.5)))


def round_channels(channels: int, width: float, divisor: int = 8) -> int:
    """EfficientNet's ``round_filters``: channels * width to a multiple of ``divisor``, never below 90%.

    Left as is when ``width`` is 1, so the classic families keep their exact published widths.
    """
    if width == 1.0:
        return channels
    scaled = channels * width
    rounded = max(divisor, int(scaled + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * scaled:
        rounded += divisor
    return int(rounded)
