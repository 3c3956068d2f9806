"""The long benchmarks keep their trainings: a rerun trains only what is missing, and the fidelity
and proxy benchmarks share the cells they have in common."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # both run benchmark scripts that train
ROOT = Path(__file__).resolve().parents[1]
TINY = ["--archs", "2", "--epochs", "1", "--train-size", "256", "--jobs", "1"]


def bench(script: str, *args: str, cells: Path) -> str:
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args, "--cells", str(cells)],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def kept(output: str) -> tuple[int, int, int]:
    """(kept, all, trained) from fit_kept's first line."""
    found = re.search(r"(\d+) of (\d+) trainings kept under .*; training (\d+)", output)
    assert found, output
    return tuple(int(n) for n in found.groups())  # type: ignore[return-value]


def test_benchmarks_keep_and_share_their_trainings(tmp_path: Path) -> None:
    cells = tmp_path / "cells"
    first = bench("proxy_correlation.py", *TINY, cells=cells)
    assert kept(first) == (0, 2, 2)
    assert len(list(cells.glob("runs/*/run.json"))) == 2  # the store's runs, one per training
    assert re.search(r"^naswot +[+-]\d\.\d{3} +[+-]\d\.\d{3}", first, re.M)
    assert re.search(r"^macs +[+-]\d\.\d{3} +[+-]\d\.\d{3} +\(baseline\)", first, re.M)

    again = bench("proxy_correlation.py", *TINY, cells=cells)
    assert kept(again) == (2, 2, 0)
    assert again.split("trainings kept")[1].splitlines()[1:] == first.split("trainings kept")[1].splitlines()[3:]

    # the fidelity benchmark's default-fidelity, adapted cells are the proxy benchmark's: 2 of its 8 are
    # kept, and the 6 that differ in strides or data cut are new cells, never a stale reuse
    fidelity = bench("fidelity.py", *TINY, "--high-epochs", "1", "--high-train-size", "300", cells=cells)
    assert kept(fidelity) == (2, 8, 6)
    assert len(list(cells.glob("runs/*/run.json"))) == 8
    assert re.search(r"^adapt +[+-]?\d\.\d{3} +[+-]?\d\.\d{3} +0\.\d{4} +0\.\d{4}", fidelity, re.M)


def test_search_efficiency_runs_both_searches_as_a_user_would(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "search_efficiency.py"), "--trials", "3",
                           "--seeds", "1", "--train-size", "256", "--val-size", "128", "--epochs", "1",
                           "--width", "0.25", "--jobs", "1"],
                          capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    seed = re.search(r"^seed 0: TPE\+Hyperband best 0\.\d{4} \((\d) complete, (\d) pruned, \d+ s\); "
                     r"random best 0\.\d{4} \((\d) complete, \d+ s\); TPE\+Hyperband (reached|never)",
                     done.stdout, re.M)
    assert seed, done.stdout
    tpe_complete, tpe_pruned, random_complete = (int(n) for n in seed.groups()[:3])
    assert tpe_complete + tpe_pruned == 3 and random_complete == 3  # each arm's budget is its --trials
    assert re.search(r"^median best reward: TPE\+Hyperband 0\.\d{4}, random 0\.\d{4}, ratio \d\.\d{3}$",
                     done.stdout, re.M), done.stdout
    assert re.search(r"^TPE\+Hyperband reached random's final best in [01]/1 seeds.*within half of it \(the goal\) "
                     r"in [01]/1$", done.stdout, re.M), done.stdout
