"""One small nn.Module per block type of the DSL, built from the typed configs.

Layouts follow torchvision (ResNet, DenseNet, GoogLeNet, Inception3, MobileNetV2, MNASNet,
EfficientNet) and timm's ResNetV2 for BiT, so that parameter counts match them exactly;
``scaler.nn.complexity`` counts the same structure analytically.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.ops import StochasticDepth

from scaler.nn.complexity import (
    Shape, conv_padding, expanded_channels, kernel_pair, squeeze_channels, transition_channels,
)
from scaler.dsl.blocks import (
    INCEPTION_BLOCKS, AdaptivePool, AvgPool, Basic, Block, Bottleneck, Conv, Dense, GlobalPool,
    Linear, MaxPool, MBConv, Norm, PreAct, Split, Transition, inception_branches,
)


class Context:
    """Model-level defaults a block needs: norm kind and its settings, activation."""

    def __init__(self, norm: str, act: str, bn_eps: float, gn_groups: int):
        self.norm, self.act, self.bn_eps, self.gn_groups = norm, act, bn_eps, gn_groups

    def make_norm(self, channels: int, kind: str | None = None) -> nn.Module:
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
    """Convolution, norm, activation (torchvision's Conv2dNormActivation); bias only without norm."""

    def __init__(self, cin: int, cout: int, kernel: int | tuple[int, int] = 1, stride: int = 1,
                 padding: tuple[int, int] | None = None, groups: int = 1, norm: str = "bn",
                 act: str = "relu", ctx: Context | None = None, weight_std: bool = False, bias: bool | None = None):
        ctx = ctx or Context(norm, act, 1e-5, 32)
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


def conv_block(b: Conv, cin: int, ctx: Context) -> ConvNormAct:
    """A DSL ``conv`` as a module; unset norm/act come from the model (inside inception blocks)."""
    norm = b.norm or ctx.norm
    return ConvNormAct(cin, b.channels, b.kernel, b.stride, conv_padding(b), cin if b.depthwise else b.groups,
                       norm, b.act or ctx.act, ctx, b.weight_std, bias=norm == "none" and not b.no_bias)


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


class Residual(nn.Module):
    """``shortcut(x) + drop_path(body(x))``, then an optional activation (post-activation ResNets)."""

    def __init__(self, body: nn.Module, shortcut: nn.Module | None, drop_path: float, act: str = "none"):
        super().__init__()
        self.body = body
        self.shortcut = shortcut if shortcut is not None else nn.Identity()
        self.drop_path = StochasticDepth(drop_path, "row") if drop_path > 0 else nn.Identity()
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
            layers.append(ConvNormAct(cin, hidden, 1, norm=ctx.norm, act=b.act, ctx=ctx))
        layers.append(ConvNormAct(hidden, hidden, b.kernel, b.stride, groups=hidden, norm=ctx.norm, act=b.act, ctx=ctx))
        if b.se > 0:
            layers.append(SqueezeExcite(hidden, squeeze_channels(cin, b.se), b.act))
        layers.append(ConvNormAct(hidden, b.channels, 1, norm=ctx.norm, act="none", ctx=ctx))
        self.block = nn.Sequential(*layers)
        self.use_residual = b.stride == 1 and cin == b.channels and not b.noskip
        self.drop_path = StochasticDepth(drop_path, "row") if drop_path > 0 and self.use_residual else nn.Identity()

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
    return ConvNormAct(cin, cout, 1, stride, (0, 0), norm=ctx.norm, act="none", ctx=ctx)


def basic_block(b: Basic, cin: int, ctx: Context, drop_path: float) -> Residual:
    body = nn.Sequential(
        ConvNormAct(cin, b.channels, 3, b.stride, norm=ctx.norm, act=b.act, ctx=ctx),
        ConvNormAct(b.channels, b.channels, 3, norm=ctx.norm, act="none", ctx=ctx),
    )
    return Residual(body, _projection(cin, b.channels, b.stride, ctx), drop_path, b.act)


def bottleneck_block(b: Bottleneck, cin: int, ctx: Context, drop_path: float) -> Residual:
    body = nn.Sequential(
        ConvNormAct(cin, b.width, 1, norm=ctx.norm, act=b.act, ctx=ctx),
        ConvNormAct(b.width, b.width, 3, b.stride, groups=b.groups, norm=ctx.norm, act=b.act, ctx=ctx),
        ConvNormAct(b.width, b.channels, 1, norm=ctx.norm, act="none", ctx=ctx),
    )
    return Residual(body, _projection(cin, b.channels, b.stride, ctx), drop_path, b.act)


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
        self.drop_path = StochasticDepth(drop_path, "row") if drop_path > 0 else nn.Identity()

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


def transition_block(b: Transition, cin: int, ctx: Context) -> nn.Sequential:
    return nn.Sequential(ctx.make_norm(cin), make_act(b.act),
                         nn.Conv2d(cin, transition_channels(b, cin), 1, bias=False), nn.AvgPool2d(2, 2))


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
    """Dropout, flatten, fully connected, activation."""

    def __init__(self, b: Linear, shape: Shape, num_classes: int):
        out = b.channels or num_classes
        layers: list[nn.Module] = [nn.Flatten(1)]
        if b.dropout:
            layers.append(nn.Dropout(b.dropout))
        layers.append(nn.Linear(shape.c * shape.h * shape.w, out))
        if b.act != "none":
            layers.append(make_act(b.act))
        super().__init__(*layers)
        self.out_channels = out


def make_block(block: Block | Split, shape: Shape, ctx: Context, drop_path: float = 0.0,
               num_classes: int = 1000) -> nn.Module:
    """The module for one block config whose input has ``shape``."""
    cin = shape.c
    if isinstance(block, Conv):
        return conv_block(block, cin, ctx)
    if isinstance(block, MaxPool):
        return nn.MaxPool2d(block.kernel, block.stride, block.padding, ceil_mode=block.ceil)
    if isinstance(block, AvgPool):
        return nn.AvgPool2d(block.kernel, block.stride, block.padding, ceil_mode=block.ceil)
    if isinstance(block, AdaptivePool):
        return nn.AdaptiveAvgPool2d(block.out)
    if isinstance(block, GlobalPool):
        return nn.AdaptiveAvgPool2d(1)
    if isinstance(block, Norm):
        return nn.Sequential(ctx.make_norm(cin, block.norm), make_act(block.act))
    if isinstance(block, Linear):
        return Classifier(block, shape, num_classes)
    if isinstance(block, MBConv):
        return MBConvBlock(block, cin, ctx, drop_path)
    if isinstance(block, Basic):
        return basic_block(block, cin, ctx, drop_path)
    if isinstance(block, Bottleneck):
        return bottleneck_block(block, cin, ctx, drop_path)
    if isinstance(block, PreAct):
        return PreActBlock(block, cin, ctx, drop_path)
    if isinstance(block, Dense):
        return DenseLayer(block, cin, ctx)
    if isinstance(block, Transition):
        return transition_block(block, cin, ctx)
    if isinstance(block, Split):
        return Branches(block, cin, ctx)
    if isinstance(block, INCEPTION_BLOCKS):
        return Branches(inception_branches(block), cin, ctx)
    raise TypeError(f"no module for block {type(block).__name__}")
