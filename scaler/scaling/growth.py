"""Growing a Spec: by depth, width and resolution multipliers, at any phi, and the ladder of rungs.

The Spec at any real ``phi >= 0``: depth ``alpha^phi``, width ``beta^phi``, resolution
``round(base_res * gamma^phi)``; the ladder phi = 1..7 (``derived``) next to the published B1..B8 and
L2 coefficients applied to the same base (``published``), each with params, MACs, activations and its
MAC ratio to the base against the ideal ``(alpha * beta^2 * gamma^2)^phi``. Derived repeats round to
the nearest by default (``--depth-round round``): EfficientNet's ceil turns every one-block stage into
two at depth 1.2, so B0 at phi = 1 would count 2.57x its MACs instead of 1.92x (34% over the law);
published rungs keep ceil, as B1..L2 were built.
"""

from __future__ import annotations

import csv
import dataclasses
import math
from collections.abc import Iterable
from typing import Any

from scaler.dsl import Spec
from scaler.errors import ScalerError
from scaler.nn.complexity import complexity
from scaler.scaling.base import base_key
from scaler.scaling.coefficients import Coefficients
from scaler.scaling.config import PAPER_BASE, PUBLISHED_RESOLUTION, drop_float_noise


def grow(spec: Spec, depth: float = 1.0, width: float = 1.0, resolution: float = 1.0, name: str | None = None,
         dropout: float | None = None, depth_round: str | None = None) -> Spec:
    """``spec`` with depth and width multiplied and its resolution times ``resolution`` (rounded);
    ``depth_round`` (ceil, round) replaces the Spec's rule for turning depth into repeats."""
    out = spec.scale(depth=depth, width=width, resolution=max(1, round(spec.resolution * resolution)), name=name)
    changes: dict[str, Any] = {"depth": drop_float_noise(out.depth), "width": drop_float_noise(out.width)}
    if dropout is not None:
        changes["dropout"] = dropout
    if depth_round is not None:
        changes["depth_round"] = depth_round
    return dataclasses.replace(out, **changes)


def at_phi(base: Spec, coefficients: Coefficients, phi: float, name: str | None = None) -> Spec:
    """The compound-scaled Spec: depth alpha^phi, width beta^phi, resolution round(res * gamma^phi)."""
    if not (0 <= phi < math.inf):
        raise ScalerError(f"phi must be a number >= 0, got {phi:g}")
    d, w, r = coefficients.multipliers(phi)
    return grow(base, d, w, r, name=name)


def phi_name(key: str, phi: float) -> str:
    """The name of a base's derived rung at ``phi`` (``<key>-phi<phi>``)."""
    return f"{key}-phi{drop_float_noise(phi):g}"


def count(spec: Spec, in_channels: int = 3, num_classes: int = 1000) -> Any:
    """The Spec's params, MACs and activations (nominally: 3 input channels, 1000 classes)."""
    return complexity(spec, in_channels=in_channels, num_classes=num_classes)


def published_coefficients() -> list[dict]:
    """The published B1..B8 and L2 coefficients (width, depth, resolution, dropout), B0 excluded."""
    from scaler.zoo import REFERENCE_DIR

    rows = []
    with open(REFERENCE_DIR / "efficientnet_coefficients.csv", newline="") as f:
        for row in csv.DictReader(f):
            if row["model"] == PAPER_BASE:
                continue
            suffix = row["model"].rpartition("-")[2]
            rows.append({"model": row["model"], "suffix": suffix, "width": float(row["width"]),
                         "depth": float(row["depth"]), "resolution": int(row["resolution"]),
                         "dropout": float(row["dropout"]),
                         "phi": float(suffix[1:]) if suffix[:1] == "b" and suffix[1:].isdigit() else None})
    return rows


def published_spec(base: Spec, row: dict, name: str | None = None) -> Spec:
    """A published coefficient set applied to ``base`` (resolution ratio res / 224), repeats rounded up as
    B1..L2 were built."""
    return grow(base, row["depth"], row["width"], row["resolution"] / PUBLISHED_RESOLUTION, name=name,
                dropout=row["dropout"], depth_round="ceil")


def ladder(base: Spec, coefficients: Coefficients, phis: Iterable[float] = range(1, 8), key: str | None = None,
           published: bool = True) -> list[dict]:
    """The base, the derived rungs at ``phis`` and the published B1..L2 on the same base, counted nominally.

    Each row: label (base / derived / published), name, phi, width, depth, resolution (the multipliers
    and the pixels), params, macs, acts, mac_ratio (to the base), expected_ratio ((alpha*beta^2*gamma^2)^phi
    for derived rows, depth * width^2 * (res/224)^2 for published ones) and the Spec.
    """
    key = key or base_key(base.name)
    base_cx = count(base)

    def row(label: str, phi: float | None, spec: Spec, depth: float, width: float, expected: float) -> dict:
        cx = count(spec)
        return {"label": label, "name": spec.name, "phi": phi, "width": width, "depth": depth,
                "resolution": spec.resolution, "params": cx.params, "macs": cx.macs, "acts": cx.acts,
                "mac_ratio": cx.macs / base_cx.macs, "expected_ratio": expected, "spec": spec}

    rows = [row("base", 0.0, dataclasses.replace(base, name=key), 1.0, 1.0, 1.0)]
    for phi in sorted(set(float(p) for p in phis)):
        d, w, _ = coefficients.multipliers(phi)
        rows.append(row("derived", phi, at_phi(base, coefficients, phi, phi_name(key, phi)), d, w,
                        coefficients.product ** phi))
    if published:
        for p in published_coefficients():
            spec = published_spec(base, p, f"{key}-published-{p['suffix']}")
            rows.append(row("published", p["phi"], spec, p["depth"], p["width"],
                            p["depth"] * p["width"] ** 2 * (p["resolution"] / PUBLISHED_RESOLUTION) ** 2))
    return rows
