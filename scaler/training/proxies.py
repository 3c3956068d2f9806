"""Zero-cost proxies: score an untrained network from one minibatch, no training.

- ``naswot``: Mellor et al., "Neural Architecture Search without Training" (ICML 2021): log|K| of
  the kernel of binary activation codes (sign of every activation's input) over the minibatch.
- ``synflow``: Tanaka et al., "Pruning neural networks without any data" (NeurIPS 2020), as a NAS
  proxy in Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS" (ICLR 2021): the sum of
  |theta * dR/dtheta| with R the output sum of the network with |weights| on an all-ones input.
- ``params``: the parameter count, the baseline any proxy has to beat.
"""

from __future__ import annotations

import copy
import math

import torch
from torch import nn

from scaler.dsl import Spec
from scaler.nn.build import build
from scaler.training.fidelity import PROXIES

_ACTIVATIONS = (nn.ReLU, nn.ReLU6, nn.SiLU, nn.GELU, nn.Hardswish)


def naswot(model: nn.Module, x: torch.Tensor) -> float:
    """log-determinant of the Hamming-similarity kernel of the activation codes of ``x``."""
    codes: list[torch.Tensor] = []

    def record(module: nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
        codes.append((inputs[0].detach().flatten(1) > 0).float())

    hooks = [m.register_forward_pre_hook(record) for m in model.modules() if isinstance(m, _ACTIVATIONS)]
    try:
        model.eval()
        with torch.no_grad():
            model(x)
    finally:
        for h in hooks:
            h.remove()
    c = torch.cat(codes, 1).double()
    kernel = c @ c.t() + (1 - c) @ (1 - c).t()
    return float(torch.linalg.slogdet(kernel)[1])


def synflow(model: nn.Module, x: torch.Tensor) -> float:
    """Synaptic flow of ``model`` (a copy is linearised; the original is untouched).

    Computed in float32 channels_last (float64 convolutions are about 9x slower on CPUs) and
    again in float64 only when float32 overflows, which is what the original code guards against.
    """
    value = float("inf")
    for dtype in (torch.float32, torch.float64):
        net = copy.deepcopy(model).to(dtype=dtype, memory_format=torch.channels_last).eval()
        with torch.no_grad():
            for p in net.parameters():
                p.abs_()
        ones = torch.ones((1, *x.shape[1:]), dtype=dtype, device=x.device).contiguous(memory_format=torch.channels_last)
        net(ones).sum().backward()
        with torch.no_grad():
            value = float(sum((p * p.grad).abs().sum() for p in net.parameters() if p.grad is not None))
        if math.isfinite(value):
            break
    return value


def score(spec: Spec, x: torch.Tensor, num_classes: int, proxies: tuple[str, ...] = PROXIES,
          seed: int = 0) -> dict[str, float]:
    """Every requested proxy of ``spec`` at the input batch ``x``, from one seeded initialisation."""
    torch.manual_seed(seed)
    model = build(spec, num_classes=num_classes, in_channels=x.shape[1]).to(x.device)
    out: dict[str, float] = {}
    for name in proxies:
        if name == "naswot":
            out[name] = naswot(model, x)
        elif name == "synflow":
            out[name] = synflow(model, x)
        elif name == "params":
            out[name] = float(sum(p.numel() for p in model.parameters()))
        else:
            raise ValueError(f"unknown proxy {name!r}; known: {', '.join(PROXIES)}")
    return out
