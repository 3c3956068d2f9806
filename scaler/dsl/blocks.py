"""Typed configs of the block types the DSL knows: one frozen dataclass per block.

Defining a config class declares its block kind: it enters ``BLOCK_TYPES`` under its ``kind``.
Each field names its DSL key (``k`` for kernel, ``c`` for channels, ...) and its kind. Fields
marked ``channels`` grow with the width multiplier; blocks marked ``depth_scalable`` repeat more
with the depth multiplier. Configs are plain data (no torch): ``scaler.nn.layers`` turns them into
modules and ``scaler.nn.complexity`` counts them, each registering one implementation per block type
in a ``scaler.dsl.registry.Registry``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar

_NO_DEFAULT: Any = dataclasses.MISSING


def opt(key: str, kind: str, default: Any = _NO_DEFAULT, *, channels: bool = False) -> Any:
    """A config field read from the DSL token ``key`` (``k3`` or ``k=3``) as a value of ``kind``."""
    return field(default=default, metadata={"key": key, "kind": kind, "channels": channels})


BLOCK_TYPES: dict[str, type[Block]] = {}
"""Every block type of the DSL by its kind, in the order they are defined."""


@dataclass(frozen=True)
class Block:
    """Base of all block configs; a subclass that sets ``kind`` is a DSL block type."""

    kind: ClassVar[str]
    doc: ClassVar[str]
    depth_scalable: ClassVar[bool] = False
    residual: ClassVar[bool] = False  # adds its input back, so stochastic depth applies to it

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "kind" not in cls.__dict__:
            return
        if cls.kind in BLOCK_TYPES:
            first = BLOCK_TYPES[cls.kind].__name__
            raise TypeError(f"block kind {cls.kind!r} is declared twice: {first} and {cls.__name__}")
        BLOCK_TYPES[cls.kind] = cls


@dataclass(frozen=True)
class Conv(Block):
    kind: ClassVar[str] = "conv"
    doc: ClassVar[str] = (
        "convolution + norm + activation (torchvision's Conv2dNormActivation); bias only without norm, unless nobias"
    )
    channels: Any = opt("c", "int", channels=True)
    kernel: Any = opt("k", "kernel", 3)
    stride: Any = opt("s", "int", 1)
    padding: Any = opt("p", "count", None)
    groups: Any = opt("g", "int", 1)
    depthwise: Any = opt("dw", "flag", False)
    weight_std: Any = opt("ws", "flag", False)
    no_bias: Any = opt("nobias", "flag", False)
    norm: Any = opt("norm", "norm", None)
    act: Any = opt("act", "act", None)
    depth_scalable: ClassVar[bool] = True


@dataclass(frozen=True)
class MaxPool(Block):
    kind: ClassVar[str] = "maxpool"
    doc: ClassVar[str] = "max pooling"
    kernel: Any = opt("k", "int", 3)
    stride: Any = opt("s", "int", 2)
    padding: Any = opt("p", "count", 0)
    ceil: Any = opt("ceil", "flag", False)


@dataclass(frozen=True)
class AvgPool(Block):
    kind: ClassVar[str] = "avgpool"
    doc: ClassVar[str] = "average pooling"
    kernel: Any = opt("k", "int", 2)
    stride: Any = opt("s", "int", 2)
    padding: Any = opt("p", "count", 0)
    ceil: Any = opt("ceil", "flag", False)


@dataclass(frozen=True)
class AdaptivePool(Block):
    kind: ClassVar[str] = "adaptpool"
    doc: ClassVar[str] = "adaptive average pooling to o x o (AlexNet's 6x6, VGG's 7x7)"
    out: Any = opt("o", "int", 1)


@dataclass(frozen=True)
class GlobalPool(Block):
    kind: ClassVar[str] = "gpool"
    doc: ClassVar[str] = "global average pooling to 1 x 1"


@dataclass(frozen=True)
class Norm(Block):
    kind: ClassVar[str] = "norm"
    doc: ClassVar[str] = "a lone norm + activation (DenseNet's norm5, ResNet-v2's final pre-activation)"
    norm: Any = opt("norm", "norm", None)
    act: Any = opt("act", "act", None)


@dataclass(frozen=True)
class Linear(Block):
    kind: ClassVar[str] = "fc"
    doc: ClassVar[str] = "dropout + fully connected (+ activation); without c it is the classifier"
    channels: Any = opt("c", "int", None, channels=True)
    dropout: Any = opt("d", "ratio", None)
    act: Any = opt("act", "act", "none")


@dataclass(frozen=True)
class MBConv(Block):
    kind: ClassVar[str] = "mbconv"
    doc: ClassVar[str] = "inverted residual: 1x1 expand, depthwise kxk, squeeze-excitation, 1x1 project"
    channels: Any = opt("c", "int", channels=True)
    kernel: Any = opt("k", "int", 3)
    stride: Any = opt("s", "int", 1)
    expand: Any = opt("e", "float", 1.0)
    se: Any = opt("se", "ratio", 0.0)
    act: Any = opt("act", "act", None)
    noskip: Any = opt("noskip", "flag", False)
    depth_scalable: ClassVar[bool] = True
    residual: ClassVar[bool] = True


@dataclass(frozen=True)
class Basic(Block):
    kind: ClassVar[str] = "basic"
    doc: ClassVar[str] = "ResNet basic block: two 3x3 convs and a shortcut"
    channels: Any = opt("c", "int", channels=True)
    stride: Any = opt("s", "int", 1)
    act: Any = opt("act", "act", None)
    depth_scalable: ClassVar[bool] = True
    residual: ClassVar[bool] = True


@dataclass(frozen=True)
class Bottleneck(Block):
    kind: ClassVar[str] = "bottleneck"
    doc: ClassVar[str] = "ResNet bottleneck: 1x1 to width b, 3x3 (stride, groups g), 1x1 to c, and a shortcut"
    channels: Any = opt("c", "int", channels=True)
    width: Any = opt("b", "int", channels=True)
    stride: Any = opt("s", "int", 1)
    groups: Any = opt("g", "int", 1)
    act: Any = opt("act", "act", None)
    depth_scalable: ClassVar[bool] = True
    residual: ClassVar[bool] = True


@dataclass(frozen=True)
class PreAct(Block):
    kind: ClassVar[str] = "preact"
    doc: ClassVar[str] = "pre-activation bottleneck (ResNet-v2 / BiT): norm-act before each weight-standardised conv"
    channels: Any = opt("c", "int", channels=True)
    width: Any = opt("b", "int", channels=True)
    stride: Any = opt("s", "int", 1)
    groups: Any = opt("g", "int", 1)
    norm: Any = opt("norm", "norm", None)
    act: Any = opt("act", "act", None)
    depth_scalable: ClassVar[bool] = True
    residual: ClassVar[bool] = True


@dataclass(frozen=True)
class Dense(Block):
    kind: ClassVar[str] = "dense"
    doc: ClassVar[str] = "DenseNet layer: norm-act-1x1 to b, norm-act-3x3 to growth, concatenated to its input"
    growth: Any = opt("growth", "int", channels=True)
    width: Any = opt("b", "int", channels=True)
    act: Any = opt("act", "act", None)
    depth_scalable: ClassVar[bool] = True


@dataclass(frozen=True)
class Transition(Block):
    kind: ClassVar[str] = "transition"
    doc: ClassVar[str] = "DenseNet transition: norm-act-1x1 to c (default half the input), 2x2 average pool"
    channels: Any = opt("c", "int", None, channels=True)
    act: Any = opt("act", "act", None)


@dataclass(frozen=True)
class Split:
    """Parallel branches over one input, concatenated along channels (inside inception blocks).

    Not a DSL token, so not in ``BLOCK_TYPES``, but counted and built like a block."""

    kind: ClassVar[str] = "split"
    branches: tuple[tuple[Block | Split, ...], ...]


@dataclass(frozen=True)
class Branched(Block):
    """A block that is parallel branches of plain convs and pools (the inception modules)."""

    def split(self) -> Split:
        """The branch structure, which counter and builder both walk.

        The layouts are torchvision's GoogLeNet and Inception3 (which follow Szegedy et al. 2014
        and 2015)."""
        raise NotImplementedError


def _conv(channels: int, kernel: Any = 1, stride: int = 1, padding: int | None = None) -> Conv:
    return Conv(channels=channels, kernel=kernel, stride=stride, padding=padding)


@dataclass(frozen=True)
class Inception(Branched):
    kind: ClassVar[str] = "inception"
    doc: ClassVar[str] = (
        "GoogLeNet module: 1x1 | 1x1-3x3 | 1x1-k5 | maxpool-1x1 branches, concatenated "
        "(torchvision's GoogLeNet uses k5=3)"
    )
    c1: Any = opt("c1", "int", channels=True)
    r3: Any = opt("r3", "int", channels=True)
    c3: Any = opt("c3", "int", channels=True)
    r5: Any = opt("r5", "int", channels=True)
    c5: Any = opt("c5", "int", channels=True)
    pool: Any = opt("pp", "int", channels=True)
    k5: Any = opt("k5", "int", 5)

    def split(self) -> Split:
        return Split((
            (_conv(self.c1),),
            (_conv(self.r3), _conv(self.c3, 3)),
            (_conv(self.r5), _conv(self.c5, self.k5)),
            (MaxPool(kernel=3, stride=1, padding=1, ceil=True), _conv(self.pool)),
        ))


@dataclass(frozen=True)
class InceptionA(Branched):
    kind: ClassVar[str] = "inc3a"
    doc: ClassVar[str] = "Inception-v3 module A (35x35): 1x1 | 1x1-5x5 | 1x1-3x3-3x3 | avgpool-1x1 to pf"
    pool: Any = opt("pf", "int", channels=True)
    c1: Any = opt("c1", "int", 64, channels=True)
    r5: Any = opt("r5", "int", 48, channels=True)
    c5: Any = opt("c5", "int", 64, channels=True)
    r3: Any = opt("r3", "int", 64, channels=True)
    c3: Any = opt("c3", "int", 96, channels=True)

    def split(self) -> Split:
        return Split((
            (_conv(self.c1),),
            (_conv(self.r5), _conv(self.c5, 5)),
            (_conv(self.r3), _conv(self.c3, 3), _conv(self.c3, 3)),
            (AvgPool(kernel=3, stride=1, padding=1), _conv(self.pool)),
        ))


@dataclass(frozen=True)
class InceptionB(Branched):
    kind: ClassVar[str] = "inc3b"
    doc: ClassVar[str] = "Inception-v3 grid reduction 35 -> 17: strided 3x3 | 1x1-3x3-strided 3x3 | maxpool"
    c3: Any = opt("c3", "int", 384, channels=True)
    r3: Any = opt("r3", "int", 64, channels=True)
    cd: Any = opt("cd", "int", 96, channels=True)

    def split(self) -> Split:
        return Split((
            (_conv(self.c3, 3, 2, 0),),
            (_conv(self.r3), _conv(self.cd, 3), _conv(self.cd, 3, 2, 0)),
            (MaxPool(kernel=3, stride=2),),
        ))


@dataclass(frozen=True)
class InceptionC(Branched):
    kind: ClassVar[str] = "inc3c"
    doc: ClassVar[str] = "Inception-v3 module C (17x17): factorised 1x7/7x1 branches of width c7"
    c7: Any = opt("c7", "int", channels=True)
    out: Any = opt("co", "int", 192, channels=True)

    def split(self) -> Split:
        c7, out = self.c7, self.out
        return Split((
            (_conv(out),),
            (_conv(c7), _conv(c7, (1, 7)), _conv(out, (7, 1))),
            (_conv(c7), _conv(c7, (7, 1)), _conv(c7, (1, 7)), _conv(c7, (7, 1)), _conv(out, (1, 7))),
            (AvgPool(kernel=3, stride=1, padding=1), _conv(out)),
        ))


@dataclass(frozen=True)
class InceptionD(Branched):
    kind: ClassVar[str] = "inc3d"
    doc: ClassVar[str] = "Inception-v3 grid reduction 17 -> 8: 1x1-strided 3x3 | 1x1-1x7-7x1-strided 3x3 | maxpool"
    r3: Any = opt("r3", "int", 192, channels=True)
    c3: Any = opt("c3", "int", 320, channels=True)
    c7: Any = opt("c7", "int", 192, channels=True)

    def split(self) -> Split:
        c7 = self.c7
        return Split((
            (_conv(self.r3), _conv(self.c3, 3, 2, 0)),
            (_conv(c7), _conv(c7, (1, 7)), _conv(c7, (7, 1)), _conv(c7, 3, 2, 0)),
            (MaxPool(kernel=3, stride=2),),
        ))


@dataclass(frozen=True)
class InceptionE(Branched):
    kind: ClassVar[str] = "inc3e"
    doc: ClassVar[str] = "Inception-v3 module E (8x8): expanded 1x3/3x1 filter banks"
    c1: Any = opt("c1", "int", 320, channels=True)
    c3: Any = opt("c3", "int", 384, channels=True)
    rd: Any = opt("rd", "int", 448, channels=True)
    pool: Any = opt("pp", "int", 192, channels=True)

    def split(self) -> Split:
        pair = Split(((_conv(self.c3, (1, 3)),), (_conv(self.c3, (3, 1)),)))
        return Split((
            (_conv(self.c1),),
            (_conv(self.c3), pair),
            (_conv(self.rd), _conv(self.c3, 3), pair),
            (AvgPool(kernel=3, stride=1, padding=1), _conv(self.pool)),
        ))


def block_fields(cls: type[Block]) -> tuple[dataclasses.Field, ...]:
    """The DSL options of a block type, in declaration order."""
    return dataclasses.fields(cls)


def fields_by_key(cls: type[Block]) -> dict[str, dataclasses.Field]:
    """The DSL options of a block type by their token key."""
    return {f.metadata["key"]: f for f in dataclasses.fields(cls)}


@dataclass(frozen=True)
class Layer:
    """One DSL layer line: a block type with its options, repeated ``repeats`` times."""

    part: str
    block: Block
    repeats: Any = 1


BRANCHED_TYPES: tuple[type[Branched], ...] = tuple(cls for cls in BLOCK_TYPES.values() if issubclass(cls, Branched))
"""The block types that are parallel branches (each has ``split()``)."""
