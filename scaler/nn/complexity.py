"""Analytic complexity of a Spec: exact parameters, multiply-adds and activations, without torch.

Conventions (as in pycls and the EfficientNet paper):
- ``macs``: multiply-adds of every convolution and fully connected layer (bias, norm, activation,
  pooling and residual additions are not counted). "FLOPs" in the EfficientNet paper and
  torchvision's "GFLOPS" are these multiply-adds.
- ``params``: every trainable parameter, exactly as ``sum(p.numel())`` of the built module.
- ``acts``: output elements of every convolution and fully connected layer (pycls's activations).

Each block type has one counter, registered with ``@counter(BlockType)``. Pure arithmetic: this
module imports no torch and no module of ``scaler.nn`` (``scaler.nn.layers`` imports its shape helpers).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from scaler.dsl.blocks import (
    BRANCHED_TYPES,
    AdaptivePool,
    AvgPool,
    Basic,
    Block,
    Bottleneck,
    Branched,
    Conv,
    Dense,
    GlobalPool,
    Linear,
    MaxPool,
    MBConv,
    Norm,
    PreAct,
    Split,
    Transition,
)
from scaler.dsl.model import BlockInstance, Spec
from scaler.dsl.registry import Registry
from scaler.errors import ScalerError


@dataclass(frozen=True)
class Shape:
    """Channels, height and width of a feature map (a flat vector has h = w = 1)."""

    c: int
    h: int
    w: int


def conv_out(size: int, kernel: int, stride: int, padding: int, ceil: bool = False) -> int:
    """Output length of a convolution or pooling window along one axis (PyTorch's rule)."""
    span = size + 2 * padding - kernel
    out = (-(-span // stride) if ceil else span // stride) + 1
    if ceil and (out - 1) * stride >= size + padding:
        out -= 1
    if out < 1:
        raise ValueError(f"feature map of size {size} is too small for kernel {kernel}, stride {stride}")
    return out


def kernel_pair(kernel: Any) -> tuple[int, int]:
    """A kernel option (int or (h, w)) as a pair."""
    return (kernel, kernel) if isinstance(kernel, int) else tuple(kernel)


def conv_padding(block: Conv) -> tuple[int, int]:
    """Explicit padding, or "same"-style k // 2 on each axis."""
    if block.padding is not None:
        return block.padding, block.padding
    kh, kw = kernel_pair(block.kernel)
    return kh // 2, kw // 2


@dataclass
class Tally:
    """Walks a network layer by layer, tracking the feature-map shape and adding up the counts.

    ``norm`` is the model's default norm kind; ``classes`` sizes the classifier (an ``fc`` without c)."""

    shape: Shape
    norm: str
    classes: int
    params: int = 0
    macs: int = 0
    acts: int = 0

    def fork(self, shape: Shape | None = None) -> Tally:
        """A fresh tally for a branch that starts at ``shape`` (default: here)."""
        return Tally(shape or self.shape, self.norm, self.classes)

    def add(self, other: Tally) -> None:
        """Add a branch's counts (not its shape)."""
        self.params += other.params
        self.macs += other.macs
        self.acts += other.acts

    def conv(self, out: int, kernel: Any, stride: int = 1, padding: tuple[int, int] | None = None,
             groups: int = 1, bias: bool = False) -> None:
        """A convolution to ``out`` channels; ``padding`` defaults to "same"-style k // 2."""
        kh, kw = kernel_pair(kernel)
        ph, pw = padding if padding is not None else (kh // 2, kw // 2)
        s = self.shape
        if s.c % groups or out % groups:
            raise ValueError(f"{s.c} -> {out} channels do not divide into {groups} groups")
        h, w = conv_out(s.h, kh, stride, ph), conv_out(s.w, kw, stride, pw)
        weights = kh * kw * (s.c // groups) * out
        self.params += weights + (out if bias else 0)
        self.macs += weights * h * w
        self.acts += out * h * w
        self.shape = Shape(out, h, w)

    def norm_layer(self, kind: str | None = None) -> None:
        """A norm of ``kind`` (default: the model's): scale and shift per channel, none for "none"."""
        if (kind or self.norm) != "none":
            self.params += 2 * self.shape.c

    def linear(self, out: int) -> None:
        """A fully connected layer (with bias) over the flattened feature map."""
        features = self.shape.c * self.shape.h * self.shape.w
        self.params += features * out + out
        self.macs += features * out
        self.acts += out
        self.shape = Shape(out, 1, 1)

    def pool(self, kernel: int, stride: int, padding: int = 0, ceil: bool = False) -> None:
        """A pooling window: the shape moves on, nothing is counted."""
        s = self.shape
        self.shape = Shape(s.c, conv_out(s.h, kernel, stride, padding, ceil), conv_out(s.w, kernel, stride, padding, ceil))


CountFn = Callable[[Any, Tally], None]
counter: Registry[CountFn] = Registry("counter")


@counter(Conv)
def _conv(b: Conv, cx: Tally) -> None:
    norm = b.norm or cx.norm
    groups = cx.shape.c if b.depthwise else b.groups
    cx.conv(b.channels, b.kernel, b.stride, conv_padding(b), groups, bias=norm == "none" and not b.no_bias)
    cx.norm_layer(norm)


@counter(MaxPool, AvgPool)
def _pool(b: MaxPool | AvgPool, cx: Tally) -> None:
    cx.pool(b.kernel, b.stride, b.padding, b.ceil)


@counter(AdaptivePool)
def _adaptive_pool(b: AdaptivePool, cx: Tally) -> None:
    cx.shape = Shape(cx.shape.c, b.out, b.out)


@counter(GlobalPool)
def _global_pool(b: GlobalPool, cx: Tally) -> None:
    cx.shape = Shape(cx.shape.c, 1, 1)


@counter(Norm)
def _norm(b: Norm, cx: Tally) -> None:
    cx.norm_layer(b.norm)


@counter(Linear)
def _linear(b: Linear, cx: Tally) -> None:
    cx.linear(b.channels or cx.classes)


@counter(MBConv)
def _mbconv(b: MBConv, cx: Tally) -> None:
    cin = cx.shape.c
    hidden = expanded_channels(cin, b.expand)
    if hidden != cin:
        cx.conv(hidden, 1)
        cx.norm_layer()
    cx.conv(hidden, b.kernel, b.stride, groups=hidden)
    cx.norm_layer()
    if b.se > 0:
        se = cx.fork(Shape(hidden, 1, 1))
        se.conv(squeeze_channels(cin, b.se), 1, bias=True)
        se.conv(hidden, 1, bias=True)
        cx.add(se)
    cx.conv(b.channels, 1)
    cx.norm_layer()


def _shortcut(cx: Tally, shortcut: Tally, out: int, stride: int, with_norm: bool) -> None:
    """A projection shortcut where the residual branch changes shape."""
    if stride != 1 or shortcut.shape.c != out:
        shortcut.conv(out, 1, stride, (0, 0))
        if with_norm:
            shortcut.norm_layer()
        cx.add(shortcut)


@counter(Basic)
def _basic(b: Basic, cx: Tally) -> None:
    shortcut = cx.fork()
    cx.conv(b.channels, 3, b.stride)
    cx.norm_layer()
    cx.conv(b.channels, 3)
    cx.norm_layer()
    _shortcut(cx, shortcut, b.channels, b.stride, with_norm=True)


def _bottleneck_convs(b: Bottleneck | PreAct) -> tuple[tuple[int, int, int, int], ...]:
    """(out, kernel, stride, groups) of a bottleneck's 1x1, 3x3 and 1x1 convs."""
    return (b.width, 1, 1, 1), (b.width, 3, b.stride, b.groups), (b.channels, 1, 1, 1)


@counter(Bottleneck)
def _bottleneck(b: Bottleneck, cx: Tally) -> None:
    shortcut = cx.fork()
    for out, kernel, stride, groups in _bottleneck_convs(b):
        cx.conv(out, kernel, stride, groups=groups)
        cx.norm_layer()
    _shortcut(cx, shortcut, b.channels, b.stride, with_norm=True)


@counter(PreAct)
def _preact(b: PreAct, cx: Tally) -> None:
    shortcut = cx.fork()
    for out, kernel, stride, groups in _bottleneck_convs(b):
        cx.norm_layer(b.norm)
        cx.conv(out, kernel, stride, groups=groups)
    _shortcut(cx, shortcut, b.channels, b.stride, with_norm=False)


@counter(Dense)
def _dense(b: Dense, cx: Tally) -> None:
    cin = cx.shape.c
    cx.norm_layer()
    cx.conv(b.width, 1)
    cx.norm_layer()
    cx.conv(b.growth, 3)
    cx.shape = dataclasses.replace(cx.shape, c=cin + b.growth)


@counter(Transition)
def _transition(b: Transition, cx: Tally) -> None:
    cx.norm_layer()
    cx.conv(transition_channels(b, cx.shape.c), 1)
    cx.pool(2, 2)


@counter(Split)
def _split(b: Split, cx: Tally) -> None:
    outs = []
    for branch in b.branches:
        sub = cx.fork()
        for op in branch:
            count_block(op, sub)
        cx.add(sub)
        outs.append(sub.shape)
    if len({(s.h, s.w) for s in outs}) != 1:
        raise ValueError(f"inception branches end at different sizes: {outs}")
    cx.shape = Shape(sum(s.c for s in outs), outs[0].h, outs[0].w)


@counter(*BRANCHED_TYPES)
def _branched(b: Branched, cx: Tally) -> None:
    _split(b.split(), cx)


def count_block(block: Block | Split, cx: Tally) -> None:
    """Add one block's counts to ``cx`` and move its shape on."""
    counter.lookup(block)(block, cx)


def expanded_channels(channels: int, expand: float) -> int:
    """Hidden width of an inverted residual block."""
    return int(round(channels * expand))


def squeeze_channels(channels: int, ratio: float) -> int:
    """Squeeze-excitation width: a fraction of the block's input channels (torchvision, timm)."""
    return max(1, int(channels * ratio))


def transition_channels(block: Transition, channels: int) -> int:
    """DenseNet transition output: given, or half the input (compression 0.5)."""
    return block.channels if block.channels is not None else channels // 2


@dataclass(frozen=True)
class BlockCount:
    """One block of the unrolled network with its input/output shapes and counts."""

    instance: BlockInstance
    shape_in: Shape
    shape_out: Shape
    params: int
    macs: int
    acts: int


@dataclass(frozen=True)
class LayerCount:
    """One DSL layer line (a stage when repeated) with its total counts."""

    index: int
    part: str
    block: str
    repeats: int
    shape_out: Shape
    params: int
    macs: int
    acts: int


@dataclass(frozen=True)
class Complexity:
    """Totals and the per-layer breakdown of a Spec at one input resolution."""

    name: str
    resolution: int
    params: int
    macs: int
    acts: int
    layers: tuple[LayerCount, ...]
    blocks: tuple[BlockCount, ...]


def complexity(spec: Spec, resolution: int | None = None, in_channels: int = 3, num_classes: int = 1000) -> Complexity:
    """Count ``spec`` at ``resolution`` (default: the Spec's own) analytically."""
    resolution = resolution or spec.resolution
    shape = Shape(in_channels, resolution, resolution)
    blocks: list[BlockCount] = []
    for instance in spec.blocks():
        cx = Tally(shape, spec.norm, num_classes)
        try:
            count_block(instance.block, cx)
        except ValueError as exc:
            raise ScalerError(f"{spec.name}: {instance.part} block {instance.block.kind} "
                              f"(layer {instance.layer + 1}) at {resolution} px: {exc}") from None
        blocks.append(BlockCount(instance, shape, cx.shape, cx.params, cx.macs, cx.acts))
        shape = cx.shape
    layers = []
    for index, layer in enumerate(spec.layers):
        mine = [b for b in blocks if b.instance.layer == index]
        layers.append(LayerCount(index, layer.part, layer.block.kind, len(mine), mine[-1].shape_out,
                                 sum(b.params for b in mine), sum(b.macs for b in mine), sum(b.acts for b in mine)))
    return Complexity(spec.name, resolution, sum(b.params for b in blocks), sum(b.macs for b in blocks),
                      sum(b.acts for b in blocks), tuple(layers), tuple(blocks))
