"""How numbers are written for people: one formatter for counts, one for a spread over seeds, one for
a paired comparison, and one plain-text table.

The CLI, the search and scaling logs and the dashboard all write counts through ``si`` (MACs and
parameters as ``5.29M``), accuracies over seeds through ``format_spread`` (``0.8200 ± 0.0200``) and
differences through ``format_comparison`` (``+0.0120 [+0.0040, +0.0200] better``), so the same
number reads the same everywhere. Pure Python, no imports from the rest of scaler.
"""

from __future__ import annotations

import math
from collections.abc import Callable

_PREFIXES = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K"))


def si(value: object, unit: str = "", sep: str = "", missing: str = "-") -> str:
    """A count with a T/G/M/K prefix and three significant digits: ``si(5288548) == '5.29M'``,
    ``si(5288548, sep=' ') == '5.29 M'``; ``missing`` for None, NaN or a non-number."""
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return missing
    if not math.isfinite(v):
        return missing
    for scale, prefix in _PREFIXES:
        if abs(v) >= scale:
            return f"{v / scale:.3g}{sep}{prefix}{unit}"
    return f"{v:.3g}{sep}{unit}".rstrip()


def _number(value: object) -> float | None:
    """``value`` as a finite float, else None (missing, NaN, infinite or not a number)."""
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _fraction(value: float, percent: bool, sign: str = "") -> str:
    return f"{value:{sign}.2%}" if percent else f"{value:{sign}.4f}"


def format_spread(mean: object, std: object = None, percent: bool = False) -> str:
    """A quantity over seeds: ``0.8200 ± 0.0200`` (``82.00% ± 2.00%`` with ``percent``); the mean alone
    without a std (one seed: pass None); ``-`` for a missing mean."""
    m, s = _number(mean), _number(std)
    if m is None:
        return "-"
    return _fraction(m, percent) + ("" if s is None else f" ± {_fraction(s, percent)}")


def format_comparison(diff: object, low: object = None, high: object = None, verdict: str | None = None,
                      percent: bool = False) -> str:
    """A difference paired by seed with its 95% interval and verdict: ``+0.0120 [+0.0040, +0.0200] better``;
    ``+0.0120 (one seed)`` without a finite interval; the verdict left out when None (a table that shows it
    in a column of its own); ``-`` for a missing difference."""
    d, lo, hi = _number(diff), _number(low), _number(high)
    if d is None:
        return "-"
    if lo is None or hi is None:
        return f"{_fraction(d, percent, '+')} (one seed)"
    text = f"{_fraction(d, percent, '+')} [{_fraction(lo, percent, '+')}, {_fraction(hi, percent, '+')}]"
    return text if verdict is None else f"{text} {verdict}"


def plain(value: object) -> str:
    """``str(value)``, or ``-`` for a missing value."""
    return "-" if value is None else str(value)


def fixed(digits: int) -> Callable[[object], str]:
    """A formatter with ``digits`` decimals (``-`` for a missing value), e.g. accuracies, milliseconds."""
    return lambda value: "-" if value is None else f"{value:.{digits}f}"


UPSAMPLED_MARK = "^"
"""Beside a table's pixels: the model trained above the data's native resolution (upsampled images)."""


def pixels(resolution: object, upsampled: object = False) -> str:
    """A training resolution in a table: ``36^`` when ``upsampled`` (``UPSAMPLED_MARK``), ``-`` when missing."""
    return "-" if resolution is None else f"{resolution}{UPSAMPLED_MARK if upsampled else ''}"


def upsampled_note(native: object) -> str:
    """The legend of ``UPSAMPLED_MARK`` under a table, naming the data's ``native`` resolution."""
    return f"{UPSAMPLED_MARK} = trained above the data's native {native} px: upsampled images, no new detail"


def format_table(rows: list[dict], columns: list[tuple[str, str, Callable[[object], str]]]) -> str:
    """A plain text table: (key, header, formatter) per column, the first two left-aligned, numbers right."""
    cells = [[header for _, header, _ in columns]]
    cells += [[fmt(row[key]) for key, _, fmt in columns] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    lines = []
    for r in cells:
        lines.append("  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))))
    return "\n".join(lines)
