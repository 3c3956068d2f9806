"""What ``scaler scale`` is asked to do: its settings, their defaults and checks, and the package's constants.

The results files' names and columns, and the strategies the comparison names, belong to
``scaler.results.schema`` (the dashboard reads the same definitions).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from scaler.dsl.values import DEPTH_ROUNDINGS
from scaler.errors import ScalerError
from scaler.training.fidelity import PROXY, ProxyFidelity

PAPER_BASE = "efficientnet-b0"
PAPER_COEFFICIENTS = (1.2, 1.1, 1.15)
"""alpha, beta, gamma of the paper (section 3.3) for EfficientNet-B0."""
PUBLISHED_RESOLUTION = 224
"""The resolution the published coefficients are relative to (B0's)."""

DEFAULT_STEP = 0.05
DEFAULT_RANGE = (1.0, 2.0)
DEFAULT_TOL = 0.05
DEFAULT_MACS_TOL = 0.075
DEFAULT_RATIOS = (2.0, 4.0, 8.0)
DEFAULT_PROXY_WIDTH = PROXY.width
"""The width of trained models when neither --width nor a search says (the proxy fidelity's)."""
GRID_CONFIRM = 3
"""With --seeds S > 1, the grid's best points (by their one-seed accuracy) retrained with every seed."""


def drop_float_noise(x: float) -> float:
    """Drop float noise (1.1 * 1.1 = 1.2100000000000002) so that ceil(depth * r) is not off by one."""
    return float(f"{x:.12g}")


def parse_range(text: str | Sequence[float], what: str) -> tuple[float, float]:
    """``"1.0:2.0"`` (or a pair) -> (lo, hi) with 0 < lo <= hi."""
    if isinstance(text, str):
        lo_text, sep, hi_text = text.partition(":")
        try:
            lo, hi = float(lo_text), float(hi_text if sep else lo_text)
        except ValueError:
            raise ScalerError(f"{what} must be LO:HI (e.g. 1.0:2.0), got {text!r}") from None
    else:
        lo, hi = (float(v) for v in text)
    if not (0 < lo <= hi < math.inf):
        raise ScalerError(f"{what} must be LO:HI with 0 < LO <= HI, got {lo:g}:{hi:g}")
    return lo, hi


def parse_ratios(text: str | Sequence[float]) -> tuple[float, ...]:
    """``"2,4,8"`` -> (2.0, 4.0, 8.0); every ratio must be > 1."""
    try:
        values = [float(v) for v in (text.split(",") if isinstance(text, str) else text) if str(v).strip()]
    except ValueError:
        raise ScalerError(f"--ratios must be numbers separated by commas (e.g. 2,4,8), got {text!r}") from None
    if not values or any(not (1 < v < math.inf) for v in values):
        raise ScalerError(f"--ratios must be MAC ratios above 1 (e.g. 2,4,8), got {text!r}")
    return tuple(sorted(set(values)))


@dataclass(frozen=True)
class ScaleConfig:
    """What ``scaler scale`` does. Grid settings left None take the defaults; setting one runs the grid.

    ``width`` (None: the search's, else the proxy fidelity's), ``strides``, ``min_feature``, ``seeds`` and
    ``jobs`` are the proxy fidelity (``ProxyFidelity``, which checks them): ``strides`` and ``min_feature``
    are the stride rule (``scaler.strides``): by default applied once, to the base at its training
    resolution, every trained model keeping the base's strides;
    ``seeds`` is how many trainer seeds each comparison cell and each of the grid's top points gets
    (``--seed`` and the next ones), so differences come with their noise: one unless told, since the grid
    and the comparison train many nets.
    """

    phi: float | None = None
    base: str | None = None
    alpha: float | None = None
    beta: float | None = None
    gamma: float | None = None
    grid: bool = False
    step: float | None = None
    alpha_range: Any = None
    beta_range: Any = None
    gamma_range: Any = None
    tol: float | None = None
    macs_tol: float | None = None
    width: float | None = None
    ladder: bool = False
    train: bool = False
    compare: bool = False
    ratios: Any = DEFAULT_RATIOS
    bootstrap: int = 200
    study: str | None = None
    storage: str | None = None
    seed: int = 0
    depth_round: str = "round"
    seeds: int = 1
    strides: str = PROXY.strides
    min_feature: int = PROXY.min_feature
    jobs: int | None = PROXY.jobs  # training processes of grid points and comparison cells; None: default_jobs
    check_budget: bool = False  # train the base again at twice the epochs (scaler.training.convergence)

    @property
    def fidelity(self) -> ProxyFidelity:
        """The proxy fidelity of every trained model (epochs and train size: the TrainConfig's and DataConfig's)."""
        return ProxyFidelity(width=DEFAULT_PROXY_WIDTH if self.width is None else self.width, strides=self.strides,
                             min_feature=self.min_feature, seeds=self.seeds, jobs=self.jobs)

    def __post_init__(self) -> None:
        if self.depth_round not in DEPTH_ROUNDINGS:
            raise ScalerError(f"--depth-round must be one of {', '.join(DEPTH_ROUNDINGS)}, got {self.depth_round!r}")
        if self.phi is not None and not (0 <= self.phi < math.inf):
            raise ScalerError(f"--phi must be a number >= 0, got {self.phi:g}")
        given = [v is not None for v in (self.alpha, self.beta, self.gamma)]
        if any(given) and not all(given):
            raise ScalerError("give --alpha, --beta and --gamma together (or none of them to use the grid search)")
        self.fidelity  # noqa: B018 (its checks)
        for name in ("alpha", "beta", "gamma"):
            value = getattr(self, name)
            if value is not None and not (0 < value < math.inf):
                raise ScalerError(f"--{name} must be positive, got {value:g}")
        if self.step is not None and not (0 < self.step < math.inf):
            raise ScalerError(f"--step must be positive, got {self.step:g}")
        for name in ("tol", "macs_tol"):
            value = getattr(self, name)
            if value is not None and not (0 <= value < math.inf):
                raise ScalerError(f"--{name.replace('_', '-')} must be >= 0, got {value:g}")
        for name in ("alpha_range", "beta_range", "gamma_range"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, parse_range(value, f"--{name.replace('_', '-')}"))
        object.__setattr__(self, "ratios", parse_ratios(self.ratios))
        if self.bootstrap < 0:
            raise ScalerError(f"--bootstrap must be >= 0, got {self.bootstrap}")

    @property
    def explicit_coefficients(self) -> bool:
        """--alpha, --beta and --gamma were given."""
        return self.alpha is not None

    @property
    def grid_requested(self) -> bool:
        """--grid, or any grid setting given explicitly."""
        return self.grid or any(getattr(self, k) is not None for k in
                                ("step", "alpha_range", "beta_range", "gamma_range", "tol", "macs_tol"))

    def grid_settings(self) -> dict:
        """The grid's step, ranges and tolerances, defaults filled in."""
        return {
            "step": self.step or DEFAULT_STEP,
            "ranges": [self.alpha_range or DEFAULT_RANGE, self.beta_range or DEFAULT_RANGE,
                       self.gamma_range or DEFAULT_RANGE],
            "tol": DEFAULT_TOL if self.tol is None else self.tol,
            "macs_tol": DEFAULT_MACS_TOL if self.macs_tol is None else self.macs_tol,
        }
