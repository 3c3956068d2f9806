"""Many `scaler search` and `scaler scale` workers on one PostgreSQL study (a private throwaway cluster on loopback).

Each test starts real worker processes on a tiny grid space with synthetic data (a trial trains in
about a second) and checks the study afterwards: exactly ``--trials`` finished trials, every grid
point at most once, nothing left RUNNING or WAITING, a SIGKILLed worker's trial failed and retried
by the others, a database that goes away mid-run reported in one line, and the URL's password never
printed anywhere.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("psycopg")  # the README's plain postgresql:// URL takes psycopg 3
import optuna  # noqa: E402
from hold_trial.sitecustomize import held  # noqa: E402
from pgcluster import PASSWORD, PgCluster, Unavailable  # noqa: E402

from scaler.training.parallel import JOBS_ENV  # noqa: E402

pytestmark = pytest.mark.slow
TS = optuna.trial.TrialState
# 8 grid points; one trial builds, scores and trains a model of a few thousand parameters.
GRID_SPACE = """model tiny
  resolution 16
  stem  conv c8 k3
  stage conv c{8,16} k{1,3} r[1..2]
  stage maxpool k2 s2
  head  gpool
  head  fc
"""
GRID = 8


@pytest.fixture
def space(tmp_path: Path) -> str:
    path = tmp_path / "tiny.arch"
    path.write_text(GRID_SPACE)
    return str(path)


def worker_cmd(space: str, url: str, study: str, results: Path, trials: int, *extra: str) -> list[str]:
    return [sys.executable, "-m", "scaler", "search", "--space", space, "--sampler", "grid", "--pruner", "none",
            "--data", "synthetic:classes=4,size=600,resolution=16", "--val-size", "128", "--train-size", "448",
            "--width", "1", "--epochs", "1", "--batch-size", "64", "--trials", str(trials), "--device", "cpu",
            "--storage", url, "--study", study, "--results", str(results), "--json",
            "--confirm", "0", *extra]  # the workers' budget is under test here, not the confirmation (test_confirm)


# One process of one thread per worker: three workers share this machine's cores (--jobs helpers of
# one worker are tests/test_jobs.py's).
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1", JOBS_ENV: "1"}


def start(cmd: list[str], n: int, hold: Path | None = None) -> list[subprocess.Popen]:
    """``n`` workers running ``cmd``; with ``hold``, the first of them to report training progress stops
    there until it is killed (tests/hold_trial, see ``kill_held``)."""
    env = {**ENV, **held(hold)} if hold else ENV
    return [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                             start_new_session=True) for _ in range(n)]


def finish(procs: list[subprocess.Popen], timeout: float = 150) -> list[tuple[int, str, str]]:
    out = []
    for p in procs:
        try:
            stdout, stderr = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            stdout, stderr = p.communicate()
            pytest.fail(f"worker {p.pid} did not finish: {stderr[-2000:]}")
        out.append((p.returncode, stdout, stderr))
    return out


def wait_for_training(url: str, study: str, pids: set[int], marker: str, deadline: float = 120
                      ) -> optuna.trial.FrozenTrial:
    """A RUNNING trial of one of ``pids`` that has user attribute ``marker``, i.e. is training."""
    end = time.time() + deadline
    while time.time() < end:
        try:
            trials = optuna.load_study(study_name=study, storage=url).get_trials()
        except KeyError:
            trials = []
        for t in trials:
            if t.state == TS.RUNNING and marker in t.user_attrs:
                pid = int(t.user_attrs["worker"].rpartition(":")[2])
                if pid in pids:
                    return t
        time.sleep(0.2)
    pytest.fail("no trial started training")


def kill_held(hold: Path, procs: list[subprocess.Popen], deadline: float = 120) -> tuple[int, int]:
    """SIGKILL the worker that holds mid-training at ``hold`` (it wrote ``<pid> <trial number>`` there and
    waits to be killed, so the kill provably lands inside the trial): (that pid, that trial number)."""
    try:
        end = time.time() + deadline
        while not (hold.exists() and hold.read_text().endswith("\n")):
            if time.time() > end or any(p.poll() is not None for p in procs):
                pytest.fail("no worker held in training: " + "".join(p.stderr.read()[-2000:] for p in procs
                                                                      if p.poll() is not None))
            time.sleep(0.1)
        pid, number = map(int, hold.read_text().split())
        os.killpg(pid, signal.SIGKILL)
        # left unreaped on purpose: a killed worker can stay a zombie while its parent is busy
    except BaseException:
        for p in procs:
            os.killpg(p.pid, signal.SIGKILL)
        raise
    return pid, number


def check_study(url: str, study: str, results: Path, budget: int) -> list[optuna.trial.FrozenTrial]:
    """The invariants every multi-worker run must end with; returns all trials."""
    trials = optuna.load_study(study_name=study, storage=url).get_trials()
    states = [t.state for t in trials]
    finished = [t for t in trials if t.state in (TS.COMPLETE, TS.PRUNED)]
    assert len(finished) == budget, [(t.number, t.state.name, t.user_attrs) for t in trials]
    assert TS.RUNNING not in states and TS.WAITING not in states
    points = [tuple(sorted(t.params.items())) for t in finished]
    assert len(set(points)) == len(points), "a grid point finished twice"
    # every finished trial trained once: one run record each, no grid point trained twice
    runs = [json.loads(p.read_text()) for p in results.glob("runs/*/run.json")]
    mine = [r for r in runs if r["extra"].get("study") == study]
    complete = {t.number for t in finished if t.state == TS.COMPLETE}
    assert sorted(r["extra"]["trial"] for r in mine if r["extra"]["trial"] in complete) == sorted(complete)
    specs = [r["spec"] for r in mine if r["extra"]["trial"] in complete]
    assert len(set(specs)) == len(specs)
    for t in trials:  # failed trials are only surplus ones, or dead workers' trials that were retried
        if t.state == TS.FAIL and not t.user_attrs.get("surplus") and "duplicate_of" not in t.user_attrs:
            assert any(r.user_attrs.get("retry_of") == t.number for r in trials), t.number
    return trials


def no_secret(*texts: str) -> None:
    for text in texts:
        assert PASSWORD not in text
        assert "Traceback" not in text


def test_three_workers_finish_the_budget_exactly(pg: PgCluster, space: str, tmp_path: Path) -> None:
    url = pg.create_database("three")  # a fresh database: the workers also race to create Optuna's tables
    budget = GRID - 2  # fewer than the grid's points: the workers compete for the last slots
    outs = finish(start(worker_cmd(space, url, "three", tmp_path, budget), 3))
    for code, stdout, stderr in outs:
        assert code == 0, stderr[-3000:]
        no_secret(stdout, stderr)
        report = json.loads(stdout)
        assert report["stats"]["finished"] == budget and report["stats"]["running"] == 0
        assert "***" in report["storage"]
    trials = check_study(url, "three", tmp_path, budget)
    workers = {t.user_attrs["worker"] for t in trials if t.state == TS.COMPLETE}
    assert len(workers) >= 2, "the trials were not shared between workers"
    for path in [*tmp_path.glob("search/three/*"), *tmp_path.glob("runs/*/run.json")]:
        no_secret(path.read_text())
    # the dashboard reads the same study from the same storage
    from scaler.dashboard.data import list_studies, load_study

    studies, warnings = list_studies(url)
    row = studies.set_index("name").loc["three"]
    assert not warnings and row["complete"] == budget and row["running"] == 0
    data, warnings = load_study(url, "three", importance=False)
    assert not warnings and data is not None


STUB_WORKER = """
import sys
import scaler.training.fit, scaler.training.proxies
from scaler.data import DataConfig, load_data
from scaler.search import SearchConfig, run_search
from scaler.training.trainer import TrainConfig

def fit(spec, data, cfg, callback=None, **_):  # no training: only sampling and the storage are left
    return {"name": spec.name, "family": spec.family, "spec": spec.text(), "status": "ok", "val_acc": 0.5,
            "latency_ms": 0.1, "train_time_s": 0.0, "params": 0, "macs": 0, "acts": 0}, None

scaler.training.fit.fit = fit
scaler.training.proxies.score = lambda *a, **k: {"synflow": 1.0}
space, url, study, trials, results = sys.argv[1:]
data = load_data(DataConfig(name="synthetic:classes=4,size=600,resolution=16", val_size=128, download=False))
cfg = SearchConfig(space=space, width=1.0, trials=int(trials), sampler="random", pruner="none", storage=url,
                   study=study, proxy_batch=16, confirm=0)
run_search(cfg, data, TrainConfig(epochs=1, batch_size=64, device="cpu"), results, progress=False, log=print)
"""


def test_fast_trials_under_contention_stay_exact(pg: PgCluster, space: str, tmp_path: Path) -> None:
    """Trials of a few hundred milliseconds (training stubbed out): the workers race for the last
    slots many times; surplus trials end FAIL unsampled and the count is still exact."""
    budget = 40
    outs = finish(start([sys.executable, "-c", STUB_WORKER, space, pg.url, "fast", str(budget), str(tmp_path)], 3))
    for code, stdout, stderr in outs:
        assert code == 0, stderr[-3000:]
        no_secret(stdout, stderr)
    trials = optuna.load_study(study_name="fast", storage=pg.url).get_trials()
    states = [t.state for t in trials]
    assert states.count(TS.COMPLETE) == budget and TS.RUNNING not in states and TS.WAITING not in states
    for t in trials:
        if t.state == TS.FAIL:
            assert t.user_attrs.get("surplus") and not t.params


def test_sigkilled_worker_trial_is_failed_and_retried(pg: PgCluster, space: str, tmp_path: Path) -> None:
    url = pg.url
    procs = start(worker_cmd(space, url, "kill", tmp_path, GRID), 3, hold=tmp_path / "hold")
    pid, number = kill_held(tmp_path / "hold", procs)
    outs = finish(procs)
    for p, (code, stdout, stderr) in zip(procs, outs, strict=False):
        if p.pid == pid:
            assert code == -signal.SIGKILL
            continue
        assert code == 0, stderr[-3000:]
        no_secret(stdout, stderr)
    trials = check_study(url, "kill", tmp_path, GRID)
    (dead,) = [t for t in trials if t.user_attrs.get("worker", "").endswith(f":{pid}")
               and t.state == TS.FAIL and not t.user_attrs.get("surplus")]
    assert dead.number == number
    retry = [t for t in trials if t.user_attrs.get("retry_of") == number]
    assert len(retry) == 1 and retry[0].params == dead.params
    assert retry[0].user_attrs["retry_reason"] == "its worker process is gone"


# --- the compound-scaling grid shared by several `scaler scale` workers -----------------------

# B0 at width 0.25 and 16 px: 9 distinct networks on the grid (step 0.1, both tolerances 0.1).
SCALE_GRID = 9


def scale_cmd(url: str, study: str, results: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "scaler", "scale", "--base", "efficientnet-b0", "--grid", "--width", "0.25",
            "--step", "0.1", "--tol", "0.1", "--macs-tol", "0.1", "--data", "synthetic:classes=4,size=600,resolution=16",
            "--val-size", "128", "--train-size", "448", "--epochs", "1", "--batch-size", "64", "--device", "cpu",
            "--storage", url, "--study", study, "--results", str(results), "--json", *extra]


def check_grid(url: str, study: str, results: Path, outs: list[tuple[int, str, str]]) -> list[optuna.trial.FrozenTrial]:
    """Every point finished once and trained once, nothing left running, every worker reports the same
    complete grid and winner; returns all trials."""
    reports = []
    for code, stdout, stderr in outs:
        assert code == 0, stderr[-3000:]
        no_secret(stdout, stderr)
        reports.append(json.loads(stdout))
    trials = optuna.load_study(study_name=study, storage=url).get_trials()
    assert not [t for t in trials if t.state in (TS.RUNNING, TS.WAITING)]
    points = [t.params["point"] for t in trials if t.state == TS.COMPLETE]
    assert len(points) == SCALE_GRID and len(set(points)) == SCALE_GRID, points
    runs = [json.loads(p.read_text()) for p in results.glob("runs/*/run.json")]
    trained = [(r["extra"]["alpha"], r["extra"]["beta"], r["extra"]["gamma"]) for r in runs
               if r["extra"].get("stage") == "grid" and r["extra"].get("study") == study]
    assert len(trained) == len(set(trained)) == SCALE_GRID, "a grid point was trained twice"
    assert all(r["grid"]["complete"] for r in reports)
    assert len({json.dumps(r["coefficients"], sort_keys=True) for r in reports}) == 1
    stored = json.loads((results / "scale" / "efficientnet-b0" / "coefficients.json").read_text())
    assert stored["complete"] and stored["points"] == SCALE_GRID
    assert (stored["alpha"], stored["beta"], stored["gamma"]) == tuple(
        reports[0]["coefficients"][k] for k in ("alpha", "beta", "gamma"))
    return trials


def test_three_scale_workers_train_every_grid_point_once(pg: PgCluster, tmp_path: Path) -> None:
    outs = finish(start(scale_cmd(pg.url, "grid3", tmp_path), 3), timeout=300)
    trials = check_grid(pg.url, "grid3", tmp_path, outs)
    workers = {t.user_attrs["worker"] for t in trials if t.state == TS.COMPLETE}
    assert len(workers) >= 2, "the grid was not shared between workers"
    assert sum(json.loads(stdout)["grid"]["trained"] for _, stdout, _ in outs) == SCALE_GRID


def test_sigkilled_scale_worker_point_is_retried_by_the_others(pg: PgCluster, tmp_path: Path) -> None:
    procs = start(scale_cmd(pg.url, "gridkill", tmp_path), 3, hold=tmp_path / "hold")
    pid, number = kill_held(tmp_path / "hold", procs)
    outs = finish(procs, timeout=300)
    assert [code for p, (code, _, _) in zip(procs, outs, strict=False) if p.pid == pid] == [-signal.SIGKILL]
    trials = check_grid(pg.url, "gridkill", tmp_path, [o for p, o in zip(procs, outs, strict=False) if p.pid != pid])
    dead = next(t for t in trials if t.number == number)
    assert dead.state == TS.FAIL and dead.user_attrs["worker"].endswith(f":{pid}")
    retried = [t for t in trials if t.state == TS.COMPLETE and t.params["point"] == dead.params["point"]]
    assert len(retried) == 1 and retried[0].user_attrs["worker"] != dead.user_attrs["worker"]
    assert retried[0].user_attrs["retry_of"] == number


def test_database_outage_mid_run_is_one_line_and_resumable(space: str, tmp_path: Path) -> None:
    try:
        cluster = PgCluster().start()  # a cluster of its own: this test stops it
    except Unavailable as exc:
        pytest.skip(str(exc))
    try:
        cmd = worker_cmd(space, cluster.url, "outage", tmp_path, 3, "--epochs", "3")  # long enough to stop mid-trial
        (proc,) = start(cmd, 1)
        try:
            wait_for_training(cluster.url, "outage", {proc.pid}, "proxies")
            cluster._run(str(cluster.bin / "pg_ctl"), "-D", str(cluster.dir / "data"), "-m", "immediate", "-w", "stop")
        except BaseException:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
        ((code, stdout, stderr),) = finish([proc], timeout=120)
        assert code == 1, stderr[-3000:]
        assert stderr.strip().splitlines()[-1].startswith("scaler: error: storage postgresql://scaler:***@")
        no_secret(stdout, stderr)
        done = cluster._run(str(cluster.bin / "pg_ctl"), "-D", str(cluster.dir / "data"), "-l",
                            str(cluster.dir / "server.log"), "-w", "-o",
                            f"-p {cluster.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={cluster.dir}",
                            "start")
        assert done.returncode == 0, done.stderr
        rerun = subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=150)
        assert rerun.returncode == 0, rerun.stderr[-3000:]
        no_secret(rerun.stdout, rerun.stderr)
        trials = check_study(cluster.url, "outage", tmp_path, 3)
        assert any(t.user_attrs.get("retry_reason") == "its worker process is gone" for t in trials)
    finally:
        cluster.stop()


def test_a_wrong_password_is_one_line_without_the_password(pg: PgCluster, space: str, tmp_path: Path) -> None:
    url = pg.url_for("scaler", password="not-the-Pw.9")
    done = subprocess.run(worker_cmd(space, url, "pw", tmp_path, 1), capture_output=True, text=True, env=ENV,
                          timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().startswith("scaler: error: cannot open storage postgresql://scaler:***@")
    assert len(done.stderr.strip().splitlines()) == 1
    assert "not-the-Pw.9" not in done.stderr + done.stdout


def test_scaler_dashboard_serves_the_workers_storage(pg: PgCluster, tmp_path: Path) -> None:
    import urllib.request

    from pgcluster import free_port

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "scaler", "dashboard", "--storage", pg.url, "--results",
                             str(tmp_path), "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=ENV, start_new_session=True)
    try:
        deadline, health = time.time() + 90, None
        while time.time() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as response:
                    health = response.read().decode()
                    break
            except OSError:
                time.sleep(0.5)
        assert health == "ok", proc.stdout.read() if proc.poll() is not None else "no answer"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        output = proc.communicate(timeout=30)[0]
    assert f"storage postgresql://scaler:***@127.0.0.1:{pg.port}/scaler" in output
    no_secret(output)
