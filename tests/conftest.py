"""Shared test helpers."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from scaler.cli import main
from scaler.training.parallel import JOBS_ENV

if TYPE_CHECKING:
    from pgcluster import PgCluster


@pytest.fixture(autouse=True)
def one_job(monkeypatch: pytest.MonkeyPatch) -> None:
    """Searches in tests run one worker process (``--jobs 1``, where a seed reproduces exactly and no
    process is spawned) unless a test says otherwise; tests/test_jobs.py runs several."""
    monkeypatch.setenv(JOBS_ENV, "1")


@pytest.fixture(scope="module")
def one_torch_thread() -> Iterator[None]:
    """Torch on one thread for a module (``pytestmark = pytest.mark.usefixtures("one_torch_thread")``):
    tiny models train fastest so, and a shared machine's cores are not oversubscribed."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


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


# A small search space whose candidates train in about a second at 16 px: the search's logic is under
# test where it is used, not the mbconv space (searched where that is the point).
SMALL_SPACE = """model small
  resolution 16
  stem  conv c{8,16} k3
  stage conv c{8,16} k{1,3} r[1..2]
  stage maxpool k2 s2
  stage conv c16 k3
  head  gpool
  head  fc
"""


def dsl_file(folder: Path, name: str, text: str) -> Path:
    """``text`` written to the DSL file ``folder/name.arch``."""
    path = folder / f"{name}.arch"
    path.write_text(text)
    return path


@pytest.fixture
def small_space(tmp_path: Path) -> str:
    """The path of ``SMALL_SPACE`` written to a DSL file."""
    return str(dsl_file(tmp_path, "small", SMALL_SPACE))


# A plain base a compare grows in seconds at 16 px: two strided stages, so every strategy has room.
TINY_BASE = """
model tiny16
  family plain
  resolution 16
  stem  conv c8
  stage conv c16 r2 s2
  stage conv c16 r2 s2
  head  gpool
  head  fc
"""


@pytest.fixture
def tiny_base(tmp_path: Path) -> Path:
    """The path of ``TINY_BASE`` written to a DSL file."""
    return dsl_file(tmp_path, "tiny16", TINY_BASE)


@pytest.fixture(scope="session")
def pg() -> Iterator[PgCluster]:
    """One throwaway PostgreSQL cluster (tests/pgcluster.py) for the session's multi-worker and storage
    tests, which use their own study names in it; skipped where PostgreSQL or its drivers are missing
    (under SCALER_NO_SKIPS=1 that skip fails the run)."""
    pytest.importorskip("psycopg")  # the README's plain postgresql:// URL takes psycopg 3
    pytest.importorskip("psycopg2")
    from pgcluster import PgCluster, Unavailable

    cluster = PgCluster()
    try:
        cluster.start()
    except Unavailable as exc:
        cluster.stop()
        pytest.skip(str(exc))
    try:
        yield cluster
    finally:
        cluster.stop()


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
