"""Scaling laws: ``error = a * (MACs / m0)^-b + c`` fitted by least squares, with a bootstrap band.

Variable projection: for a given b the law is linear in a and c (solved exactly), so only b is
searched (a grid refined by golden-section search); a parametric bootstrap gives the uncertainty
band used to extrapolate to the next rungs.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from scaler.errors import ScalerError


@dataclass(frozen=True)
class PowerLaw:
    """error = a * (macs / m0)^-b + c, with bootstrap standard deviations and parameter samples.

    MACs count relative to ``m0`` (the base model's MACs) so that ``a`` reads as a fraction: the
    error the law says scaling can remove, at the base (error there is a + c). In raw MACs the same
    law's factor would be a * m0^b, which is 1e22 for a 1.4 M MAC base and b = 4.
    """

    a: float
    b: float
    c: float
    a_std: float = float("nan")
    b_std: float = float("nan")
    c_std: float = float("nan")
    m0: float = 1.0
    samples: Any = field(default=None, compare=False, repr=False)

    def predict(self, macs: Any) -> Any:
        """The error the law predicts at ``macs``."""
        return self.a * (np.asarray(macs, dtype=float) / self.m0) ** -self.b + self.c

    def band(self, macs: Any, lo: float = 5.0, hi: float = 95.0) -> tuple[Any, Any]:
        """Percentile band of the predicted error over the bootstrap samples (the fit itself if none)."""
        x = np.asarray(macs, dtype=float)
        if self.samples is None or len(self.samples) == 0:
            p = self.predict(x)
            return p, p
        u = x / self.m0
        preds = np.array([a * u ** -b + c for a, b, c in self.samples])
        return np.percentile(preds, lo, axis=0), np.percentile(preds, hi, axis=0)

    def as_dict(self) -> dict:
        """The fits.json entry; ``x`` tells readers (the dashboard) that MACs count relative to ``m0``."""
        return {**{k: float(getattr(self, k)) for k in ("a", "b", "c", "a_std", "b_std", "c_std", "m0")},
                "x": "mac_ratio"}


_B_MAX = 4.0


def _fit_once(u: np.ndarray, y: np.ndarray) -> tuple[float, float, float, float]:
    """Least squares y = A * u^-b + c (A, c >= 0) on u >= 1: (A, b, c, SSE)."""

    def solve(bs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        z = u[None, :] ** -bs[:, None]
        n = len(u)
        sz, szz, sy, szy = z.sum(1), (z * z).sum(1), y.sum(), (z * y).sum(1)
        det = n * szz - sz * sz
        with np.errstate(divide="ignore", invalid="ignore"):
            A = (n * szy - sz * sy) / det
            c = (szz * sy - sz * szy) / det
        bad = ~np.isfinite(A) | ~np.isfinite(c)
        A, c = np.where(bad, 0.0, A), np.where(bad, sy / n, c)
        neg_c = c < 0  # an error floor below zero: refit with c = 0
        A = np.where(neg_c, szy / szz, A)
        c = np.where(neg_c, 0.0, c)
        neg_a = A < 0  # error growing with MACs: the best decreasing law is flat
        A = np.where(neg_a, 0.0, A)
        c = np.where(neg_a, sy / n, c)
        sse = ((A[:, None] * z + c[:, None] - y[None, :]) ** 2).sum(1)
        return A, c, sse

    bs = np.linspace(1e-3, _B_MAX, 400)
    _, _, sse = solve(bs)
    i = int(np.argmin(sse))
    lo, hi = bs[max(0, i - 1)], bs[min(len(bs) - 1, i + 1)]
    g = (math.sqrt(5) - 1) / 2
    x1, x2 = hi - g * (hi - lo), lo + g * (hi - lo)
    f = lambda b: float(solve(np.array([b]))[2][0])  # noqa: E731
    f1, f2 = f(x1), f(x2)
    for _ in range(80):
        if f1 <= f2:
            hi, x2, f2 = x2, x1, f1
            x1 = hi - g * (hi - lo)
            f1 = f(x1)
        else:
            lo, x1, f1 = x1, x2, f2
            x2 = lo + g * (hi - lo)
            f2 = f(x2)
    b = (lo + hi) / 2
    if f(b) > sse[i]:
        b = float(bs[i])
    A, c, s = solve(np.array([b]))
    return float(A[0]), float(b), float(c[0]), float(s[0])


def fit_power_law(macs: Sequence[float], err: Sequence[float], n_val: int | None = None, bootstrap: int = 200,
                  seed: int = 0, m0: float | None = None, err_se: Sequence[float] | None = None) -> PowerLaw:
    """Fit error = a * (macs / m0)^-b + c (a, b, c >= 0) by least squares, with a parametric bootstrap.
    ``m0`` is the MACs the law counts from (the base's; default the smallest of ``macs``).

    ``*_std`` are bootstrap spreads (half the 16-84 percentile range, a normal's std); ``band`` gives
    percentile bands of predictions.

    For a given b the model is linear in a and c (solved exactly), so only b is searched: a grid over
    (0, 4] refined by golden-section search. The bootstrap refits ``bootstrap`` copies of the data with
    each error redrawn around the fit, with the residual spread plus the measurement noise of each point:
    ``err_se`` when given (the standard error of a mean over seeds, which is what moves a proxy run),
    else, when ``n_val`` (validation images) is given, the binomial spread of an accuracy measured on
    ``n_val`` images.
    """
    x = np.asarray(macs, dtype=float)
    y = np.asarray(err, dtype=float)
    if len(x) != len(y) or len(x) < 3:
        raise ScalerError(f"a power-law fit needs at least 3 points, got {len(x)}")
    if np.any(x <= 0) or not np.all(np.isfinite(y)):
        raise ScalerError("a power-law fit needs positive MACs and finite errors")
    x0 = float(m0 if m0 is not None else x.min())
    if not x0 > 0:
        raise ScalerError(f"a power-law fit needs a positive reference MACs, got {x0:g}")
    u = x / x0
    A, b, c, sse = _fit_once(u, y)
    law = PowerLaw(A, b, c, m0=x0)
    if bootstrap <= 0:
        return law
    fitted = A * u ** -b + c
    resid_var = sse / max(1, len(x) - 3)
    if err_se is not None:
        if len(err_se) != len(y):
            raise ScalerError(f"err_se needs one value per point, got {len(err_se)} for {len(y)}")
        noise_var = np.asarray(err_se, dtype=float) ** 2
    else:
        noise_var = np.clip(y * (1 - y), 0, None) / n_val if n_val else 0.0
    sigma = np.sqrt(resid_var + noise_var)
    rng = np.random.default_rng(seed)
    samples = []
    for _ in range(bootstrap):
        y_star = np.clip(fitted + rng.normal(0.0, 1.0, len(y)) * sigma, 0.0, 1.0)
        a_s, b_s, c_s, _ = _fit_once(u, y_star)
        samples.append((a_s, b_s, c_s))
    s = np.array(samples)
    # Half the 16-84 percentile spread: the std of a normal, robust to the few refits that run off to
    # a flat law (b -> 0) where a alone is not identified.
    lo, hi = np.percentile(s, [15.865, 84.135], axis=0)
    spread = (hi - lo) / 2
    return dataclasses.replace(law, a_std=float(spread[0]), b_std=float(spread[1]), c_std=float(spread[2]), samples=s)
