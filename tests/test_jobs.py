"""``--jobs``: several worker processes of one search on this machine, and trainings in a process pool."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
from pathlib import Path

import optuna
import pytest

from scaler.data import DataConfig, load_data
from scaler.dsl import parse_spec
from scaler.study.budget import COUNTED
from scaler.training.parallel import JOBS_ENV, FitTask, cpu_cores, default_jobs, fit_each, threads, threads_per_job
from scaler.training.trainer import TrainConfig

SPACE = """model small
  resolution 16
  stem  conv c{8,16} k3
  stage conv c{16,24} k{1,3} r[1..3]
  stage maxpool k2 s2
  stage conv c24 k3
  head  gpool
  head  fc
"""
# Trials of a few seconds: long enough that the spawned helper (a second or two to import torch) gets
# its share before the caller has trained them all.
DATA = ["--data", "synthetic:classes=4,size=2400,test_size=64,resolution=16,noise=2", "--val-size", "96",
        "--train-size", "2304", "--epochs", "2", "--batch-size", "32", "--device", "cpu", "--width", "1",
        "--sampler", "random", "--pruner", "none"]


def test_default_jobs_one_per_core_up_to_four_one_on_a_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(JOBS_ENV)
    assert default_jobs("cpu") == min(4, cpu_cores())
    assert default_jobs("cuda:0") == 1
    monkeypatch.setenv(JOBS_ENV, "3")
    assert default_jobs("cpu") == 3 and default_jobs("cuda") == 3
    assert threads_per_job(cpu_cores()) == 1 and threads_per_job(1) == cpu_cores()


@pytest.mark.slow
def test_a_pool_gives_the_numbers_of_one_process_at_the_same_thread_count() -> None:
    """Which process trains a task does not change its numbers: the seed and the threads decide them."""
    data = load_data(DataConfig(name="synthetic:classes=4,size=400,test_size=64,resolution=16,noise=2", val_size=96))
    spec = parse_spec("model tiny\n  resolution 16\n  stem conv c8 k3\n  head gpool\n  head fc\n")
    tasks = [FitTask(spec, TrainConfig(epochs=1, batch_size=32, device="cpu", seed=seed)) for seed in (0, 1, 2)]
    with threads(threads_per_job(2)):
        alone = list(fit_each(tasks, data, jobs=1))
    pooled = list(fit_each(tasks, data, jobs=2))
    assert [r["train"]["seed"] for r in pooled] == [0, 1, 2]  # the tasks' order
    assert [(r["val_acc"], r["test_acc"]) for r in pooled] == [(r["val_acc"], r["test_acc"]) for r in alone]
    assert len({r["val_acc"] for r in pooled}) > 1  # the seeds differ, so a mix-up would show


@pytest.mark.slow
def test_two_jobs_share_the_trials_and_the_budget_stays_exact(cli, tmp_path: Path) -> None:
    space = tmp_path / "small.arch"
    space.write_text(SPACE)
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    code, out, err = cli("search", "--space", str(space), *DATA, "--storage", url, "--results", str(tmp_path),
                         "--study", "jobs", "--trials", "6", "--confirm", "2", "--seeds", "2", "--jobs", "2", "--json")
    assert code == 0, err
    result = json.loads(out)  # the processes: --json's stats.jobs, and the trials' worker attribute below
    assert result["stats"]["jobs"] == 2 and result["stats"]["finished"] == 6 and result["stats"]["running"] == 0
    trials = optuna.load_study(study_name="jobs", storage=url).get_trials()
    counted = [t for t in trials if t.state in COUNTED]
    assert len(counted) == 6
    assert len({t.user_attrs["worker"] for t in counted}) == 2  # both processes trained trials
    assert [len(e["val_acc"]) for e in result["confirmed"]["entries"]] == [2, 2]
    runs = [json.loads(p.read_text()) for p in (tmp_path / "runs").glob("*/run.json")]
    assert sum(r["extra"].get("stage") == "confirm" for r in runs) == 2


@pytest.mark.parametrize(("argv", "env", "phrase"), [
    (["--jobs", "0"], None, "expected a whole number of at least 1"),
    ([], "two", "$SCALER_JOBS must be a whole number of at least 1, got 'two'"),
])
def test_bad_jobs_exit_2(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, argv: list[str], env: str | None,
                         phrase: str) -> None:
    if env is not None:
        monkeypatch.setenv(JOBS_ENV, env)
    code, _, err = cli("search", "--space", "mbconv", "--data", "synthetic", "--results", str(tmp_path), *argv)
    assert code == 2 and phrase in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "search").exists()


@pytest.mark.slow
def test_scale_grid_and_compare_in_two_processes_give_the_numbers_of_one(tmp_path: Path) -> None:
    """The grid's helper and the comparison's pool train the same networks with the same seeds: the
    same accuracies as one process at the same thread count, and a rerun reuses every cell."""
    from scaler.scaling import ScaleConfig, run_scale

    data = DataConfig(name="synthetic:classes=4,size=600,resolution=16,noise=2", val_size=128, download=False)
    train = TrainConfig(epochs=1, batch_size=64, device="cpu", max_batches_per_epoch=2)
    reports = {}
    for jobs in (1, 2):
        cfg = ScaleConfig(base="efficientnet-b0", grid=True, width=0.25, step=0.2, tol=0.1, macs_tol=0.1,
                          compare=True, ratios="2", bootstrap=0, seeds=2, jobs=jobs,
                          storage=f"sqlite:///{tmp_path / f'{jobs}.db'}")
        with threads(threads_per_job(2)):
            reports[jobs] = run_scale(cfg, data, train, tmp_path / str(jobs), log=lambda m: None)
    one, two = reports[1], reports[2]
    assert [r["val_acc"] for r in two["grid"]["rows"]] == [r["val_acc"] for r in one["grid"]["rows"]]
    assert [r["val_accs"] for r in two["compare"]["rows"]] == [r["val_accs"] for r in one["compare"]["rows"]]
    points = len(one["grid"]["rows"])
    assert one["grid"]["trained"] == two["grid"]["trained"] == points  # the helper's points count as trained
    again = run_scale(cfg, data, train, tmp_path / "2", log=lambda m: None)
    assert all(r["reused"] for r in again["compare"]["rows"])


@pytest.mark.slow
def test_cells_that_are_one_network_train_once_in_the_pool(tmp_path: Path) -> None:
    """Two cells of one network under different names (compound 2x whose depth rounds back to width 2x's
    network): the pool trains each seed once and the second cell gets the first one's runs."""
    from scaler.results import load_runs
    from scaler.scaling.cells import Fidelity
    from scaler.training.store import DataCache

    data = DataConfig(name="synthetic:classes=4,size=600,resolution=16,noise=2", val_size=128, download=False)
    train = TrainConfig(epochs=1, batch_size=64, device="cpu", max_batches_per_epoch=2)
    fidelity = Fidelity(1.0, DataCache(data), train, tmp_path, log=lambda m: None, seeds=2, jobs=2)
    spec = parse_spec(SPACE.replace("{8,16}", "8").replace("{16,24}", "16").replace("{1,3}", "3")
                      .replace("[1..3]", "2"))
    cells = [(spec, {"stage": "compare", "strategy": "width"}),
             (dataclasses.replace(spec, name="other"), {"stage": "compare", "strategy": "compound"})]
    with threads(threads_per_job(2)):
        (first, trained_first), (second, trained_second) = fidelity.train_cells(cells)
    assert (trained_first, trained_second) == (2, 0)
    assert [r["val_acc"] for r in second] == [r["val_acc"] for r in first]
    assert len(load_runs(tmp_path)[0]) == 2



def test_cells_at_several_resolutions_share_one_pool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """All missing trainings of a compare go to one ``train_all`` call, whatever their resolutions, so no
    core waits for one resolution's last seed before the next resolution starts."""
    from scaler.scaling.cells import Fidelity
    from scaler.training.store import DataCache, Store

    calls: list[list[int]] = []

    def recorded(self, trainings, data, jobs, need_test=False, save_weights=False):  # noqa: ANN001, ANN202
        calls.append(sorted({t.spec.resolution for t in trainings}))
        return iter([({"val_acc": 0.5}, False)] * len(trainings))

    monkeypatch.setattr(Store, "train_all", recorded)
    data = DataConfig(name="synthetic:classes=4,size=600,resolution=16,noise=2", val_size=128, download=False)
    fidelity = Fidelity(1.0, DataCache(data), TrainConfig(epochs=1, device="cpu"), tmp_path, log=lambda m: None,
                        seeds=3, jobs=2)
    spec = parse_spec(SPACE.replace("{8,16}", "8").replace("{16,24}", "16").replace("{1,3}", "3")
                      .replace("[1..3]", "2"))
    cells = [(spec.scale(resolution=16), {"strategy": "width"}), (spec.scale(resolution=20), {"strategy": "compound"})]
    assert [trained for _, trained in fidelity.train_cells(cells)] == [3, 3]
    assert calls == [[16, 20]]

POOL_SCRIPT = """
from scaler.data import DataConfig, load_data
from scaler.dsl import parse_spec
from scaler.training.parallel import FitTask, fit_each
from scaler.training.trainer import TrainConfig

data = load_data(DataConfig(name="synthetic:classes=4,size=2400,test_size=64,resolution=16,noise=2", val_size=96))
spec = parse_spec("model tiny\\n  resolution 16\\n  stem conv c32 k3\\n  stage conv c64 k3\\n  head gpool\\n  head fc\\n")
tasks = [FitTask(spec, TrainConfig(epochs=200, batch_size=32, device="cpu", seed=s)) for s in range(4)]
print(list(fit_each(tasks, data, jobs=2)))
"""


def _pool_children(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(c) for c in children if "spawn_main" in Path(f"/proc/{c}/cmdline").read_text(errors="replace")]


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads process children from Linux's /proc")
def test_a_killed_caller_leaves_no_pool_process_training(tmp_path: Path) -> None:
    """SIGKILL of the process that queued the trainings (a scheduler's hard stop) ends its pool processes
    too, instead of leaving them to train for nobody."""
    import signal
    import subprocess
    import sys
    import time

    caller = subprocess.Popen([sys.executable, "-c", POOL_SCRIPT], cwd=tmp_path)
    try:
        deadline = time.monotonic() + 120
        while len(pool := _pool_children(caller.pid)) < 2:
            assert caller.poll() is None and time.monotonic() < deadline, "the pool never started"
            time.sleep(0.5)
        time.sleep(3)  # the pool processes are training
        caller.send_signal(signal.SIGKILL)
        caller.wait()
        deadline = time.monotonic() + 30
        while any(_running(pid) for pid in pool) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not any(_running(pid) for pid in pool), "pool processes outlived their caller"
    finally:
        caller.kill()
        for pid in pool if "pool" in locals() else []:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
