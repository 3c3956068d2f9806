"""Installs that keep working: the wheel holds the whole package, and the environment is the tested set."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``pip wheel .`` of this checkout (no dependencies, the installed setuptools as backend)."""
    out = tmp_path_factory.mktemp("wheel")
    # built from a copy: setuptools writes build/ and *.egg-info next to the sources it builds
    source = tmp_path_factory.mktemp("source") / "scaler"
    shutil.copytree(ROOT, source, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", ".venv*", "results", "build", "*.egg-info", "__pycache__", ".pytest_cache", ".ruff_cache"))
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                           "-w", str(out), str(source)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    (path,) = out.glob("scaler-*.whl")
    return path


def test_the_wheel_holds_the_zoo_the_tables_and_the_dashboard(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    arch = {Path(n).name for n in names if n.startswith("scaler/zoo/spaces/") and n.endswith(".arch")}
    assert arch == {p.name for p in (ROOT / "search_spaces").glob("*.arch")} and "mbconv.arch" in arch
    assert {"scaler/zoo/reference/imagenet_published.csv", "scaler/zoo/reference/efficientnet_coefficients.csv",
            "scaler/zoo/reference/scaling_tables.csv", "scaler/dashboard/app.py", "scaler/cli/__init__.py"} <= names
    assert not any(n.startswith(("tests/", "benchmarks/", "results/")) for n in names)


def test_the_installed_wheel_runs_outside_the_repository(wheel: Path, tmp_path: Path) -> None:
    """Installed into a plain folder (not editable) and run from elsewhere: the full zoo, the mbconv
    space and the dashboard's pages come from the installed files, not from this checkout."""
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    env = {**os.environ, "PYTHONPATH": str(target)}
    env.pop("SCALER_SPACES", None)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    def run(*code: str) -> str:
        done = subprocess.run([sys.executable, *code], cwd=elsewhere, env=env, capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, done.stderr
        return done.stdout

    zoo = json.loads(run("-m", "scaler", "zoo", "--json"))
    names = {row["name"] for row in zoo}
    assert {"efficientnet-b0", "efficientnet-l2", "resnet50", "densenet121", "alexnet", "plain-cnn"} <= names
    where = run("-c", "import scaler, scaler.zoo, scaler.cli; from scaler.search import load_space; "
                      "load_space('mbconv'); print(scaler.__file__); print(scaler.zoo.spaces_dir()); "
                      "from pathlib import Path; print(Path(scaler.cli.__file__).parent.parent / 'dashboard' / 'app.py')")
    module, spaces, app = where.split()
    assert all(Path(p).is_relative_to(target) for p in (module, spaces, app)) and Path(app).is_file()


def test_setup_installs_the_tested_set_and_this_environment_is_it() -> None:
    assert "-c constraints.txt" in (ROOT / "scripts" / "setup.sh").read_text()
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    for need in ("torch", "torchvision", "optuna", "sqlalchemy", "streamlit", "plotly", "pandas", "psycopg"):
        assert need in pins, f"constraints.txt pins no {need}"
        assert metadata.version(need) == pins[need], f"{need} {metadata.version(need)} is not the tested {pins[need]}"
