"""Confirming what a search found with seeds, before calling it a finding.

At proxy fidelity one architecture's validation accuracy moves by about half a point from one seed
to the next, as much as the differences a search ranks by. So after the trials, the best ``confirm``
candidates (by the objective, at or under the MACs target) and the reference are trained again with
seeds ``seed + 1 .. seed + seeds - 1`` (the trial itself is seed ``seed``). The baseline is the
candidate with the best mean objective; each is reported with mean ± std of its validation and test
accuracy and its difference to the reference paired by seed, with a 95% interval and a verdict
(``scaler.stats``): better, not distinguishable, worse.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from scaler.data import Dataset
from scaler.search.config import SearchConfig
from scaler.search.objective import reward
from scaler.stats import compare, spread
from scaler.training.trainer import TrainConfig


def confirm(rows: list[dict], reference: dict | None, baseline: dict | None, cfg: SearchConfig, data: Dataset,
            train_cfg: TrainConfig, target: float, results: str | Path | None,
            log: Callable[[str], None]) -> dict | None:
    """Train the top candidates and the reference with more seeds; None when there is nothing to confirm
    (``--confirm 0``, a Pareto search, no finished candidate)."""
    if cfg.confirmations == 0 or cfg.objective == "pareto" or baseline is None:
        return None
    eligible = [r for r in rows if r["feasible"] and r["macs"] <= target] or [r for r in rows if r["feasible"]]
    top = eligible[: cfg.confirmations]
    nets = top + ([reference] if reference is not None and all(r["trial"] != reference["trial"] for r in top) else [])
    seeds = [train_cfg.seed + i for i in range(cfg.seeds)]
    measured = _measure(nets, seeds, cfg, data, train_cfg, target, results, log)
    ref = measured.get(reference["trial"]) if reference is not None else None
    entries = []
    for r in nets:
        got = measured[r["trial"]]
        entry = {"trial": r["trial"], "name": r.get("name"), "reference": r.get("reference"), "macs": r["macs"],
                 "params": r["params"], "seeds": seeds, "val_acc": got["val"], "test_acc": got["test"],
                 "objective": got["objective"], "val": dataclasses.asdict(spread(got["val"])),
                 "test": dataclasses.asdict(spread(got["test"])), "mean_objective": spread(got["objective"]).mean,
                 "vs_reference": None}
        if ref is not None and r["trial"] != reference["trial"]:
            entry["vs_reference"] = compare(got["val"], ref["val"]).as_dict()
        entries.append(entry)
    candidates = [e for e in entries if any(e["trial"] == r["trial"] for r in top)]
    best = max(candidates, key=lambda e: e["mean_objective"])
    log(f"confirmed {len(nets)} net(s) with {cfg.seeds} seed(s): baseline trial {best['trial']}")
    return {"seeds": seeds, "entries": entries, "baseline_trial": best["trial"],
            "reference_trial": reference["trial"] if reference is not None else None}


def _measure(nets: list[dict], seeds: list[int], cfg: SearchConfig, data: Dataset, train_cfg: TrainConfig,
             target: float, results: str | Path | None, log: Callable[[str], None]) -> dict[int, dict[str, list[float]]]:
    """Validation and test accuracy and the objective of every net for every seed (the first from the
    trial itself), by trial number; the trainings run in ``cfg.jobs`` processes."""
    from scaler.dsl import parse_spec
    from scaler.results import save_run
    from scaler.training.parallel import FitTask, fit_each

    runs = [(r, seed) for r in nets for seed in seeds[1:]]
    log(f"confirming {len(nets)} net(s) with {len(seeds)} seed(s): {len(runs)} training(s)"
        + (f" in {cfg.jobs} processes" if cfg.jobs > 1 and len(runs) > 1 else ""))
    records = list(fit_each([FitTask(parse_spec(r["spec"]), dataclasses.replace(train_cfg, seed=seed))
                           for r, seed in runs], data, cfg.jobs))
    measured = {r["trial"]: {"val": [r["val_acc"] or 0.0], "test": [r["test_acc"] or 0.0]} for r in nets}
    for (row, seed), record in zip(runs, records, strict=True):
        save_run(record, "search", results, extra={"study": cfg.study, "trial": row["trial"], "seed": seed,
                                                   "stage": "confirm"})
        measured[row["trial"]]["val"].append(record["val_acc"] or 0.0)
        measured[row["trial"]]["test"].append(record["test_acc"] or 0.0)
        log(f"confirm trial {row['trial']} seed {seed}: val acc {record['val_acc'] or 0.0:.4f}")
    for row in nets:
        got = measured[row["trial"]]
        got["objective"] = [reward(v, row["macs"], target, cfg.w) if cfg.objective == "reward" else v
                            for v in got["val"]]
    return measured
