"""Trials per minute with 1, 2 and 3 `scaler search` workers on one PostgreSQL study, and what the
shared storage costs per trial.

Starts a private PostgreSQL cluster on loopback (tests/pgcluster.py; durable: fsync on) and runs, for
N = 1, 2, 3 worker processes sharing one study:

1. real tiny trials: the `scaler search` command on a small space with synthetic 16 px data (one
   trial builds, scores and trains a model of a few thousand parameters in about a second);
2. storage only: the same search loop with training and the zero-cost proxies replaced by stubs,
   so that what is left per trial is Optuna's sampling and the storage round trips (ask, the budget
   check, user attributes, heartbeat, tell, the study reads between trials) plus the run record.

Rates are finished trials over the span from the first trial's start to the last trial's end (the
database's clock), so process start-up (about 5-10 s here: torch and torchvision imports) is left
out. Every worker runs one torch thread; this machine's cores are shared with other work, so read
the figures as relative.

    .venv/bin/python benchmarks/workers.py [--trials 15] [--stub-trials 60] [--workers 1,2,3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

SPACE = """model bench
  resolution 16
  stem  conv c{8,16} k3
  stage conv c{8,16,24} k{1,3} r[1..2]
  stage maxpool k2 s2
  stage conv c{16,32} k{1,3}
  head  gpool
  head  fc
"""
DATA = ["--data", "synthetic:classes=4,size=600,resolution=16", "--val-size", "128", "--train-size", "448",
        "--width", "1", "--epochs", "1", "--batch-size", "64", "--device", "cpu"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def stub_worker(space: str, url: str, study: str, trials: int, results: str) -> None:
    """One worker of the storage-only arm: run_search with training and proxies stubbed out."""
    import scaler.training.fit
    import scaler.training.proxies
    from scaler.data import DataConfig, load_data
    from scaler.search import SearchConfig, run_search
    from scaler.training.trainer import TrainConfig

    def fit(spec, data, cfg, callback=None, **_):
        return {"name": spec.name, "family": spec.family, "spec": spec.text(), "status": "ok", "val_acc": 0.5,
                "latency_ms": 0.1, "train_time_s": 0.0, "params": 0, "macs": 0, "acts": 0}, None

    scaler.training.fit.fit = fit
    scaler.training.proxies.score = lambda *a, **k: {"synflow": 1.0, "naswot": 1.0, "params": 1.0}
    data = load_data(DataConfig(name="synthetic:classes=4,size=600,resolution=16", val_size=128, download=False))
    cfg = SearchConfig(space=space, width=1.0, trials=trials, sampler="random", pruner="none", storage=url,
                       study=study, proxy_batch=16, confirm=0, jobs=1)
    run_search(cfg, data, TrainConfig(epochs=1, batch_size=64, device="cpu"), results, progress=False,
               log=lambda m: None)


def run_arm(n: int, cmd: list[str], url: str, study: str) -> dict:
    procs = [subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=ENV)
             for _ in range(n)]
    errors = [p.communicate()[1] for p in procs]
    for p, err in zip(procs, errors, strict=True):
        if p.returncode:
            raise SystemExit(f"worker failed ({p.returncode}): {err[-2000:]}")
    import optuna

    trials = optuna.load_study(study_name=study, storage=url).get_trials()
    done = [t for t in trials if t.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)]
    span = (max(t.datetime_complete for t in done) - min(t.datetime_start for t in done)).total_seconds()
    durations = [(t.datetime_complete - t.datetime_start).total_seconds() for t in done]
    return {"workers": n, "finished": len(done), "failed": len(trials) - len(done), "span_s": span,
            "per_min": 60 * len(done) / span, "trial_s": statistics.median(durations),
            "used": len({t.user_attrs.get("worker") for t in done})}


def table(title: str, rows: list[dict], base: float) -> None:
    print(f"\n{title}")
    print(f"{'workers':>7} {'trials':>6} {'surplus/failed':>14} {'span s':>7} {'trials/min':>10} {'speed-up':>8} "
          f"{'median trial s':>14} {'per worker ms/trial':>19}")
    for r in rows:
        per_trial_ms = 1000 * r["span_s"] * r["workers"] / r["finished"]
        print(f"{r['workers']:>7} {r['finished']:>6} {r['failed']:>14} {r['span_s']:>7.1f} {r['per_min']:>10.1f} "
              f"{r['per_min'] / base:>7.2f}x {r['trial_s']:>14.3f} {per_trial_ms:>19.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=15, help="real trials per arm")
    parser.add_argument("--stub-trials", type=int, default=60, help="storage-only trials per arm")
    parser.add_argument("--workers", default="1,2,3")
    parser.add_argument("--stub-worker", nargs=5, metavar=("SPACE", "URL", "STUDY", "TRIALS", "RESULTS"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stub_worker:
        space, url, study, trials, results = args.stub_worker
        stub_worker(space, url, study, int(trials), results)
        return

    from pgcluster import PgCluster

    counts = [int(n) for n in args.workers.split(",")]
    with tempfile.TemporaryDirectory() as tmp, PgCluster(durable=True) as pg:
        space = Path(tmp) / "bench.arch"
        space.write_text(SPACE)
        print(f"PostgreSQL on 127.0.0.1:{pg.port} (fsync on); {os.cpu_count()} CPU cores, "
              f"load average {os.getloadavg()[0]:.1f} at start")
        real, stub = [], []
        for n in counts:
            study = f"real-{n}"
            cmd = [sys.executable, "-m", "scaler", "search", "--space", str(space), *DATA, "--sampler", "random",
                   "--pruner", "none", "--trials", str(args.trials), "--storage", pg.url, "--study", study,
                   "--results", f"{tmp}/results", "--json"]
            real.append(run_arm(n, cmd, pg.url, study))
            print(f"  real, {n} worker(s): {real[-1]['per_min']:.1f} trials/min", flush=True)
        for n in counts:
            study = f"stub-{n}"
            cmd = [sys.executable, __file__, "--stub-worker", str(space), pg.url, study, str(args.stub_trials),
                   f"{tmp}/results"]
            stub.append(run_arm(n, cmd, pg.url, study))
            print(f"  storage only, {n} worker(s): {stub[-1]['per_min']:.0f} trials/min", flush=True)
        sqlite = f"sqlite:///{tmp}/ref.db"
        ref = run_arm(1, [sys.executable, __file__, "--stub-worker", str(space), sqlite, "ref",
                          str(args.stub_trials), f"{tmp}/results"], sqlite, "ref")
    table(f"real tiny trials ({args.trials} per run, `scaler search`, one study on PostgreSQL):", real,
          real[0]["per_min"])
    table(f"storage only ({args.stub_trials} trials per run, training and proxies stubbed):", stub,
          stub[0]["per_min"])
    print(f"  reference: 1 worker on a local SQLite file: {ref['per_min']:.0f} trials/min, "
          f"{1000 * ref['span_s'] / ref['finished']:.0f} ms/trial")
    overhead = [1000 * r["span_s"] * r["workers"] / r["finished"] for r in stub]
    print("\nstorage + sampling cost per trial and worker: "
          + ", ".join(f"{n} worker(s) {ms:.0f} ms" for n, ms in zip(counts, overhead, strict=True))
          + f"; a real tiny trial takes {real[0]['trial_s']:.2f} s, a real search trial tens of seconds or more.")


if __name__ == "__main__":
    main()
