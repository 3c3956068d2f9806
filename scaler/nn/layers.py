"""One small nn.Module per block type of the DSL, built from the typed configs.

Each block type has one builder, registered with ``@builder(BlockType)``. Layouts follow torchvision
(ResNet, DenseNet, GoogLeNet, Inception3, MobileNetV2, MNASNet, EfficientNet) and timm's ResNetV2 for
BiT, so that parameter counts match them exactly; ``scaler.nn.complexity`` counts the same structure
analytically.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.ops import StochasticDepth

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
from scaler.dsl.registry import Registry
from scaler.nn.complexity import (
    Shape,
    conv_padding,
    expanded_channels,
    kernel_pair,
    squeeze_channels,
    transition_channels,
)


@dataclass(frozen=True)
class Context:
    """What a block's module needs beyond its config: the model's norm (kind, BN eps, GN groups) and
    activation defaults, and the number of classes the classifier outputs."""

    norm: str
    act: str
    bn_eps: float
    gn_groups: int
    classes: int

    def make_norm(self, channels: int, kind: str | None = None) -> nn.Module:
        """A norm of ``kind`` (default: the model's) over ``channels``; Identity for "none"."""
        kind = kind or self.norm
        if kind == "bn":
            return nn.BatchNorm2d(channels, eps=self.bn_eps)
        if kind == "gn":
            return nn.GroupNorm(min(self.gn_groups, channels), channels, eps=1e-5)
        return nn.Identity()


_ACTIVATIONS = {
    "relu": lambda: nn.ReLU(inplace=True),
    "relu6": lambda: nn.ReLU6(inplace=True),
    "silu": lambda: nn.SiLU(inplace=True),
    "gelu": nn.GELU,
    "hswish": lambda: nn.Hardswish(inplace=True),
    "sigmoid": nn.Sigmoid,
    "none": nn.Identity,
}


def make_act(name: str) -> nn.Module:
    """A fresh activation module of a DSL activation name."""
    return _ACTIVATIONS[name]()


class StdConv2d(nn.Conv2d):
    """Conv with weight standardisation (Qiao et al. 2019), as BiT uses with GroupNorm."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight
        mean = w.mean(dim=(1, 2, 3), keepdim=True)
        var = w.var(dim=(1, 2, 3), keepdim=True, unbiased=False)
        w = (w - mean) / torch.sqrt(var + 1e-8)
        return F.conv2d(x, w, self.bias, self.stride, self.padding, self.dilation, self.groups)


class ConvNormAct(nn.Sequential):
    """Convolution, norm, activation (torchvision's Conv2dNormActivation); bias only without norm.

    ``norm`` and ``act`` default to the model's (``ctx``)."""

    def __init__(self, cin: int, cout: int, ctx: Context, kernel: int | tuple[int, int] = 1, stride: int = 1,
                 padding: tuple[int, int] | None = None, groups: int = 1, *, norm: str | None = None,
                 act: str | None = None, weight_std: bool = False, bias: bool | None = None):
        norm, act = norm or ctx.norm, act or ctx.act
        kh, kw = kernel_pair(kernel)
        padding = padding if padding is not None else (kh // 2, kw // 2)
        conv_cls = StdConv2d if weight_std else nn.Conv2d
        layers: list[nn.Module] = [conv_cls(cin, cout, (kh, kw), stride, padding, groups=groups,
                                           bias=norm == "none" if bias is None else bias)]
        if norm != "none":
            layers.append(ctx.make_norm(cout, norm))
        if act != "none":
            layers.append(make_act(act))
        super().__init__(*layers)
        self.out_channels = cout


class SqueezeExcite(nn.Module):
    """Channel attention: global pool, 1x1 reduce + act, 1x1 expand + sigmoid, rescale."""

    def __init__(self, channels: int, squeeze: int, act: str):
        super().__init__()
        self.fc1 = nn.Conv2d(channels, squeeze, 1)
        self.act = make_act(act)
        self.fc2 = nn.Conv2d(squeeze, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = F.adaptive_avg_pool2d(x, 1)
        return x * torch.sigmoid(self.fc2(self.act(self.fc1(s))))


def zero_last_norm(branch: nn.Module) -> None:
    """Zero the scale of a residual branch's closing norm, so that the block starts as its shortcut
    (Goyal et al. 2017; timm's ``zero_init_last``): deep networks then train from the first steps, which
    proxy-fidelity runs of a few hundred steps depend on (a B0-like net at 3.6x depth reaches 0.80
    instead of 0.38 in two Fashion-MNIST epochs). A branch that ends in a bare conv is left as is."""
    last = [m for m in branch.modules() if isinstance(m, (nn.Conv2d, nn.BatchNorm2d, nn.GroupNorm))][-1]
    if not isinstance(last, nn.Conv2d):
        nn.init.zeros_(last.weight)


def _drop_path(rate: float) -> nn.Module:
    """Stochastic depth per sample at ``rate``, or Identity when it is 0."""
    return StochasticDepth(rate, "row") if rate > 0 else nn.Identity()


class Residual(nn.Module):
    """``shortcut(x) + drop_path(body(x))``, then an optional activation (post-activation ResNets)."""

    def __init__(self, body: nn.Module, shortcut: nn.Module | None, drop_path: float, act: str = "none"):
        super().__init__()
        self.body = body
        self.shortcut = shortcut if shortcut is not None else nn.Identity()
        self.drop_path = _drop_path(drop_path)
        self.act = make_act(act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.shortcut(x) + self.drop_path(self.body(x)))

    def zero_init_last(self) -> None:
        zero_last_norm(self.body)


class MBConvBlock(nn.Module):
    """Inverted residual with optional squeeze-excitation (MobileNetV2, MnasNet, EfficientNet)."""

    def __init__(self, b: MBConv, cin: int, ctx: Context, drop_path: float):
        super().__init__()
        hidden = expanded_channels(cin, b.expand)
        layers: list[nn.Module] = []
        if hidden != cin:
            layers.append(ConvNormAct(cin, hidden, ctx, 1, act=b.act))
        layers.append(ConvNormAct(hidden, hidden, ctx, b.kernel, b.stride, groups=hidden, act=b.act))
        if b.se > 0:
            layers.append(SqueezeExcite(hidden, squeeze_channels(cin, b.se), b.act))
        layers.append(ConvNormAct(hidden, b.channels, ctx, 1, act="none"))
        self.block = nn.Sequential(*layers)
        self.use_residual = b.stride == 1 and cin == b.channels and not b.noskip
        self.drop_path = _drop_path(drop_path if self.use_residual else 0.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.block(x)
        return x + self.drop_path(out) if self.use_residual else out

    def zero_init_last(self) -> None:
        if self.use_residual:
            zero_last_norm(self.block)


def _projection(cin: int, cout: int, stride: int, ctx: Context) -> nn.Module | None:
    """1x1 strided conv + norm where the residual branch changes shape, else identity (None)."""
    if stride == 1 and cin == cout:
        return None
    return ConvNormAct(cin, cout, ctx, 1, stride, (0, 0), act="none")


class PreActBlock(nn.Module):
    """Pre-activation bottleneck (He et al. 2016, BiT): the shortcut taps the pre-activated input."""

    def __init__(self, b: PreAct, cin: int, ctx: Context, drop_path: float):
        super().__init__()
        self.norm1 = nn.Sequential(ctx.make_norm(cin, b.norm), make_act(b.act))
        self.conv1 = StdConv2d(cin, b.width, 1, bias=False)
        self.norm2 = nn.Sequential(ctx.make_norm(b.width, b.norm), make_act(b.act))
        self.conv2 = StdConv2d(b.width, b.width, 3, b.stride, 1, groups=b.groups, bias=False)
        self.norm3 = nn.Sequential(ctx.make_norm(b.width, b.norm), make_act(b.act))
        self.conv3 = StdConv2d(b.width, b.channels, 1, bias=False)
        needs_projection = b.stride != 1 or cin != b.channels
        self.downsample = StdConv2d(cin, b.channels, 1, b.stride, bias=False) if needs_projection else None
        self.drop_path = _drop_path(drop_path)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pre = self.norm1(x)
        shortcut = self.downsample(pre) if self.downsample is not None else x
        out = self.conv3(self.norm3(self.conv2(self.norm2(self.conv1(pre)))))
        return shortcut + self.drop_path(out)


class DenseLayer(nn.Module):
    """DenseNet-BC layer: its growth channels are concatenated to its input."""

    def __init__(self, b: Dense, cin: int, ctx: Context):
        super().__init__()
        self.body = nn.Sequential(
            ctx.make_norm(cin), make_act(b.act), nn.Conv2d(cin, b.width, 1, bias=False),
            ctx.make_norm(b.width), make_act(b.act), nn.Conv2d(b.width, b.growth, 3, padding=1, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, self.body(x)], 1)


class Branches(nn.Module):
    """Parallel branches concatenated along channels (every inception block)."""

    def __init__(self, split: Split, cin: int, ctx: Context):
        super().__init__()
        branches = []
        for ops in split.branches:
            layers, channels = [], cin
            for op in ops:
                layers.append(make_block(op, Shape(channels, 0, 0), ctx))
                channels = getattr(layers[-1], "out_channels", channels)
            branches.append(nn.Sequential(*layers))
        self.branches = nn.ModuleList(branches)
        self.out_channels = sum(getattr(b[-1], "out_channels", cin) for b in self.branches)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([branch(x) for branch in self.branches], 1)


class Classifier(nn.Sequential):
    """Dropout, flatten, fully connected, activation; ``out`` features."""

    def __init__(self, b: Linear, shape: Shape, out: int):
        layers: list[nn.Module] = [nn.Flatten(1)]
        if b.dropout:
            layers.append(nn.Dropout(b.dropout))
        layers.append(nn.Linear(shape.c * shape.h * shape.w, out))
        if b.act != "none":
            layers.append(make_act(b.act))
        super().__init__(*layers)
        self.out_channels = out


BuildFn = Callable[[Any, Shape, Context, float], nn.Module]
"""A builder: (block config, input shape, context, drop-path rate) -> its module."""
builder: Registry[BuildFn] = Registry("builder")


@builder(Conv)
def _conv(b: Conv, shape: Shape, ctx: Context, drop_path: float) -> nn.Module:
    # Unset norm/act come from the model (the convs inside inception blocks).
    norm = b.norm or ctx.norm
    return ConvNormAct(shape.c, b.channels, ctx, b.kernel, b.stride, conv_padding(b),
                       shape.c if b.depthwise else b.groups, norm=norm, act=b.act, weight_std=b.weight_std,
                       bias=norm == "none" and not b.no_bias)


@builder(MaxPool)
def _max_pool(b: MaxPool, shape: Shape, ctx: Context, drop_path: float) -> nn.Module:
    return nn.MaxPool2d(b.kernel, b.stride, b.padding, ceil_mode=b.ceil)


@builder(AvgPool)
def _avg_pool(b: AvgPool, shape: Shape, ctx: Context, drop_path: float) -> nn.Module:
    return nn.AvgPool2d(b.kernel, b.stride, b.padding, ceil_mode=b.ceil)


@builder(AdaptivePool)
def _adaptive_pool(b: AdaptivePool, shape: Shape, ctx: Context, drop_path: float) -> nn.Module:
    return nn.AdaptiveAvgPool2d(b.out)


@builder(GlobalPool)
def _global_pool(b: GlobalPool, shape: Shape, ctx: Context, drop_path: float) -> nn.Module:
    return nn.AdaptiveAvgPool2d(1)


@builder(Norm)
def _norm(b: Norm, shape: Shape, ctx: Context, drop_path: float) -> nn.Module:
    return nn.Sequential(ctx.make_norm(shape.c, b.norm), make_act(b.act))


@builder(Linear)
def _linear(b: Linear, shape: Shape, ctx: Context, drop_path: float) -> nn.Module:
    return Classifier(b, shape, b.channels or ctx.classes)


@builder(MBConv)
def _mbconv(b: MBConv, shape: Shape, ctx: Context, drop_path: float) -> nn.Module:
    return MBConvBlock(b, shape.c, ctx, drop_path)


@builder(Basic)
def _basic(b: Basic, shape: Shape, ctx: Context, drop_path: float) -> nn.Module:
    body = nn.Sequential(
        ConvNormAct(shape.c, b.channels, ctx, 3, b.stride, act=b.act),
        ConvNormAct(b.channels, b.channels, ctx, 3, act="none"),
    )
    return Residual(body, _projection(shape.c, b.channels, b.stride, ctx), drop_path, b.act)


@builder(Bottleneck)
def _bottleneck(b: Bottleneck, shape: Shape, ctx: Context, drop_path: float) -> nn.Module:
    body = nn.Sequential(
        ConvNormAct(shape.c, b.width, ctx, 1, act=b.act),
        ConvNormAct(b.width, b.width, ctx, 3, b.stride, groups=b.groups, act=b.act),
        ConvNormAct(b.width, b.channels, ctx, 1, act="none"),
    )
    return Residual(body, _projection(shape.c, b.channels, b.stride, ctx), drop_path, b.act)


@builder(PreAct)
def _preact(b: PreAct, shape: Shape, ctx: Context, drop_path: float) -> nn.Module:
    return PreActBlock(b, shape.c, ctx, drop_path)


@builder(Dense)
def _dense(b: Dense, shape: Shape, ctx: Context, drop_path: float) -> nn.Module:
    return DenseLayer(b, shape.c, ctx)


@builder(Transition)
def _transition(b: Transition, shape: Shape, ctx: Context, drop_path: float) -> nn.Module:
    return nn.Sequential(ctx.make_norm(shape.c), make_act(b.act),
                         nn.Conv2d(shape.c, transition_channels(b, shape.c), 1, bias=False), nn.AvgPool2d(2, 2))


@builder(Split)
def _split(b: Split, shape: Shape, ctx: Context, drop_path: float) -> nn.Module:
    return Branches(b, shape.c, ctx)


@builder(*BRANCHED_TYPES)
def _branched(b: Branched, shape: Shape, ctx: Context, drop_path: float) -> nn.Module:
    return Branches(b.split(), shape.c, ctx)


def make_block(block: Block | Split, shape: Shape, ctx: Context, drop_path: float = 0.0) -> nn.Module:
    """The module for one block config whose input has ``shape``."""
    return builder.lookup(block)(block, shape, ctx, drop_path)
