"""Spec -> torch.nn.Module, built block by block from the analytic walk of ``complexity``."""

from __future__ import annotations

import contextlib
import math
from collections import OrderedDict

import torch
from torch import nn

from scaler.dsl.model import Spec
from scaler.nn.complexity import complexity
from scaler.nn.layers import Context, make_block


class Network(nn.Sequential):
    """A built Spec: one child Sequential per DSL layer line (``stem1``, ``stage1``, ..., ``head1``)."""

    def __init__(self, spec: Spec, num_classes: int, in_channels: int):
        ctx = Context(spec.norm, spec.act, spec.bn_eps, spec.gn_groups, num_classes)
        counted = complexity(spec, in_channels=in_channels, num_classes=num_classes)
        names = [name for name, _ in spec.layer_paths()]
        groups: OrderedDict[str, list[nn.Module]] = OrderedDict()
        for block in counted.blocks:
            inst = block.instance
            groups.setdefault(names[inst.layer], []).append(make_block(inst.block, block.shape_in, ctx, inst.drop_path))
        super().__init__(OrderedDict((name, nn.Sequential(*mods)) for name, mods in groups.items()))
        self.spec = spec
        self.num_classes = num_classes
        _init_weights(self)


def _init_weights(model: nn.Module) -> None:
    """He init for convs (fan-out), unit norms, uniform(+-1/sqrt(fan-in)) linears, then each residual
    branch's closing norm zeroed (``zero_init_last``: every residual block starts as its shortcut).

    Linear bounds follow the fan-in, not torchvision's 1/sqrt(classes): with 10 classes that would
    start training from large logits."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            bound = 1.0 / math.sqrt(m.in_features)
            nn.init.uniform_(m.weight, -bound, bound)
            nn.init.zeros_(m.bias)
    for m in model.modules():
        if hasattr(m, "zero_init_last"):
            m.zero_init_last()


def build(spec: Spec, num_classes: int = 1000, in_channels: int = 3,
          device: torch.device | str | None = None) -> Network:
    """The module of ``spec``; ``device="meta"`` builds shapes only (L2 without allocating 2 GB)."""
    with torch.device(device) if device is not None else contextlib.nullcontext():
        return Network(spec, num_classes, in_channels)
