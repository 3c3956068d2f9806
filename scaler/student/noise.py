"""Input noise of a noisy student: RandAugment on whole batches of tensors, on the training device.

RandAugment (Cubuk et al. 2020), as the Noisy Student reference code uses it: each image gets ``ops``
operations drawn uniformly from ``OPS``, each at the one magnitude ``magnitude`` (0..``MAX_MAGNITUDE``)
with a random sign where the operation has one. The images are normalised tensors, so each call
un-normalises to pixels in [0, 1], applies the operations to the images that drew them (one batched
call per operation) and normalises again. Geometric operations and cutout fill with mid grey, as the
reference fills with 128. All randomness comes from one generator on the images' device: a seed
gives the same noisy batches.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from scaler.student.config import MAX_MAGNITUDE

#: The operations drawn from (the reference's list without equalize, sharpness and colour, which need
#: histograms or 3 channels).
OPS = ("identity", "autocontrast", "brightness", "contrast", "solarize", "posterize", "rotate", "shear_x",
       "shear_y", "translate_x", "translate_y", "cutout")
_GEOMETRIC = ("rotate", "shear_x", "shear_y", "translate_x", "translate_y")
_FILL = 0.5


def rand_augment(x: Tensor, mean: Sequence[float], std: Sequence[float], ops: int, magnitude: float,
                 generator: torch.Generator) -> Tensor:
    """``x`` (normalised NCHW) with ``ops`` RandAugment operations per image at ``magnitude``, normalised again."""
    if ops < 1:
        return x
    shape = (1, -1, 1, 1)
    m, s = x.new_tensor(list(mean)).view(shape), x.new_tensor(list(std)).view(shape)
    pixels = (x * s + m).clamp_(0, 1)
    level = magnitude / MAX_MAGNITUDE
    n = len(x)
    for _ in range(ops):
        choice = torch.randint(len(OPS), (n,), generator=generator, device=x.device)
        sign = torch.where(torch.rand(n, generator=generator, device=x.device) < 0.5, -1.0, 1.0)
        for k, name in enumerate(OPS):
            idx = (choice == k).nonzero().flatten()
            if name == "identity" or len(idx) == 0:
                continue
            pixels[idx] = _apply(name, pixels[idx], level, sign[idx], generator)
    return (pixels - m) / s


def _apply(name: str, p: Tensor, level: float, sign: Tensor, generator: torch.Generator) -> Tensor:
    """One operation on pixels in [0, 1] at ``level`` in [0, 1], ``sign`` (+-1) per image."""
    if name in _GEOMETRIC:
        return _affine(name, p, level, sign)
    if name == "autocontrast":
        lo, hi = p.amin(dim=(2, 3), keepdim=True), p.amax(dim=(2, 3), keepdim=True)
        return torch.where(hi > lo, (p - lo) / (hi - lo).clamp_min(1e-6), p)
    factor = (1 + 0.9 * level * sign).view(-1, 1, 1, 1)
    if name == "brightness":
        return (p * factor).clamp_(0, 1)
    if name == "contrast":
        grey = p.mean(dim=(1, 2, 3), keepdim=True)
        return ((p - grey) * factor + grey).clamp_(0, 1)
    if name == "solarize":
        threshold = 1 - level
        return torch.where(p >= threshold, 1 - p, p)
    if name == "posterize":
        step = 2 ** min(7, int(level * 4))  # keep 8 - level*4 bits
        return torch.floor(p * 255 / step) * step / 255
    # cutout: a square of side level/2 of the image at a random place
    h, w = p.shape[-2:]
    side = max(1, round(level * 0.5 * min(h, w)))
    rows = torch.randint(0, h, (len(p),), generator=generator, device=p.device)
    cols = torch.randint(0, w, (len(p),), generator=generator, device=p.device)
    r, c = torch.arange(h, device=p.device), torch.arange(w, device=p.device)
    inside = ((r.view(1, h, 1) - rows.view(-1, 1, 1)).abs() <= side // 2) & (
        (c.view(1, 1, w) - cols.view(-1, 1, 1)).abs() <= side // 2)
    return torch.where(inside.unsqueeze(1), torch.full_like(p, _FILL), p)


def _affine(name: str, p: Tensor, level: float, sign: Tensor) -> Tensor:
    """Rotate (up to 30 degrees), shear (up to 0.3) or translate (up to a third of the image) by ``level``."""
    theta = torch.zeros(len(p), 2, 3, device=p.device)
    theta[:, 0, 0] = theta[:, 1, 1] = 1
    amount = level * sign
    if name == "rotate":
        angle = amount * math.radians(30)
        theta[:, 0, 0], theta[:, 0, 1] = angle.cos(), -angle.sin()
        theta[:, 1, 0], theta[:, 1, 1] = angle.sin(), angle.cos()
    elif name == "shear_x":
        theta[:, 0, 1] = amount * 0.3
    elif name == "shear_y":
        theta[:, 1, 0] = amount * 0.3
    elif name == "translate_x":
        theta[:, 0, 2] = amount * 2 / 3  # grid units: the image spans 2
    else:
        theta[:, 1, 2] = amount * 2 / 3
    grid = F.affine_grid(theta, list(p.shape), align_corners=False)
    return F.grid_sample(p - _FILL, grid, mode="bilinear", padding_mode="zeros", align_corners=False) + _FILL
