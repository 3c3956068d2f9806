"""The DSL's own error type: every message names file, line and column."""

from __future__ import annotations

from scaler.errors import ScalerError


class DSLError(ScalerError):
    """A malformed architecture description, located as ``file:line:col``."""

    def __init__(self, message: str, source: str = "<text>", line: int = 0, col: int = 0):
        self.message = message
        self.source = source
        self.line = line
        self.col = col
        where = f"{source}:{line}:{col}" if line else source
        super().__init__(f"{where}: {message}")
