"""A trained network that takes raw pixels: the data set's normalisation as the first step of the module.

scaler trains on images normalised with the training cut's per-channel mean and std; a deployed model
is fed pixels in [0, 1] by someone who does not know those numbers, so ``scaler export`` writes this
module, whose graph holds them.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn


class Normalised(nn.Module):
    """``net((x - mean) / std)`` for images ``x`` (N, C, H, W) with pixel values in [0, 1]."""

    def __init__(self, net: nn.Module, mean: Sequence[float], std: Sequence[float]) -> None:
        super().__init__()
        if len(mean) != len(std):
            raise ValueError(f"mean has {len(mean)} channels, std {len(std)}")
        self.net = net
        self.register_buffer("mean", torch.tensor(list(mean), dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(list(std), dtype=torch.float32).view(1, -1, 1, 1))

    def forward(self, x: Tensor) -> Tensor:
        return self.net((x - self.mean) / self.std)
