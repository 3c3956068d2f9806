"""Shared test helpers."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

from scaler.cli import main
from scaler.training.parallel import JOBS_ENV


@pytest.fixture(autouse=True)
def one_job(monkeypatch: pytest.MonkeyPatch) -> None:
    """Searches in tests run one worker process (``--jobs 1``, where a seed reproduces exactly and no
    process is spawned) unless a test says otherwise; tests/test_jobs.py runs several."""
    monkeypatch.setenv(JOBS_ENV, "1")


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


# CI sets SCALER_NO_SKIPS=1: it installs everything (PostgreSQL, chromium, Fashion-MNIST), so a test
# that skips there because something is missing is a broken install step, not a green run.
NO_SKIPS = os.environ.get("SCALER_NO_SKIPS") == "1"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if NO_SKIPS and reporter else []
    if skipped:
        reporter.write("\n")
    for report in skipped:
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr
        reporter.write_line(f"SCALER_NO_SKIPS=1 but {report.nodeid} was skipped: {reason}", red=True)
    if skipped and exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
