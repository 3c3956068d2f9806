"""CI's guard against silent skips: with SCALER_NO_SKIPS=1 a skipped test fails the run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CONFTEST = Path(__file__).with_name("conftest.py")


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
