"""How long the dashboard's Search page takes to load and plot a 5,000-trial study.

Builds a synthetic study shaped like `scaler search --space mbconv` (35 parameters, the user
attributes scaler stores, 10 epochs of pruning reports; 70% complete, 25% pruned, 5% failed) in a
temporary SQLite storage, then times, as medians of a few repeats:

- listing the studies and reading the chosen one into frames, Pareto flags included
  (``scaler.study.reader``'s bulk read, widened to a row per trial by ``scaler.dashboard.data``);
- the optimisation history, Pareto front and intermediate-values figures and the best-trials
  table, built and serialised to JSON (what st.plotly_chart sends): the first charts on screen;
- the parameter importances (optuna.importance, PED-ANOVA) and their figure, which the page
  computes after the others and caches until another trial completes.

Goal: the whole page (load + every figure) under 2 s of wall time. Wall and CPU time are both
printed, with the load average: other work on the machine stretches the first, not the second.

    .venv/bin/python benchmarks/dashboard_load.py [--trials 5000] [--repeats 5] [--baseline]

``--baseline`` also times ``optuna.load_study(...).get_trials()``, Optuna's own reader, once.

The 5,000 trials are written with one bulk INSERT per table of Optuna's RDB schema (its own
tables, reflected), after the study itself is created through Optuna: writing them one trial at a
time through Optuna's API commits tens of rows per trial and takes several minutes on this disk.
A spot check reads a few trials back through Optuna's API.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

STUDY = "bench-mbconv"
GOAL_S = 2.0


def build_study(url: str, n_trials: int, seed: int = 0) -> None:
    import optuna
    import sqlalchemy as sa
    from optuna.distributions import CategoricalDistribution, IntDistribution, distribution_to_json

    from scaler.zoo import get_model

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name=STUDY, storage=url, direction="maximize")
    storage = optuna.storages.RDBStorage(url)
    spec_text = get_model("efficientnet-b0").scale(width=0.5, depth=0.5, resolution=32).text()
    dists = {}
    for s in range(1, 8):
        dists[f"s{s}_kernel"] = CategoricalDistribution([3, 5])
        dists[f"s{s}_expand"] = CategoricalDistribution([1, 4, 6])
        dists[f"s{s}_repeats"] = IntDistribution(1, 4)
        dists[f"s{s}_channels"] = CategoricalDistribution([16, 24, 32, 40, 48])
        dists[f"s{s}_se"] = CategoricalDistribution([0.0, 0.25])
    dist_json = {k: distribution_to_json(d) for k, d in dists.items()}
    rng = random.Random(seed)
    meta = sa.MetaData()
    meta.reflect(storage.engine, only=["trials", "trial_params", "trial_values", "trial_user_attributes",
                                       "trial_intermediate_values"])
    t = meta.tables
    start = datetime(2026, 1, 1)
    trials, params, values, attrs, inter = [], [], [], [], []
    with storage.engine.begin() as conn:
        first_id = (conn.execute(sa.select(sa.func.max(t["trials"].c.trial_id))).scalar() or 0) + 1
        for number in range(n_trials):
            tid = first_id + number
            roll = rng.random()
            state = "COMPLETE" if roll < 0.70 else "PRUNED" if roll < 0.95 else "FAIL"
            began = start + timedelta(seconds=30 * number)
            trials.append({"trial_id": tid, "number": number, "study_id": study._study_id, "state": state,
                           "datetime_start": began, "datetime_complete": began + timedelta(seconds=25)})
            chosen = {}
            for name, dist in dists.items():
                value = rng.choice(dist.choices) if isinstance(dist, CategoricalDistribution) else rng.randint(1, 4)
                chosen[name] = value
                params.append({"trial_id": tid, "param_name": name, "param_value": dist.to_internal_repr(value),
                               "distribution_json": dist_json[name]})
            size = sum(chosen[f"s{s}_channels"] * chosen[f"s{s}_expand"] * chosen[f"s{s}_repeats"] for s in range(1, 8))
            macs = int(size * 9_000 * (1 + rng.random()))
            acc = min(0.95, 0.80 + 0.03 * (size / 1500) ** 0.5 + rng.gauss(0, 0.01))
            if state == "COMPLETE":
                values.append({"trial_id": tid, "objective": 0, "value": acc * (macs / 4e6) ** -0.07,
                               "value_type": "FINITE"})
            epochs = 10 if state == "COMPLETE" else rng.randint(1, 9) if state == "PRUNED" else 0
            for epoch in range(epochs):
                inter.append({"trial_id": tid, "step": epoch, "intermediate_value": acc - 0.2 / (epoch + 1),
                              "intermediate_value_type": "FINITE"})
            if state != "FAIL":
                for key, value in {"spec": spec_text, "params": size * 300, "macs": macs, "acts": size * 50,
                                   "latency_ms": macs / 2e6, "val_acc": acc, "status": "ok"}.items():
                    attrs.append({"trial_id": tid, "key": key, "value_json": json.dumps(value)})
        for table, rows in (("trials", trials), ("trial_params", params), ("trial_values", values),
                            ("trial_user_attributes", attrs), ("trial_intermediate_values", inter)):
            if rows:
                conn.execute(t[table].insert(), rows)
    # spot check: the count, and a few trials read back through Optuna's own API
    with storage.engine.connect() as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(t["trials"])
                             .where(t["trials"].c.study_id == study._study_id)).scalar()
    assert count == n_trials, count
    for number in (0, n_trials // 2, n_trials - 1):
        trial = storage.get_trial(first_id + number)
        assert trial.number == number and len(trial.params) == len(dists)
    storage.engine.dispose()


def median_time(fn, repeats: int) -> tuple[float, float, object]:
    """Median wall and CPU (this process) seconds of ``fn()``, and its last result."""
    walls, cpus, out = [], [], None
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    return statistics.median(walls), statistics.median(cpus), out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--baseline", action="store_true", help="also time optuna.load_study(...).get_trials()")
    args = parser.parse_args(argv)

    import plotly.io as pio

    from scaler.dashboard import data
    from scaler.dashboard import figures as F
    from scaler.results.schema import STORAGE

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / STORAGE}"
        t0 = time.perf_counter()
        build_study(url, args.trials)
        print(f"synthetic study: {args.trials} trials, 35 params, 10-epoch reports "
              f"(built in {time.perf_counter() - t0:.1f} s, {(Path(tmp) / STORAGE).stat().st_size / 1e6:.0f} MB)")
        print(f"load average before timing: {' '.join(f'{x:.1f}' for x in os.getloadavg())} "
              f"on {os.cpu_count()} CPUs (other work on the machine inflates wall times, not CPU times)")

        data.load_study(url, STUDY)  # warm imports; the app imports these once per process

        def load():
            studies, w1 = data.list_studies(url)
            study, w2 = data.load_study(url, STUDY, importance=False)
            assert not w1 and not w2 and len(study.trials) == args.trials
            return study

        def first_figures(study):
            figs = [F.optimization_history(study.trials, 0, study.objectives[0], study.directions[0]),
                    F.pareto_front(study.trials, *study.pareto_axes()),
                    F.intermediate_values(study.intermediate)]
            study.best_trials(10)
            return [pio.to_json(f, validate=False) for f in figs]

        rows = []
        w, c, study = median_time(load, args.repeats)
        rows.append(("list studies + read the study into frames", w, c))
        w, c, payloads = median_time(lambda: first_figures(study), args.repeats)
        rows.append(("3 figures + best-trials table, serialised", w, c))
        w, c, (imp, note) = median_time(lambda: data.study_importances(study), args.repeats)
        assert imp is not None, note
        rows.append(("parameter importances (PED-ANOVA)", w, c))
        w, c, last = median_time(lambda: pio.to_json(F.param_importances(imp), validate=False), args.repeats)
        rows.append(("importance figure, serialised", w, c))

        first_w, first_c = rows[0][1] + rows[1][1], rows[0][2] + rows[1][2]
        total_w, total_c = sum(r[1] for r in rows), sum(r[2] for r in rows)
        print(f"medians of {args.repeats} (wall / CPU):")
        for label, w, c in rows:
            print(f"  {label:<44} {w:6.3f} s / {c:6.3f} s")
        print(f"  {'first three charts on screen':<44} {first_w:6.3f} s / {first_c:6.3f} s")
        print(f"  {'whole Search page: load + all figures':<44} {total_w:6.3f} s / {total_c:6.3f} s"
              f"   goal < {GOAL_S:.0f} s: {'met' if total_w < GOAL_S else 'NOT met'} (wall)"
              f"{'' if total_w < GOAL_S else ', ' + ('met' if total_c < GOAL_S else 'not met') + ' in CPU time'}")
        print(f"  (JSON sent to the browser: {(sum(map(len, payloads)) + len(last)) / 1e6:.1f} MB)")
        if args.baseline:
            import optuna

            t0 = time.perf_counter()
            optuna.load_study(study_name=STUDY, storage=url).get_trials(deepcopy=False)
            print(f"  Optuna's own reader, once: optuna.load_study(...).get_trials() {time.perf_counter() - t0:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
