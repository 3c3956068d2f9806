"""How numbers are written for people: one formatter for counts and one plain-text table.

The CLI, the search and scaling logs and the dashboard all write counts through ``si`` (MACs and
parameters as ``5.29M``), so the same count reads the same everywhere. Pure Python, no imports from
the rest of scaler.
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


def plain(value: object) -> str:
    """``str(value)``, or ``-`` for a missing value."""
    return "-" if value is None else str(value)


def fixed(digits: int) -> Callable[[object], str]:
    """A formatter with ``digits`` decimals (``-`` for a missing value), e.g. accuracies, milliseconds."""
    return lambda value: "-" if value is None else f"{value:.{digits}f}"


def format_table(rows: list[dict], columns: list[tuple[str, str, Callable[[object], str]]]) -> str:
    """A plain text table: (key, header, formatter) per column, the first two left-aligned, numbers right."""
    cells = [[header for _, header, _ in columns]]
    cells += [[fmt(row[key]) for key, _, fmt in columns] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    lines = []
    for r in cells:
        lines.append("  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))))
    return "\n".join(lines)
