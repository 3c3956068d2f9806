"""Common corruptions of small images, in torch alone, at five severities (after ImageNet-C / CIFAR-10-C).

Each corruption is a pure function ``(images, severity, generator) -> images``: ``images`` is a float
N x C x H x W tensor in [0, 1] with 1 or 3 channels, ``severity`` is 1..5 and every random draw comes
from ``generator`` (a CPU ``torch.Generator``; draws are made on the CPU and moved to the images'
device, so a seed gives the same draws on any device). The output has the input's shape and lies in
[0, 1]. ``CORRUPTIONS`` registers each by name with its family and whether the trainer's augmentation
(``scaler.data.augment_batch``: reflect-padded random crops, i.e. translations by up to resolution/8
pixels, and horizontal flips) already applies it: such "seen" corruptions are reported apart, since
robustness to them is trained rather than emergent.

Severity constants. Hendrycks & Dietterich (ICLR 2019, "Benchmarking Neural Network Robustness to
Common Corruptions and Perturbations") give two constant sets, ImageNet-C's for 224 px and
CIFAR-10-C's for 32 px (``make_cifar_c.py`` in github.com/hendrycks/robustness). The images here are
28 px (Fashion-MNIST) or 32 px (CIFAR), so the CIFAR-10-C constants are used where one exists:
intensity constants (noise scales, contrast and brightness factors, JPEG qualities, zoom ranges,
fog strengths) as published, and constants measured in pixels (blur sigmas and radii,
glass-blur shifts, motion-blur lengths) scaled by H / 32, so a 28 px image gets the same blur relative
to its size. Where CIFAR-10-C has no such corruption (rotate, shear, scale, translate), its recipe
needs ImageMagick or OpenCV (motion blur, spatter), or its damage does not grow with severity at
this size (glass blur, pixelate, elastic, defocus blur's whole-pixel disk), the recipe is re-derived
here with constants spanning a comparable range; fog draws its cloud with value noise instead of
diamond-square plasma. The docstring of each says which. Below about 24 px the scaled lengths shrink
under half a pixel, and neighbouring severities of the lightest blurs and shifts can round to the
same 8-bit image.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
import torchvision.io as tvio
from torch import Tensor

from scaler.errors import ScalerError, UnknownNameError

SEVERITIES = (1, 2, 3, 4, 5)
FAMILIES = ("noise", "blur", "weather", "digital", "geometric")

CorruptionFn = Callable[[Tensor, int, torch.Generator], Tensor]


# --- helpers -------------------------------------------------------------------------------


def _draw(draw: Callable[..., Tensor], x: Tensor, *args: object, generator: torch.Generator, **kwargs: object) -> Tensor:
    """A random tensor drawn on the CPU from ``generator`` and moved to ``x``'s device."""
    return draw(*args, generator=generator, **kwargs).to(x.device)


def _signs(x: Tensor, generator: torch.Generator) -> Tensor:
    """One random sign (+1 or -1) per image, shape N."""
    return _draw(torch.randint, x, 0, 2, (len(x),), generator=generator).float() * 2 - 1


def _px(x: Tensor, pixels_at_32: float) -> float:
    """A length given for 32 px images, scaled to this image size (H / 32)."""
    return pixels_at_32 * x.shape[-2] / 32


def _depthwise(x: Tensor, kernel: Tensor) -> Tensor:
    """Convolve every channel of every image with ``kernel`` (k x k, or N x k x k: one per image).

    Reflect padding, as the trainer pads; replicate where the kernel is wider than the image allows.
    """
    n, c, h, w = x.shape
    k = kernel.shape[-1]
    pad = k // 2
    padded = F.pad(x, (pad, pad, pad, pad), mode="reflect" if pad < min(h, w) else "replicate")
    weight = kernel.to(x).expand(n, k, k) if kernel.ndim == 2 else kernel.to(x)
    weight = weight.repeat_interleave(c, dim=0).unsqueeze(1)
    return F.conv2d(padded.reshape(1, n * c, h + 2 * pad, w + 2 * pad), weight, groups=n * c).reshape(n, c, h, w)


def _gaussian_kernel(sigma: float) -> Tensor:
    """A normalised 2-D Gaussian kernel of radius ceil(3 sigma) (at least 1)."""
    radius = max(1, math.ceil(3 * sigma))
    t = torch.arange(-radius, radius + 1, dtype=torch.float32)
    g = torch.exp(-0.5 * (t / max(sigma, 1e-6)) ** 2)
    kernel = g[:, None] * g[None, :]
    return kernel / kernel.sum()


def _blur(x: Tensor, sigma: float) -> Tensor:
    return _depthwise(x, _gaussian_kernel(sigma))


def _warp(x: Tensor, theta: Tensor) -> Tensor:
    """Resample each image through its 2 x 3 affine ``theta`` (normalised coordinates, output -> input),
    bilinear with reflection at the border, as the trainer pads by reflection."""
    grid = F.affine_grid(theta.to(x), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)


def _affine(x: Tensor, matrix: Tensor, shift: Tensor | None = None) -> Tensor:
    """Warp each image by its 2 x 2 ``matrix`` (N x 2 x 2) about the centre, plus ``shift`` (N x 2, in pixels)."""
    n, _, h, w = x.shape
    theta = torch.zeros(n, 2, 3, device=x.device)
    theta[:, :, :2] = matrix
    if shift is not None:
        theta[:, 0, 2] = -2 * shift[:, 0] / w
        theta[:, 1, 2] = -2 * shift[:, 1] / h
    return _warp(x, theta)


def rotate_by(x: Tensor, degrees: Tensor) -> Tensor:
    """Rotate image i by ``degrees[i]`` about its centre."""
    a = torch.deg2rad(degrees.to(x.device))
    cos, sin = torch.cos(a), torch.sin(a)
    return _affine(x, torch.stack([torch.stack([cos, -sin], 1), torch.stack([sin, cos], 1)], 1))


def shear_by(x: Tensor, amount: Tensor) -> Tensor:
    """Shear image i horizontally by ``amount[i]`` (x' = x + amount * y)."""
    m = torch.eye(2, device=x.device).repeat(len(x), 1, 1)
    m[:, 0, 1] = amount.to(x.device)
    return _affine(x, m)


def scale_by(x: Tensor, factor: Tensor) -> Tensor:
    """Zoom image i by ``factor[i]`` about its centre (above 1 zooms in, below 1 out)."""
    m = torch.eye(2, device=x.device).repeat(len(x), 1, 1) / factor.to(x.device).view(-1, 1, 1)
    return _affine(x, m)


def translate_by(x: Tensor, shift: Tensor) -> Tensor:
    """Shift image i by ``shift[i]`` = (dx, dy) pixels, reflecting at the border as the trainer's crops do."""
    return _affine(x, torch.eye(2, device=x.device).repeat(len(x), 1, 1), shift.to(x.device))


def _directions(x: Tensor, generator: torch.Generator) -> Tensor:
    """One random unit vector per image, N x 2."""
    angle = _draw(torch.rand, x, len(x), generator=generator) * 2 * math.pi
    return torch.stack([torch.cos(angle), torch.sin(angle)], 1)


# --- noise ---------------------------------------------------------------------------------


def gaussian_noise(x: Tensor, severity: int, generator: torch.Generator) -> Tensor:
    """Additive Gaussian noise, std 0.04 .. 0.10 (CIFAR-10-C)."""
    std = (0.04, 0.06, 0.08, 0.09, 0.10)[severity - 1]
    return (x + std * _draw(torch.randn, x, x.shape, generator=generator)).clamp(0, 1)


def shot_noise(x: Tensor, severity: int, generator: torch.Generator) -> Tensor:
    """Poisson (photon) noise: Poisson(x * photons) / photons, photons 500 .. 50 (CIFAR-10-C)."""
    photons = (500, 250, 100, 75, 50)[severity - 1]
    counts = torch.poisson((x * photons).cpu(), generator=generator).to(x.device)
    return (counts / photons).clamp(0, 1)


def impulse_noise(x: Tensor, severity: int, generator: torch.Generator) -> Tensor:
    """Salt-and-pepper noise on a fraction 0.01 .. 0.07 of the values, half white, half black (CIFAR-10-C)."""
    amount = (0.01, 0.02, 0.03, 0.05, 0.07)[severity - 1]
    u = _draw(torch.rand, x, x.shape, generator=generator)
    x = torch.where(u < amount / 2, torch.ones_like(x), x)
    return torch.where((u >= amount / 2) & (u < amount), torch.zeros_like(x), x)


def speckle_noise(x: Tensor, severity: int, generator: torch.Generator) -> Tensor:
    """Multiplicative Gaussian noise x + x * N(0, s), s 0.06 .. 0.20 (CIFAR-10-C)."""
    std = (0.06, 0.10, 0.12, 0.16, 0.20)[severity - 1]
    return (x + x * std * _draw(torch.randn, x, x.shape, generator=generator)).clamp(0, 1)


# --- blur ----------------------------------------------------------------------------------


def gaussian_blur(x: Tensor, severity: int, generator: torch.Generator) -> Tensor:
    """Gaussian blur, sigma 0.4 .. 1.0 px at 32 px (CIFAR-10-C)."""
    return _blur(x, _px(x, (0.4, 0.6, 0.7, 0.8, 1.0)[severity - 1])).clamp(0, 1)


def defocus_blur(x: Tensor, severity: int, generator: torch.Generator) -> Tensor:
    """A disk kernel (radius 0.3 .. 1.5 px at 32 px) softened by a Gaussian (sigma 0.4 .. 0.1) (CIFAR-10-C).

    The severities' (radius, alias sigma) pairs are CIFAR-10-C's. There the disk is the set of whole
    pixels within the radius, which jumps at integer radii; scaled to 28 px a radius of 1 would fall
    to 0.875 and lose its ring, so each tap here weighs the share of its pixel inside the circle
    (8 x 8 samples per pixel), a disk that grows smoothly with the radius.
    """
    radius, alias = ((0.3, 0.4), (0.4, 0.5), (0.5, 0.6), (1.0, 0.2), (1.5, 0.1))[severity - 1]
    radius, alias = _px(x, radius), _px(x, alias)
    r = max(1, math.ceil(radius))
    t = torch.arange(-r, r + 1, dtype=torch.float32)
    sub = (torch.arange(8, dtype=torch.float32) + 0.5) / 8 - 0.5
    ys = (t[:, None] + sub[None, :]).view(-1, 1, 8, 1)
    xs = (t[:, None] + sub[None, :]).view(1, -1, 1, 8)
    disk = (ys**2 + xs**2 <= radius**2).float().mean(dim=(2, 3))
    return _blur(_depthwise(x, disk / disk.sum()), alias).clamp(0, 1)


def motion_blur(x: Tensor, severity: int, generator: torch.Generator) -> Tensor:
    """A one-sided streak at a random angle in [-45, 45] degrees per image, Gaussian-weighted along its length.

    ImageMagick's motion blur as ImageNet-C calls it (radius 10-12, sigma 1 .. 3 at 32 px in
    CIFAR-10-C): weights exp(-t^2 / 2 sigma^2) at distances t = 0 .. 3 sigma along the direction,
    splatted bilinearly onto a square kernel.
    """
    sigma = _px(x, (1.0, 1.5, 2.0, 2.5, 3.0)[severity - 1])
    angle = torch.deg2rad(torch.rand(len(x), generator=generator) * 90 - 45)
    r = max(1, math.ceil(3 * sigma))
    t = torch.linspace(0, 3 * sigma, 8 * r + 1)
    weight = torch.exp(-0.5 * (t / sigma) ** 2)
    px = r + t[None, :] * torch.cos(angle)[:, None]
    py = r - t[None, :] * torch.sin(angle)[:, None]
    kernel = torch.zeros(len(x), 2 * r + 1, 2 * r + 1)
    for fy, fx, w in _bilinear_taps(py, px):
        index = fy.clamp(0, 2 * r) * (2 * r + 1) + fx.clamp(0, 2 * r)
        kernel.view(len(x), -1).scatter_add_(1, index, w * weight)
    kernel /= kernel.sum(dim=(1, 2), keepdim=True)
    return _depthwise(x, kernel.to(x.device)).clamp(0, 1)


def _bilinear_taps(py: Tensor, px: Tensor) -> list[tuple[Tensor, Tensor, Tensor]]:
    """The four integer neighbours of points (py, px) with their bilinear weights."""
    y0, x0 = py.floor(), px.floor()
    dy, dx = py - y0, px - x0
    y0, x0 = y0.long(), x0.long()
    return [(y0, x0, (1 - dy) * (1 - dx)), (y0, x0 + 1, (1 - dy) * dx),
            (y0 + 1, x0, dy * (1 - dx)), (y0 + 1, x0 + 1, dy * dx)]


def zoom_blur(x: Tensor, severity: int, generator: torch.Generator) -> Tensor:
    """The mean of the image and its centre zooms by 1.00, 1.01, .. up to 1.06 .. 1.26 (CIFAR-10-C)."""
    top = (1.06, 1.11, 1.16, 1.21, 1.26)[severity - 1]
    factors = torch.arange(1.0, top - 1e-9, 0.01)
    out = x.clone()
    for f in factors.tolist():
        out += scale_by(x, torch.full((len(x),), f))
    return (out / (len(factors) + 1)).clamp(0, 1)


def glass_blur(x: Tensor, severity: int, generator: torch.Generator) -> Tensor:
    """Blur lightly, move each pixel to a random neighbour up to ``delta`` px away ``iterations`` times, blur again.

    (sigma, delta, iterations) = (0.05, 1, 1), (0.05, 1, 2), (0.1, 2, 1), (0.1, 2, 2), (0.2, 3, 2) at
    32 px, lengths scaled by H / 32. The shift grows with severity as ImageNet-C's does (delta 1 .. 4);
    the blur stays near CIFAR-10-C's lightest (0.05), because a heavier blur after the shuffle smooths
    the shuffle away (CIFAR-10-C's severities 2 and 3, sigma 0.25 and 0.4, change a 32 px image less
    than its severity 1). ImageNet-C swaps pixels in a sequential loop; here every pixel reads from
    its own random neighbour at once, the same local shuffle without a Python loop over pixels.
    """
    sigma, delta, iterations = ((0.05, 1, 1), (0.05, 1, 2), (0.1, 2, 1), (0.1, 2, 2), (0.2, 3, 2))[severity - 1]
    sigma, delta = _px(x, sigma), max(1, round(_px(x, delta)))
    n, c, h, w = x.shape
    x = _blur(x, sigma)
    rows = torch.arange(h).view(1, h, 1)
    cols = torch.arange(w).view(1, 1, w)
    for _ in range(iterations):
        dy, dx = torch.randint(-delta, delta + 1, (2, n, h, w), generator=generator)
        index = ((rows + dy).clamp(0, h - 1) * w + (cols + dx).clamp(0, w - 1)).to(x.device)
        x = x.reshape(n, c, h * w).gather(2, index.view(n, 1, h * w).expand(n, c, h * w)).view(n, c, h, w)
    return _blur(x, sigma).clamp(0, 1)


# --- weather -------------------------------------------------------------------------------


def brightness(x: Tensor, severity: int, generator: torch.Generator) -> Tensor:
    """Add 0.05 .. 0.30 to the HSV value (CIFAR-10-C); hue and saturation stay, so gray images just brighten.

    Raising V = max(R, G, B) to V' with H and S fixed scales every channel by V' / V (black becomes gray V').
    """
    shift = (0.05, 0.10, 0.15, 0.20, 0.30)[severity - 1]
    v = x.amax(dim=1, keepdim=True)
    v_new = (v + shift).clamp(max=1)
    return torch.where(v > 0, x * v_new / v.clamp_min(1e-12), v_new.expand_as(x)).clamp(0, 1)


def fog(x: Tensor, severity: int, generator: torch.Generator) -> Tensor:
    """Add a fractal cloud of strength 0.2 .. 1.5 and roughness decay 3 .. 1.75, then rescale (CIFAR-10-C).

    ImageNet-C draws the cloud with diamond-square plasma whose octave amplitudes fall by the
    "wibble decay"; here the same octave sum is built from bilinearly upsampled Gaussian grids (value
    noise), amplitude divided by the decay per octave, normalised to [0, 1], one cloud per image
    shared by its channels. Then, as there, x' = (x + strength * cloud) * max(x) / (max(x) + strength).
    """
    strength, decay = ((0.2, 3.0), (0.5, 3.0), (0.75, 2.5), (1.0, 2.0), (1.5, 1.75))[severity - 1]
    n, _, h, w = x.shape
    cloud = torch.zeros(n, 1, h, w)
    size, amplitude = 2, 1.0
    while size <= 2 * max(h, w):
        grid = torch.randn(n, 1, size, size, generator=generator)
        cloud += amplitude * F.interpolate(grid, size=(h, w), mode="bilinear", align_corners=True)
        size, amplitude = size * 2, amplitude / decay
    low = cloud.amin(dim=(2, 3), keepdim=True)
    cloud = (cloud - low) / (cloud.amax(dim=(2, 3), keepdim=True) - low).clamp_min(1e-12)
    peak = x.amax(dim=(1, 2, 3), keepdim=True)
    return ((x + strength * cloud.to(x.device)) * peak / (peak + strength)).clamp(0, 1)


def spatter(x: Tensor, severity: int, generator: torch.Generator) -> Tensor:
    """Drops of pale turquoise water (its gray level on 1-channel images) over a growing share of the image.

    ImageNet-C thresholds a blurred Gaussian field into drops and shades them with OpenCV (water,
    severities 1-3) or pastes mud (4-5). Here one blurred field per image (sigma 1 px at 32 px) is
    thresholded at quantiles so drops cover about 3, 6, 10, 15 and 21% of the image, softened, and
    blended at opacity 0.6 .. 0.8: the drops of a lower severity are inside those of a higher one, so
    the damage grows with severity.
    """
    cover, opacity = ((0.03, 0.6), (0.06, 0.65), (0.10, 0.7), (0.15, 0.75), (0.21, 0.8))[severity - 1]
    n, c, h, w = x.shape
    field = _blur(torch.randn(n, 1, h, w, generator=generator), _px(x, 1.0))
    threshold = torch.quantile(field.view(n, -1), 1 - cover, dim=1).view(n, 1, 1, 1)
    mask = _blur((field >= threshold).float(), _px(x, 0.5)).to(x.device) * opacity
    colour = torch.tensor([175, 238, 238], dtype=x.dtype, device=x.device) / 255
    colour = colour.view(1, 3, 1, 1) if c == 3 else colour.mean().view(1, 1, 1, 1).expand(1, c, 1, 1)
    return (x * (1 - mask) + colour * mask).clamp(0, 1)


# --- digital -------------------------------------------------------------------------------


def contrast(x: Tensor, severity: int, generator: torch.Generator) -> Tensor:
    """Pull every channel towards its image mean: (x - mean) * 0.75 .. 0.15 + mean (CIFAR-10-C)."""
    factor = (0.75, 0.5, 0.4, 0.3, 0.15)[severity - 1]
    mean = x.mean(dim=(2, 3), keepdim=True)
    return ((x - mean) * factor + mean).clamp(0, 1)


def jpeg(x: Tensor, severity: int, generator: torch.Generator) -> Tensor:
    """JPEG compression at quality 80 .. 40 (CIFAR-10-C) through torchvision.io (uint8, on the CPU)."""
    quality = (80, 65, 58, 50, 40)[severity - 1]
    images = list(x.mul(255).round().clamp(0, 255).to(torch.uint8).cpu())
    decoded = tvio.decode_jpeg(tvio.encode_jpeg(images, quality=quality), mode=tvio.ImageReadMode.UNCHANGED)
    return torch.stack(decoded).to(x.device, x.dtype) / 255


def pixelate(x: Tensor, severity: int, generator: torch.Generator) -> Tensor:
    """Shrink to 0.8 .. 0.35 of the size and blow back up, both with exact box (area) resampling.

    CIFAR-10-C shrinks to 0.95 .. 0.65 with PIL's box filter and enlarges with nearest neighbours;
    at 28-32 px that moves the pixel grid by under a pixel, and the misalignment rather than the lost
    detail sets the damage, which then does not grow with severity. Smaller sizes (ImageNet-C goes
    down to 0.25) and a box filter both ways (each output pixel averages the cells it overlaps, by
    area) make the loss of detail grow with severity.
    """
    ratio = (0.8, 0.7, 0.6, 0.45, 0.35)[severity - 1]
    h, w = x.shape[-2:]
    rows, cols = _box_matrix(h, max(1, round(h * ratio))), _box_matrix(w, max(1, round(w * ratio)))
    small = rows.to(x) @ x @ cols.to(x).T
    return (_box_matrix(len(rows), h).to(x) @ small @ _box_matrix(len(cols), w).to(x).T).clamp(0, 1)


def _box_matrix(source: int, target: int) -> Tensor:
    """The target x source matrix that resamples a line of ``source`` pixels to ``target`` by area overlap."""
    a = torch.arange(target + 1, dtype=torch.float64) / target
    b = torch.arange(source + 1, dtype=torch.float64) / source
    overlap = (torch.minimum(a[1:, None], b[None, 1:]) - torch.maximum(a[:-1, None], b[None, :-1])).clamp_min(0)
    return (overlap / overlap.sum(1, keepdim=True)).float()


def elastic(x: Tensor, severity: int, generator: torch.Generator) -> Tensor:
    """A smooth random displacement field (Simard et al. 2003) of RMS 0.5 .. 2.5 px at 32 px.

    ImageNet-C's elastic transform mixes an affine jitter with a field whose smoothness and
    amplitude both change across severities, which does not grow monotonically; here the field's
    smoothness is fixed (Gaussian sigma 3 px at 32 px over uniform noise) and its amplitude grows.
    """
    rms = _px(x, (0.5, 1.0, 1.5, 2.0, 2.5)[severity - 1])
    n, _, h, w = x.shape
    field = _blur(torch.rand(n, 2, h, w, generator=generator) * 2 - 1, _px(x, 3.0))
    field = field / field.pow(2).mean(dim=(1, 2, 3), keepdim=True).sqrt().clamp_min(1e-12) * rms
    ys, xs = torch.meshgrid(torch.linspace(-1 + 1 / h, 1 - 1 / h, h), torch.linspace(-1 + 1 / w, 1 - 1 / w, w),
                            indexing="ij")
    grid = torch.stack([xs + field[:, 0] * 2 / w, ys + field[:, 1] * 2 / h], dim=-1)
    return F.grid_sample(x, grid.to(x), mode="bilinear", padding_mode="reflection", align_corners=False).clamp(0, 1)


# --- geometric ----------------------------------------------------------------------------


def rotate(x: Tensor, severity: int, generator: torch.Generator) -> Tensor:
    """Rotate by 5 .. 25 degrees, random sense per image (ImageNet-P rotates; CIFAR-10-C has no constants)."""
    degrees = (5.0, 10.0, 15.0, 20.0, 25.0)[severity - 1]
    return rotate_by(x, degrees * _signs(x, generator)).clamp(0, 1)


def shear(x: Tensor, severity: int, generator: torch.Generator) -> Tensor:
    """Shear horizontally by 0.05 .. 0.25 (3 .. 14 degrees), random sense per image."""
    amount = (0.05, 0.10, 0.15, 0.20, 0.25)[severity - 1]
    return shear_by(x, amount * _signs(x, generator)).clamp(0, 1)


def scale(x: Tensor, severity: int, generator: torch.Generator) -> Tensor:
    """Zoom in or out (random per image) by 5 .. 25% about the centre."""
    change = (0.05, 0.10, 0.15, 0.20, 0.25)[severity - 1]
    return scale_by(x, 1 + change * _signs(x, generator)).clamp(0, 1)


def translate(x: Tensor, severity: int, generator: torch.Generator) -> Tensor:
    """Shift by 1 .. 5 px at 32 px (rounded to whole pixels) in a random direction per image, reflecting.

    The trainer's reflect-padded random crops shift by up to resolution // 8 pixels (4 at 32 px), so
    this corruption is seen in training; severity 5 goes just beyond it.
    """
    distance = _px(x, (1.0, 2.0, 3.0, 4.0, 5.0)[severity - 1])
    return translate_by(x, (distance * _directions(x, generator)).round()).clamp(0, 1)


# --- the table ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Corruption:
    """One registered corruption: its function, family, whether it draws random numbers, and whether
    the trainer's augmentation already applies it (so it is reported apart)."""

    name: str
    family: str
    fn: CorruptionFn
    random: bool = True
    seen_in_training: bool = False


CORRUPTIONS: dict[str, Corruption] = {
    c.name: c
    for c in (
        Corruption("gaussian_noise", "noise", gaussian_noise),
        Corruption("shot_noise", "noise", shot_noise),
        Corruption("impulse_noise", "noise", impulse_noise),
        Corruption("speckle_noise", "noise", speckle_noise),
        Corruption("gaussian_blur", "blur", gaussian_blur, random=False),
        Corruption("defocus_blur", "blur", defocus_blur, random=False),
        Corruption("motion_blur", "blur", motion_blur),
        Corruption("zoom_blur", "blur", zoom_blur, random=False),
        Corruption("glass_blur", "blur", glass_blur),
        Corruption("brightness", "weather", brightness, random=False),
        Corruption("fog", "weather", fog),
        Corruption("spatter", "weather", spatter),
        Corruption("contrast", "digital", contrast, random=False),
        Corruption("jpeg", "digital", jpeg, random=False),
        Corruption("pixelate", "digital", pixelate, random=False),
        Corruption("elastic", "digital", elastic),
        Corruption("rotate", "geometric", rotate),
        Corruption("shear", "geometric", shear),
        Corruption("scale", "geometric", scale),
        Corruption("translate", "geometric", translate, seen_in_training=True),
    )
}
CORRUPTION_NAMES = tuple(CORRUPTIONS)


def check_severity(severity: int) -> int:
    """``severity`` if it is 1..5, else a one-line ScalerError."""
    if isinstance(severity, bool) or not isinstance(severity, int) or severity not in SEVERITIES:
        raise ScalerError(f"severity {severity!r} is outside 1..5")
    return severity


def get_corruption(name: str) -> Corruption:
    """The registered corruption ``name`` (hyphens read as underscores), else a one-line UnknownNameError."""
    key = name.strip().lower().replace("-", "_")
    if key not in CORRUPTIONS:
        raise UnknownNameError(f"unknown corruption {name!r}: known are {', '.join(CORRUPTION_NAMES)}")
    return CORRUPTIONS[key]


def corrupt(images: Tensor, name: str, severity: int, generator: torch.Generator) -> Tensor:
    """``images`` (N x C x H x W in [0, 1]) under corruption ``name`` at ``severity``, checked first."""
    corruption = get_corruption(name)
    check_severity(severity)
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise ScalerError(f"corruptions need N x C x H x W images with 1 or 3 channels, got {tuple(images.shape)}")
    return corruption.fn(images, severity, generator)


def parse_corruptions(text: str | None) -> tuple[str, ...]:
    """``--corruptions``: comma-separated names, a family name for all of its members, or None/'all' for every one."""
    if text is None or text.strip().lower() == "all":
        return CORRUPTION_NAMES
    names: list[str] = []
    for item in filter(None, (s.strip() for s in text.split(","))):
        members = [c.name for c in CORRUPTIONS.values() if c.family == item.lower()]
        for name in members or [get_corruption(item).name]:
            if name not in names:
                names.append(name)
    if not names:
        raise ScalerError(f"no corruption named in {text!r}: known are {', '.join(CORRUPTION_NAMES)}")
    return tuple(names)


def parse_severities(text: str | None) -> tuple[int, ...]:
    """``--severities``: 'A-B' (a range), 'A,B,...' or one number, each 1..5; None means all five."""
    if text is None:
        return SEVERITIES
    found: set[int] = set()
    for item in filter(None, (s.strip() for s in text.split(","))):
        low, dash, high = item.partition("-")
        try:
            bounds = (int(low), int(high)) if dash else (int(item), int(item))
        except ValueError as err:
            raise ScalerError(f"bad severities {text!r}: use A-B, A,B,... or one number, each 1..5") from err
        for bound in bounds:
            check_severity(bound)
        if bounds[0] > bounds[1]:
            raise ScalerError(f"bad severity range {item!r}: {bounds[0]} > {bounds[1]}")
        found.update(range(bounds[0], bounds[1] + 1))
    if not found:
        raise ScalerError(f"no severity in {text!r}: use A-B, A,B,... or one number, each 1..5")
    return tuple(sorted(found))
