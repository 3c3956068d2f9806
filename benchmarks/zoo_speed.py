"""How long the whole zoo takes to count analytically vs building it on the meta device and
counting with FlopCounterMode, side by side in one run (medians of a few repeats).

    .venv/bin/python benchmarks/zoo_speed.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from scaler.dsl import Spec
from scaler.nn.build import build
from scaler.nn.complexity import complexity
from scaler.zoo import _library, library, spaces_dir


def analytic() -> None:
    _library.cache_clear()
    for model in library().values():
        if isinstance(model, Spec):
            complexity(model)


def measured() -> None:
    for model in library().values():
        if isinstance(model, Spec):
            net = build(model, device="meta").eval()
            with FlopCounterMode(display=False):
                net(torch.empty(1, 3, model.resolution, model.resolution, device="meta"))


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    n = sum(isinstance(m, Spec) for m in library().values())
    t_analytic = median_time(analytic, 5)
    t_measured = median_time(measured, 1)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "scaler", "zoo", "--json"], check=True, capture_output=True)
    t_cli = time.perf_counter() - start
    print(f"zoo: {n} models from {spaces_dir()}")
    print(f"analytic count of the whole zoo (parse + count): {t_analytic:.3f} s")
    print(f"meta build + FlopCounterMode of the whole zoo:    {t_measured:.3f} s")
    print(f"ratio measured / analytic:                       {t_measured / t_analytic:.0f}x")
    print(f"'scaler zoo --json' end to end (process start included): {t_cli:.2f} s")


if __name__ == "__main__":
    main()
