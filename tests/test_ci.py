"""CI's guards: with SCALER_NO_SKIPS=1 a skipped test fails the run, and the loop a developer runs on
every change (``pytest -m "not slow"``; CI runs everything) keeps most of the tests."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

CONFTEST = Path(__file__).with_name("conftest.py")
ROOT = CONFTEST.parent.parent


@pytest.mark.parametrize(("no_skips", "code"), [("1", 1), ("", 0)])
def test_a_skip_fails_the_run_only_under_scaler_no_skips(tmp_path: Path, no_skips: str, code: int) -> None:
    (tmp_path / "conftest.py").write_text(CONFTEST.read_text())
    (tmp_path / "test_needs_a_server.py").write_text(
        "import pytest\n\ndef test_it():\n    pytest.skip('the server is not installed')\n")
    env = {**os.environ, "SCALER_NO_SKIPS": no_skips}
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", str(tmp_path)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == code, done.stdout + done.stderr
    assert ("test_it was skipped: Skipped: the server is not installed" in done.stdout) == bool(no_skips)


@pytest.mark.slow  # collecting every test module twice over is CI's business, not the every-change loop's
def test_the_not_slow_loop_runs_at_least_60_percent_of_the_tests() -> None:
    done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-m", "not slow", "-p", "no:cacheprovider"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    counts = re.search(r"^(\d+)/(\d+) tests collected \(\d+ deselected\)", done.stdout, re.MULTILINE)
    assert counts, done.stdout[-3000:]
    selected, collected = map(int, counts.groups())
    assert selected >= 0.6 * collected, f"pytest -m 'not slow' selects {selected} of {collected} tests"
