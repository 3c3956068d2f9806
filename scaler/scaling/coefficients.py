"""The compound-scaling coefficients alpha, beta, gamma and where a call takes them from.

In order: ``--alpha/--beta/--gamma``; a grid search when one is asked for; the grid winner stored
with the base (``coefficients.json``, when it was found with the same repeat rounding); the paper's
values when the base is EfficientNet-B0. Otherwise the grid must run.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from scaler.dsl import Spec
from scaler.results import schema
from scaler.scaling.base import Base
from scaler.scaling.config import PAPER_BASE, PAPER_COEFFICIENTS, ScaleConfig, drop_float_noise


@dataclass(frozen=True)
class Coefficients:
    """alpha (depth), beta (width), gamma (resolution) and where they come from."""

    alpha: float
    beta: float
    gamma: float
    source: str = "flags"
    detail: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def product(self) -> float:
        """alpha * beta^2 * gamma^2: the MACs factor per unit of phi."""
        return self.alpha * self.beta ** 2 * self.gamma ** 2

    def multipliers(self, phi: float) -> tuple[float, float, float]:
        """(depth, width, resolution) multipliers at ``phi``."""
        return (drop_float_noise(self.alpha ** phi), drop_float_noise(self.beta ** phi),
                drop_float_noise(self.gamma ** phi))

    def as_dict(self) -> dict:
        """The coefficients.json content: the values, their product, the source and its details."""
        return {"alpha": self.alpha, "beta": self.beta, "gamma": self.gamma, "product": self.product,
                "source": self.source, **self.detail}


def load_coefficients(out: Path) -> Coefficients | None:
    """The coefficients stored for a base (``coefficients.json``), or None."""
    from scaler.results import read_json

    path = out / schema.COEFFICIENTS
    if not path.exists():
        return None
    data, _ = read_json(path)
    try:
        assert data is not None
        detail = {k: v for k, v in data.items() if k not in ("alpha", "beta", "gamma", "product", "source")}
        return Coefficients(float(data["alpha"]), float(data["beta"]), float(data["gamma"]),
                            str(data.get("source", "grid")), detail)
    except (AssertionError, KeyError, TypeError, ValueError):
        return None


def choose_coefficients(cfg: ScaleConfig, base: Base, out: Path) -> tuple[Coefficients | None, str]:
    """(coefficients, why) without a grid run, or (None, why) when the grid must run."""
    if cfg.explicit_coefficients:
        assert cfg.alpha and cfg.beta and cfg.gamma
        return Coefficients(cfg.alpha, cfg.beta, cfg.gamma, "flags"), "given by --alpha/--beta/--gamma"
    if cfg.grid_requested:
        return None, "grid search requested"
    stored = load_coefficients(out)
    if (stored is not None and stored.source == "grid" and stored.detail.get("complete", True)
            and stored.detail.get("depth_round", "ceil") == cfg.depth_round):
        return stored, f"the grid winner stored in {out / schema.COEFFICIENTS}"
    if _is_paper_base(base.spec):
        return Coefficients(*PAPER_COEFFICIENTS, "paper"), ("the base is efficientnet-b0: the paper's values "
                                                            "(no grid run yet; --grid searches them on your data)")
    return None, "no stored grid result for this base"


def _is_paper_base(spec: Spec) -> bool:
    """Is ``spec`` EfficientNet-B0 (whatever its name and its rule for rounding repeats, moot at depth 1)?"""
    from scaler.zoo import get_model

    b0 = get_model(PAPER_BASE)
    return dataclasses.replace(spec, name=PAPER_BASE, depth_round=b0.depth_round) == b0
