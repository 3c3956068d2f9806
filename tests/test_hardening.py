"""Faults and bad input: the budget rule, dead workers, Ctrl-C, unwritable or full results folders,
too-big candidates, out-of-memory, corrupt files, credentials, and no execution of user text.

Everything here runs on SQLite (the PostgreSQL multi-worker tests are in test_workers.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
import sqlalchemy.exc
import torch
from hold_trial.sitecustomize import held

from scaler.cli import main
from scaler.data import DataConfig, load_data
from scaler.errors import RunFailedError, ScalerError
from scaler.results import check_writable, load_runs
from scaler.search import SearchConfig, latest_best, run_search
from scaler.study.budget import BudgetSampler
from scaler.study.storage import mask_url, open_storage, redact
from scaler.training.trainer import TrainConfig

ROOT = Path(__file__).resolve().parent.parent
TS = optuna.trial.TrialState
FIDELITY = TrainConfig(epochs=1, batch_size=64, device="cpu", reports_per_epoch=2)
SPACE = """model small
  resolution 16
  stem  conv c{8,16} k3
  stage conv c{8,16} k{1,3} r[1..2]
  stage maxpool k2 s2
  head  gpool
  head  fc
"""
SYNTH = ["--data", "synthetic:classes=4,size=600,resolution=16", "--val-size", "128", "--train-size", "448",
         "--width", "1", "--epochs", "1", "--batch-size", "64", "--device", "cpu"]


@pytest.fixture
def space(tmp_path: Path) -> str:
    path = tmp_path / "small.arch"
    path.write_text(SPACE)
    return str(path)


@pytest.fixture(scope="module")
def data():
    return load_data(DataConfig(name="synthetic:classes=4,size=600,test_size=64,resolution=16,noise=2",
                                val_size=128, download=False))


def sqlite(tmp_path: Path, name: str = "studies.db") -> str:
    return f"sqlite:///{tmp_path / name}"


def quiet(_: str) -> None:
    pass


def trials_of(url: str, study: str) -> list[optuna.trial.FrozenTrial]:
    return optuna.load_study(study_name=study, storage=url).get_trials()


def counted(trials: list) -> list:
    return [t for t in trials if t.state in (TS.COMPLETE, TS.PRUNED)]


# --- the budget rule and dead workers ---------------------------------------------------------


def test_a_trial_beyond_the_budget_is_surplus_and_takes_no_grid_point(tmp_path: Path) -> None:
    storage = open_storage(sqlite(tmp_path), heartbeat=None)
    sampler = BudgetSampler(optuna.samplers.GridSampler({"x": [1, 2, 3, 4]}, seed=0), budget=2)
    study = optuna.create_study(storage=storage, study_name="s", sampler=sampler)
    a, b, c = study.ask(), study.ask(), study.ask()
    assert sampler.surplus == {c._trial_id}
    assert "grid_id" in storage.get_trial(a._trial_id).system_attrs
    assert "grid_id" not in storage.get_trial(c._trial_id).system_attrs
    study.tell(c, state=TS.FAIL)
    study.tell(b, state=TS.FAIL)  # b's worker died: the slot below the next trial is free again
    d = study.ask()
    assert d._trial_id not in sampler.surplus
    study.tell(a, 1.0)
    study.tell(d, 2.0)
    assert study.ask()._trial_id in sampler.surplus  # two finished below it: the budget is taken


@pytest.mark.parametrize(("kind", "why"), [
    (sqlalchemy.exc.OperationalError, "table studies already exists"),  # SQLite
    (sqlalchemy.exc.IntegrityError, "duplicate key value violates unique constraint"),  # PostgreSQL
])
def test_a_worker_that_loses_the_race_to_create_the_tables_retries(tmp_path: Path, monkeypatch, kind, why) -> None:
    """Two workers opening one empty SQLite file both run CREATE TABLE; the loser's "table studies already
    exists" (an OperationalError, unlike PostgreSQL's IntegrityError) is a retry, not a failed worker."""
    real = optuna.storages.RDBStorage
    calls = []

    def racing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:  # the other worker created the tables between our check and our CREATE
            real(*args, **kwargs)
            raise kind("CREATE TABLE studies", {}, Exception(why))
        return real(*args, **kwargs)

    monkeypatch.setattr(optuna.storages, "RDBStorage", racing)
    storage = open_storage(sqlite(tmp_path), heartbeat=None)
    assert len(calls) == 2 and storage.get_all_studies() == []


def test_a_storage_error_that_is_no_race_fails_at_once(tmp_path: Path) -> None:
    (tmp_path / "studies.db").write_text("not a database")
    with pytest.raises(ScalerError, match="cannot open storage .*studies.db: .*not a database"):
        open_storage(sqlite(tmp_path), heartbeat=None)


def test_workers_with_the_same_seed_draw_different_candidates(tmp_path: Path) -> None:
    url = sqlite(tmp_path)
    one = optuna.create_study(storage=open_storage(url, heartbeat=None), study_name="w",
                              sampler=BudgetSampler(optuna.samplers.RandomSampler(seed=0), budget=10))
    two = optuna.load_study(storage=open_storage(url, heartbeat=None), study_name="w",
                            sampler=BudgetSampler(optuna.samplers.RandomSampler(seed=0), budget=10))
    first, second = one.ask(), two.ask()
    assert first.suggest_float("x", 0, 1) != second.suggest_float("x", 0, 1)
    # the same trial number draws the same candidate: a rerun is reproducible
    again = optuna.create_study(sampler=BudgetSampler(optuna.samplers.RandomSampler(seed=0), budget=10))
    assert again.ask().suggest_float("x", 0, 1) == first.params["x"]


@pytest.mark.filterwarnings("ignore:Heartbeat of storage")  # the stale trial is made by hand
def test_a_silent_worker_on_another_host_is_failed_by_heartbeat_and_retried(tmp_path: Path, data, space) -> None:
    url = sqlite(tmp_path)
    storage = open_storage(url, heartbeat=1)  # grace period 4 s
    study = optuna.create_study(storage=storage, study_name="hb", direction="maximize")
    stale = study.ask()
    study._storage.set_trial_user_attr(stale._trial_id, "worker", "elsewhere/1:4242")
    storage.record_heartbeat(stale._trial_id)  # ... and then that machine went quiet
    cfg = SearchConfig(space=space, width=1.0, trials=2, seed=0, proxy_batch=16, storage=url, study="hb",
                       sampler="random", pruner="none", confirm=0)
    start = time.monotonic()
    result = run_search(cfg, data, FIDELITY, tmp_path, progress=False, log=quiet, storage=storage)
    assert time.monotonic() - start < 60
    trials = trials_of(url, "hb")
    assert len(counted(trials)) == 2 and result.stats["running"] == 0
    assert trials[0].state == TS.FAIL
    (retry,) = [t for t in trials if t.user_attrs.get("retry_of") == 0]
    assert retry.state == TS.COMPLETE and retry.user_attrs["retry_reason"] == "its worker's heartbeat stopped"


# --- Ctrl-C and SIGTERM ------------------------------------------------------------------------


def search_cmd(space: str, url: str, study: str, results: Path, trials: int) -> list[str]:
    return [sys.executable, "-m", "scaler", "search", "--space", space, "--sampler", "random", "--pruner", "none",
            *SYNTH, "--trials", str(trials), "--storage", url, "--study", study, "--results", str(results), "--json"]


def stop_mid_trial(cmd: list[str], hold: Path, signum: int) -> subprocess.CompletedProcess:
    """Run ``cmd`` and send it ``signum`` while it provably trains: its first training report holds
    there (tests/hold_trial) until the signal comes."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", **held(hold)}
    # the command stands for a program in the foreground, where Ctrl-C reaches it: SIGINT at its default
    # whatever this process inherited (a job put in the background without job control ignores SIGINT,
    # and so would the command, which then never stopped)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.time() + 120
        while not (hold.exists() and hold.read_text().endswith("\n")):
            if time.time() > deadline or proc.poll() is not None:
                pytest.fail("no trial started training")
            time.sleep(0.1)
        proc.send_signal(signum)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr)


@pytest.mark.slow
def test_ctrl_c_fails_and_requeues_the_trial_prints_a_summary_and_resumes(tmp_path: Path, space: str) -> None:
    url = sqlite(tmp_path)
    cmd = search_cmd(space, url, "int", tmp_path, 2)
    stopped = stop_mid_trial(cmd, tmp_path / "hold", signal.SIGINT)
    assert stopped.returncode == 130, stopped.stderr[-3000:]
    assert "Traceback" not in stopped.stderr
    assert re.search(r"scaler: interrupted: \d/2 trials finished, trial \d+ failed and queued again",
                     stopped.stderr), stopped.stderr
    summary = json.loads(stopped.stdout)
    assert summary["stats"]["stopped_by"] == "interrupt" and summary["stats"]["running"] == 0
    trials = trials_of(url, "int")
    assert TS.RUNNING not in [t.state for t in trials]
    (failed,) = [t for t in trials if t.state == TS.FAIL]
    (queued,) = [t for t in trials if t.state == TS.WAITING]
    assert queued.user_attrs == {"retry_of": failed.number, "retry_reason": "its worker was interrupted"}
    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    trials = trials_of(url, "int")
    assert len(counted(trials)) == 2 and [t.state for t in trials].count(TS.FAIL) == 1
    assert next(t for t in trials if t.number == queued.number).state == TS.COMPLETE


@pytest.mark.slow
def test_sigterm_stops_like_ctrl_c(tmp_path: Path, space: str) -> None:
    url = sqlite(tmp_path)
    stopped = stop_mid_trial(search_cmd(space, url, "term", tmp_path, 2), tmp_path / "hold", signal.SIGTERM)
    assert stopped.returncode == 128 + signal.SIGTERM, stopped.stderr[-3000:]
    assert "Traceback" not in stopped.stderr and "scaler: interrupted" in stopped.stderr
    states = [t.state for t in trials_of(url, "term")]
    assert TS.RUNNING not in states and states.count(TS.WAITING) == 1


# --- the results folder: unwritable, full --------------------------------------------------------


@contextlib.contextmanager
def tmpfs(path: Path, options: str):
    """A small tmpfs at ``path`` (root with mount rights only; the test is skipped elsewhere)."""
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True, text=True)
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def fill(folder: Path, leave_pages: int = 0) -> None:
    """Fill a tmpfs, then give back ``leave_pages`` pages of 4 KiB."""
    with contextlib.suppress(OSError), open(folder / "filler", "wb") as f:
        while True:
            f.write(b"\0" * 4096)
            f.flush()
    if leave_pages:
        size = (folder / "filler").stat().st_size
        os.truncate(folder / "filler", max(0, size - 4096 * leave_pages))


def run_main(argv: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str, str]:
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("how", ["a file in its place", "read-only", "full"])
def test_an_unwritable_results_folder_is_one_line_exit_1(tmp_path: Path, space: str, how: str,
                                                           capsys: pytest.CaptureFixture) -> None:
    results = tmp_path / "results"
    argv = ["search", "--space", space, *SYNTH, "--trials", "1", "--storage", sqlite(tmp_path),
            "--study", "ro", "--results", str(results)]
    with contextlib.ExitStack() as stack:
        if how == "a file in its place":
            results.write_text("not a folder")
        elif how == "read-only":
            stack.enter_context(tmpfs(results, "size=1m,ro"))
        else:
            fill(stack.enter_context(tmpfs(results, "size=64k")))
        code, out, err = run_main(argv, capsys)
    assert code == 1
    assert err.strip().startswith(f"scaler: error: cannot write to the results folder {results}: ")
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    with pytest.raises(KeyError):
        trials_of(sqlite(tmp_path), "ro")  # nothing was started


def test_a_disk_that_fills_up_mid_run_is_one_line_and_the_trial_is_requeued(
        tmp_path: Path, space: str, capsys: pytest.CaptureFixture) -> None:
    results, url = tmp_path / "results", sqlite(tmp_path)
    with tmpfs(results, "size=256k"):
        fill(results, leave_pages=1)  # room for the start-up check, not for a run record
        code, out, err = run_main(["search", "--space", space, *SYNTH, "--trials", "2", "--storage", url,
                                   "--study", "full", "--results", str(results)], capsys)
    assert code == 1, err
    last = err.strip().splitlines()[-1]
    assert re.match(rf"scaler: error: cannot write {re.escape(str(results))}/runs/.*: No space left on device", last)
    assert "Traceback" not in err
    trials = trials_of(url, "full")
    assert [t.state for t in trials] == [TS.FAIL, TS.WAITING]
    assert trials[1].user_attrs["retry_reason"] == "its worker could not write its results"


def test_the_same_run_name_twice_in_a_second_gets_two_folders(tmp_path: Path) -> None:
    from scaler.results import save_run

    record = {"name": "m", "spec": "model m\n"}
    paths = {save_run(record, "train", tmp_path) for _ in range(3)}
    assert len(paths) == 3 and all((p / "run.json").exists() for p in paths)


def test_check_writable_creates_the_folder(tmp_path: Path) -> None:
    assert check_writable(tmp_path / "a" / "b").is_dir()
    assert list((tmp_path / "a" / "b").iterdir()) == []
    (tmp_path / "file").write_text("x")
    with pytest.raises(RunFailedError, match="cannot write to the results folder .*: Not a directory"):
        check_writable(tmp_path / "file" / "results")


# --- too big, out of memory --------------------------------------------------------------------


def test_max_params_guard_prunes_candidates_before_building(tmp_path: Path, data, space) -> None:
    url = sqlite(tmp_path)
    cfg = SearchConfig(space=space, width=1.0, trials=3, seed=0, proxy_batch=16, storage=url, study="g",
                       sampler="random", max_params=100, confirm=0)
    result = run_search(cfg, data, FIDELITY, tmp_path, progress=False, log=quiet)
    trials = trials_of(url, "g")  # the study carries why each was pruned (guard) and that none was built
    assert len(trials) == 3 and all(t.state == TS.PRUNED for t in trials)
    assert all(re.match(r"[\d.]+K? params > --max-params 100", t.user_attrs["guard"]) for t in trials)
    assert all("proxies" not in t.user_attrs for t in trials)  # never built
    assert not list(tmp_path.glob("runs/*")) and result.baseline is None


@pytest.mark.parametrize("error", [torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"),
                                   MemoryError()])
def test_out_of_memory_prunes_the_trial_and_the_study_goes_on(tmp_path: Path, data, space, monkeypatch,
                                                              error: BaseException) -> None:
    import scaler.training.fit

    real, calls = scaler.training.fit.fit, []

    def fit(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise error
        return real(*args, **kwargs)

    monkeypatch.setattr(scaler.training.fit, "fit", fit)
    url = sqlite(tmp_path)
    cfg = SearchConfig(space=space, width=1.0, trials=3, seed=0, proxy_batch=16, storage=url, study="m",
                       sampler="random", pruner="none", confirm=0)
    messages: list[str] = []
    run_search(cfg, data, FIDELITY, tmp_path, progress=False, log=messages.append)
    trials = trials_of(url, "m")
    assert [t.state for t in trials] == [TS.PRUNED, TS.COMPLETE, TS.COMPLETE]
    assert trials[0].user_attrs["status"] == "oom"
    assert trials[0].user_attrs["error"].startswith(type(error).__name__)
    assert any("out of memory" in m for m in messages)


# --- corrupt files --------------------------------------------------------------------------------


def test_corrupt_results_files_are_reported_and_skipped(tmp_path: Path, space: str,
                                                        capsys: pytest.CaptureFixture) -> None:
    good, bad, empty = (tmp_path / "search" / n / "best.arch" for n in ("good", "bad", "empty"))
    for path in (good, bad, empty):
        path.parent.mkdir(parents=True)
    good.write_text("model m\n  resolution 16\n  stem conv c8 k3\n  head gpool\n  head fc\n")
    bad.write_bytes(b"\x00\xff\xfe garbage\n")
    empty.write_text("")
    now = time.time()
    os.utime(good, (now - 60, now - 60))
    warnings: list[str] = []
    assert latest_best(tmp_path, log=warnings.append) == good
    assert len(warnings) == 2 and all(w.startswith("skipped ") for w in warnings)
    (tmp_path / "runs" / "x").mkdir(parents=True)
    (tmp_path / "runs" / "x" / "run.json").write_text('{"truncated": ')
    runs, warnings = load_runs(tmp_path)
    assert runs == [] and len(warnings) == 1 and "run.json" in warnings[0]
    (tmp_path / "studies.db").write_bytes(b"this is not a database" * 100)
    code, out, err = run_main(["search", "--space", space, *SYNTH, "--results", str(tmp_path)], capsys)
    assert code == 2 and err.startswith("scaler: error: cannot open storage sqlite:///")
    assert len(err.strip().splitlines()) == 1


# --- credentials -----------------------------------------------------------------------------


@pytest.mark.parametrize("url, shown, secret", [
    ("postgresql://me:s3cret@db:5432/x", "postgresql://me:***@db:5432/x", "s3cret"),
    ("postgresql+psycopg2://me:p@ss:w0rd@db/x", "postgresql+psycopg2://me:***@db/x", "p@ss:w0rd"),
    ("postgresql://db/x?user=me&password=s3cret", "postgresql://db/x?user=me&password=***", "s3cret"),
    ("sqlite:////tmp/results/studies.db", "sqlite:////tmp/results/studies.db", None),
])
def test_storage_passwords_are_masked(url: str, shown: str, secret: str | None) -> None:
    assert mask_url(url) == shown
    if secret:  # also where a driver's message quotes it back
        assert secret not in redact(f"connection to {url} failed for password {secret}", url)


def test_an_error_quoting_the_password_is_redacted(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    url = "postgresql://me:Zq9%40secret@127.0.0.1:1/db"  # percent-encoded '@'
    code = main(["search", "--space", "no-such-space", "--storage", url, "--results", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "Zq9" not in err and "secret" not in err


# --- no execution of user text; the dashboard only reads -----------------------------------------


def python_sources() -> list[Path]:
    return [*ROOT.glob("scaler/**/*.py"), ROOT / "app.py", *ROOT.glob("benchmarks/*.py")]


def test_no_eval_exec_pickle_and_weights_only_loads() -> None:
    # the builtins (not methods such as re.compile or model.eval), and the unsafe loaders
    forbidden = re.compile(r"(?<![\w.])(eval|exec|compile)\(|\bpickle\b|\bmarshal\b|\bshelve\b|yaml\.load\("
                           r"|shell=True|os\.system\(|__import__\(")
    for path in python_sources():
        for n, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            assert not forbidden.search(code), f"{path}:{n}: {line.strip()}"
            if "torch.load(" in code:
                assert "weights_only=True" in code, f"{path}:{n}: torch.load without weights_only=True"


def test_the_dashboard_only_reads() -> None:
    """No call in the dashboard's code that writes a file or an Optuna storage (the loaders open
    SQLite files with mode=ro; the behaviour is checked in the next test)."""
    import ast

    writes = {"write_text", "write_bytes", "to_csv", "to_json", "to_parquet", "mkdir", "unlink", "rmdir", "rmtree",
              "create_study", "enqueue_trial", "set_user_attr", "set_system_attr", "tell", "optimize", "delete_study",
              "add_trial", "add_trials", "save_run", "write_json", "check_writable", "rename", "replace", "remove"}
    for path in [ROOT / "app.py", *ROOT.glob("scaler/dashboard/*.py"), ROOT / "scaler" / "study" / "reader.py"]:
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            where = f"{path}:{node.lineno}"
            if name in ("rename", "replace", "remove"):  # only the os / Path ones write (not pandas' or str's)
                assert not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
                            and func.value.id in ("os", "shutil")), where
                continue
            assert name not in writes, f"{where}: {name}()"
            if name == "open" and len(node.args) > 1 and isinstance(node.args[1], ast.Constant):
                assert not set(str(node.args[1].value)) & set("wax+"), where


def test_the_dashboard_loaders_leave_storage_and_results_untouched(tmp_path: Path) -> None:
    import hashlib

    from scaler.dashboard.data import list_studies, load_study, runs_frame

    url = sqlite(tmp_path)
    study = optuna.create_study(storage=open_storage(url, heartbeat=None), study_name="d", direction="maximize")
    for i in range(4):
        trial = study.ask()
        trial.suggest_categorical("k", [3, 5])
        trial.set_user_attr("macs", 1000 * (i + 1))
        study.tell(trial, 0.5 + i / 10)
    db = tmp_path / "studies.db"

    def state() -> tuple:
        files = sorted((str(p), p.stat().st_mtime_ns) for p in tmp_path.rglob("*"))
        return hashlib.sha256(db.read_bytes()).hexdigest(), files

    before = state()
    assert list_studies(url)[0]["name"].tolist() == ["d"]
    assert load_study(url, "d")[0] is not None
    runs_frame(tmp_path)
    list_studies(sqlite(tmp_path, "absent.db"))
    assert state() == before


def test_python_in_a_dsl_file_is_a_dsl_error_not_code(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.arch"
    evil.write_text(f"model evil\n  stem conv c__import__('os').system('touch {marker}') k3\n  head gpool\n  head fc\n")
    code = main(["inspect", str(evil)])
    err = capsys.readouterr().err
    assert code == 2 and f"{evil}:2:" in err and not marker.exists()


@pytest.mark.parametrize("argv, phrase", [
    (["--sampler", "grid", "--prefilter", "4"], "--prefilter does not combine with --sampler grid"),
    (["--max-params", "-5"], "--max-params must be positive"),
    (["--max-macs", "0"], "--max-macs must be positive"),
])
def test_bad_search_flags_exit_2(argv: list[str], phrase: str, space: str, tmp_path: Path,
                                 capsys: pytest.CaptureFixture) -> None:
    code, out, err = run_main(["search", "--space", space, *SYNTH, *argv, "--results", str(tmp_path)], capsys)
    assert code == 2 and phrase in err and len(err.strip().splitlines()) == 1
