"""The statistics behind every comparison scaler reports: spreads over seeds, paired intervals, verdicts,
rank correlations for the benchmarks, and Pareto fronts (the bench's table and figure, a search's trials).

A proxy run's accuracy moves by about half a point from one seed to the next, so a difference
between two architectures means something only next to that spread. ``compare`` pairs the two by
seed (the same data order and initialisation seed for both), gives the mean difference with a 95%
Student-t interval, and says ``better``, ``not distinguishable`` or ``worse``: the interval lies
above zero, straddles it, or lies below it. Pure Python and numpy; no torch.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from scaler.report import format_comparison, format_spread

#: Two-sided 95% quantiles of Student's t by degrees of freedom (1..30); beyond 30, the normal's.
_T95 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145,
        2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048,
        2.045, 2.042)
#: The normal distribution's two-sided 95% quantile: t's limit, and the binomial interval's factor.
Z95 = 1.960
VERDICTS = ("better", "not distinguishable", "worse")
MIN_PAIRS_FOR_VERDICT = 2  # one seed cannot tell a real difference from noise: its verdict is "not distinguishable"


def t95(df: int) -> float:
    """The two-sided 95% quantile of Student's t with ``df`` degrees of freedom."""
    if df < 1:
        raise ValueError("an interval needs at least two paired values")
    return _T95[df - 1] if df <= len(_T95) else Z95


@dataclass(frozen=True)
class Spread:
    """Mean and sample standard deviation of one quantity over seeds (std 0 for a single seed)."""

    mean: float
    std: float
    n: int

    def __str__(self) -> str:
        return format_spread(self.mean, self.std if self.n > 1 else None)


def spread(values: Sequence[float]) -> Spread:
    if not values:
        raise ValueError("no values")
    return Spread(statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0, len(values))


@dataclass(frozen=True)
class Comparison:
    """``a - b`` paired by seed: the mean difference, its 95% interval and the verdict for ``a``."""

    diff: float
    low: float
    high: float
    n: int
    verdict: str

    def as_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        return format_comparison(self.diff, self.low, self.high, self.verdict)


def compare(a: Sequence[float], b: Sequence[float]) -> Comparison:
    """``a`` against ``b``, paired by position (seed). Fewer than ``MIN_PAIRS_FOR_VERDICT`` pairs give
    the difference and no verdict beyond "not distinguishable": one seed cannot tell a real difference
    from noise."""
    if len(a) != len(b) or not a:
        raise ValueError(f"paired comparison needs equally many values, got {len(a)} and {len(b)}")
    diffs = [x - y for x, y in zip(a, b, strict=True)]
    mean = statistics.fmean(diffs)
    if len(diffs) < MIN_PAIRS_FOR_VERDICT:
        return Comparison(mean, -math.inf, math.inf, len(diffs), "not distinguishable")
    half = t95(len(diffs) - 1) * statistics.stdev(diffs) / math.sqrt(len(diffs))
    low, high = mean - half, mean + half
    verdict = "better" if low > 0 else "worse" if high < 0 else "not distinguishable"
    return Comparison(mean, low, high, len(diffs), verdict)


def binomial_halfwidth(acc: float, n: int) -> float:
    """Half-width of the 95% interval of an accuracy ``acc`` measured on ``n`` images, from the images
    alone: ``1.96 * sqrt(acc (1 - acc) / n)``. A floor on a one-seed result's noise: another seed (data
    order, initialisation) moves a proxy run by about as much again."""
    if n < 1:
        raise ValueError(f"an accuracy needs at least one image, got {n}")
    return Z95 * math.sqrt(acc * (1 - acc) / n)


def ranks(values: np.ndarray) -> np.ndarray:
    """Average ranks (ties share the mean rank)."""
    order = values.argsort(kind="stable")
    r = np.empty(len(values))
    r[order] = np.arange(len(values), dtype=float)
    for v in np.unique(values):
        tied = values == v
        r[tied] = r[tied].mean()
    return r


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation."""
    return float(np.corrcoef(ranks(np.asarray(a, float)), ranks(np.asarray(b, float)))[0, 1])


def kendall(a: np.ndarray, b: np.ndarray) -> float:
    """Kendall's tau-b."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    da = np.sign(a[:, None] - a[None, :])
    db = np.sign(b[:, None] - b[None, :])
    upper = np.triu_indices(len(a), 1)
    da, db = da[upper], db[upper]
    denom = np.sqrt((da != 0).sum() * (db != 0).sum())
    return float((da * db).sum() / denom) if denom else float("nan")


def pareto_mask(values: np.ndarray, maximize: Iterable[bool]) -> np.ndarray:
    """True for the rows of ``values`` (n x k) that no other row dominates; NaN rows are never on it."""
    values = np.asarray(values, dtype=float)
    n = len(values)
    mask = np.zeros(n, dtype=bool)
    if n == 0:
        return mask
    sign = np.where(np.asarray(list(maximize), dtype=bool), -1.0, 1.0)
    v = values * sign  # minimise every column
    ok = np.isfinite(v).all(axis=1)
    idx = np.flatnonzero(ok)
    v = v[ok]
    if len(v) == 0:
        return mask
    if v.shape[1] == 1:
        mask[idx[v[:, 0] == v[:, 0].min()]] = True
        return mask
    if v.shape[1] == 2:
        order = np.lexsort((v[:, 1], v[:, 0]))
        best_prev = math.inf  # smallest y among points with a strictly smaller x
        i = 0
        while i < len(order):
            j = i
            x = v[order[i], 0]
            while j < len(order) and v[order[j], 0] == x:
                j += 1
            group = order[i:j]
            group_min = v[group, 1].min()
            if group_min < best_prev:
                mask[idx[group[v[group, 1] == group_min]]] = True
                best_prev = group_min
            i = j
        return mask
    on_front = np.ones(len(v), dtype=bool)
    for start in range(0, len(v), 512):
        chunk = v[start:start + 512]
        dominated = ((v[None, :, :] <= chunk[:, None, :]).all(axis=2)
                     & (v[None, :, :] < chunk[:, None, :]).any(axis=2)).any(axis=1)
        on_front[start:start + 512] = ~dominated
    mask[idx[on_front]] = True
    return mask


def pareto(rows: Sequence[dict], x: str = "macs", y: str = "val_acc") -> list[bool]:
    """Whether each row is on the front: no other row has at most its ``x`` and at least its ``y``,
    one of them strictly (a row missing either is never on it)."""
    values = np.array([[r[x], r[y]] for r in rows], dtype=float).reshape(len(rows), 2)
    return pareto_mask(values, [False, True]).tolist()
