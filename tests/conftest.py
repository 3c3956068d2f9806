"""Shared test helpers."""

from __future__ import annotations

from typing import Callable

import pytest

from scaler.cli import main


@pytest.fixture
def cli(capsys: pytest.CaptureFixture) -> Callable[..., tuple[int, str, str]]:
    """Run ``scaler ARGV...`` in-process: (exit code, stdout, stderr)."""

    def run(*argv: str) -> tuple[int, str, str]:
        try:
            code = main(list(argv))
        except SystemExit as exc:
            code = int(exc.code)
        out, err = capsys.readouterr()
        return code, out, err

    return run
