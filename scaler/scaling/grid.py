"""The grid search for alpha, beta, gamma at phi = 1, as an Optuna study.

Candidate coefficients on a grid (default step 0.05 from 1.0) are kept when
``|alpha * beta^2 * gamma^2 - 2| <= tol`` *and* the scaled Spec's counted MACs (after channel and
repeat rounding, at the training resolution) are within ``macs_tol`` of twice the base's. Candidates
that round to the same network are trained once. Each is trained at the search's fidelity as one
trial of an Optuna study (``GridSampler`` over one categorical ``point``; alpha/beta/gamma in user
attributes) in the search's storage, so the grid resumes after an interrupt and can be shared by
several workers. With several seeds the best few points are retrained with each (``confirm_top``)
and the winner is the best mean: one seed moves a proxy run by about half a point.
"""

from __future__ import annotations

import dataclasses
import datetime
import itertools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from scaler.dsl import Spec
from scaler.errors import ScalerError
from scaler.scaling.base import base_key
from scaler.scaling.cells import Fidelity, paired, seed_summary
from scaler.scaling.config import DEFAULT_MACS_TOL, DEFAULT_RANGE, DEFAULT_STEP, DEFAULT_TOL, GRID_CONFIRM, drop_float_noise
from scaler.scaling.growth import count, grow
from scaler.stats import Spread
from scaler.training.config import network_identity

GRID_POLL_S = 2.0  # how often a worker with nothing left to train looks at the others' grid points


@dataclass(frozen=True)
class GridPoint:
    """One kept (alpha, beta, gamma) with its Spec at fidelity and that Spec's counts."""

    alpha: float
    beta: float
    gamma: float
    spec: Spec
    macs: int
    params: int
    acts: int
    mac_ratio: float
    aliases: tuple[str, ...] = ()

    @property
    def product(self) -> float:
        """alpha * beta^2 * gamma^2 (2 on the ideal constraint)."""
        return self.alpha * self.beta ** 2 * self.gamma ** 2

    @property
    def label(self) -> str:
        """``alpha,beta,gamma``: the point's value of the study's categorical ``point``."""
        return f"{self.alpha:g},{self.beta:g},{self.gamma:g}"


def grid_values(lo: float, hi: float, step: float) -> list[float]:
    """lo, lo + step, ... up to hi (inclusive, float noise removed)."""
    n = int(math.floor((hi - lo) / step + 1e-9))
    return [drop_float_noise(lo + i * step) for i in range(n + 1)]


def grid_candidates(base_fid: Spec, step: float = DEFAULT_STEP, ranges: Sequence[Sequence[float]] = (DEFAULT_RANGE,) * 3,
                    tol: float = DEFAULT_TOL, macs_tol: float = DEFAULT_MACS_TOL, in_channels: int = 3,
                    num_classes: int = 1000, key: str | None = None) -> list[GridPoint]:
    """The grid points kept at phi = 1, one per distinct network (aliases: the others that round to it).

    Kept: ``|alpha*beta^2*gamma^2 - 2| <= tol`` and counted MACs within ``macs_tol`` (relative) of 2x
    ``base_fid``'s. Of candidates giving the same network, the one with the product closest to 2 stands
    for the others. Raises ScalerError when nothing is kept.
    """
    key = key or base_key(base_fid.name)
    m0 = count(base_fid, in_channels, num_classes).macs
    axes = [grid_values(lo, hi, step) for lo, hi in ranges]
    total = math.prod(len(a) for a in axes)
    by_product = 0
    closest: tuple[float, float, float, float] | None = None
    groups: dict[str, list[GridPoint]] = {}
    for a, b, g in itertools.product(*axes):
        if abs(a * b * b * g * g - 2) > tol + 1e-12:
            continue
        by_product += 1
        spec = grow(base_fid, a, b, g, name=f"{key}-grid-a{a:g}-b{b:g}-g{g:g}")
        cx = count(spec, in_channels, num_classes)
        ratio = cx.macs / m0
        if closest is None or abs(ratio / 2 - 1) < abs(closest[3] / 2 - 1):
            closest = (a, b, g, ratio)
        if abs(ratio / 2 - 1) > macs_tol + 1e-12:
            continue
        point = GridPoint(a, b, g, spec, cx.macs, cx.params, cx.acts, ratio)
        groups.setdefault(network_identity(spec), []).append(point)
    if not groups:
        near = (f"; the nearest, alpha={closest[0]:g} beta={closest[1]:g} gamma={closest[2]:g}, counts "
                f"{closest[3]:.3f}x") if closest else ""
        raise ScalerError(
            f"no grid point satisfies |alpha*beta^2*gamma^2 - 2| <= {tol:g} with counted MACs within "
            f"{macs_tol:.1%} of 2x the base ({by_product} of {total} grid points pass the first test{near}); "
            f"raise --tol or --macs-tol, or change --step or the ranges")
    points = []
    for same in groups.values():
        same.sort(key=lambda p: (abs(p.product - 2), p.alpha, p.beta, p.gamma))
        points.append(dataclasses.replace(same[0], aliases=tuple(p.label for p in same[1:])))
    return sorted(points, key=lambda p: (p.alpha, p.beta, p.gamma))


@dataclass
class GridResult:
    """The grid study's state after this call: one row per point, the winner, whether all are done."""

    study: str
    storage: str
    rows: list[dict]
    winner: dict | None
    complete: bool
    trained: int
    recovered: int = 0


def grid_study_settings(base_fid: Spec, points: Sequence[GridPoint], fidelity: Fidelity) -> dict:
    """What the grid's trials must share to be comparable; a resumed study must match it."""
    return {"kind": "scale-grid", "base": network_identity(base_fid), "points": [p.label for p in points],
            **fidelity.describe()}


def run_grid(points: Sequence[GridPoint], base_fid: Spec, fidelity: Fidelity, study_name: str, storage_url: str,
             key: str, on_trial: Callable[[Any], None] | None = None) -> GridResult:
    """Train every grid point once, as trials of an Optuna study with a GridSampler (resumable, shareable).

    A storage that fails mid-run (a database gone or read-only) is a RunFailedError naming the masked URL.
    """
    from scaler.study.storage import storage_failures

    with storage_failures(storage_url, "; rerun to resume the grid"):
        return _run_grid(points, base_fid, fidelity, study_name, storage_url, key, on_trial)


def _run_grid(points: Sequence[GridPoint], base_fid: Spec, fidelity: Fidelity, study_name: str, storage_url: str,
              key: str, on_trial: Callable[[Any], None] | None = None) -> GridResult:
    """``run_grid``'s trials: the search's worker loop with a budget of one trial per point, so a dead or
    interrupted worker's point is failed and queued again the same way, and every worker waits until
    all points are finished (here or elsewhere) to report the whole grid's winner."""
    import optuna

    from scaler.study.budget import BudgetSampler, ensure_unique
    from scaler.study.loop import open_study, pin_settings, quiet_optuna, run_trials
    from scaler.study.storage import mask_url, open_storage
    from scaler.study.workers import host_id, worker_id
    from scaler.training.parallel import helper_workers

    quiet_optuna()
    log = fidelity.log
    labels = [p.label for p in points]
    by_label = {p.label: p for p in points}
    seed = fidelity.data.cfg.seed
    sampler = BudgetSampler(optuna.samplers.GridSampler({"point": labels}, seed=seed), len(points), seed)
    study, _ = open_study(open_storage(storage_url), study_name, sampler)
    pin_settings(study, grid_study_settings(base_fid, points, fidelity), "grid study")
    total = len(points)

    def objective(trial: optuna.trial.Trial) -> float:
        label = trial.suggest_categorical("point", labels)
        point = by_label[label]
        for name in ("alpha", "beta", "gamma", "product", "macs", "params", "acts", "mac_ratio"):
            trial.set_user_attr(name, getattr(point, name))
        trial.set_user_attr("spec", point.spec.text())
        ensure_unique(study, trial)
        start = time.perf_counter()
        record, reused = fidelity.train_or_reuse(point.spec, {
            "stage": "grid", "base": key, "study": study_name, "trial": trial.number, "alpha": point.alpha,
            "beta": point.beta, "gamma": point.gamma, "phi": 1.0})
        trial.set_user_attr("reused", reused)
        for name in ("val_acc", "train_time_s", "latency_ms", "status"):
            trial.set_user_attr(name, record.get(name))
        done = len(_point_states(study)[0]) + 1
        acc = record.get("val_acc")
        log(f"grid {done}/{total} alpha={point.alpha:g} beta={point.beta:g} gamma={point.gamma:g} "
            f"({point.mac_ratio:.2f}x MACs, {point.spec.resolution} px): "
            + (f"val acc {acc:.4f}" if acc is not None else "diverged")
            + (" (reused an earlier run)" if reused else f" in {time.perf_counter() - start:.0f} s"))
        if record.get("status") != "ok" or acc is None:
            trial.set_user_attr("diverged", True)
            raise optuna.TrialPruned("training diverged (NaN/inf loss)")
        return float(acc)

    helpers = (points, base_fid, fidelity.detached(), study_name, storage_url, key)
    started = datetime.datetime.now()  # Optuna's trial clock (local, naive)
    with helper_workers(run_grid, helpers, fidelity.jobs, log) as helper_pids:
        outcome = run_trials(study, objective, sampler, log, noun="grid point", poll_s=GRID_POLL_S,
                             callbacks=[lambda s, t: on_trial(t)] if on_trial else [])
    fidelity.store.forget()  # the helpers' and other workers' points: confirm_top reuses them as seed one
    # trained by this call: its own process and its --jobs helpers, not other workers or earlier calls
    ours = {worker_id(), *(f"{host_id()}:{pid}" for pid in helper_pids)}
    trained = sum(t.user_attrs.get("reused") is False and t.user_attrs.get("worker") in ours
                  and t.datetime_start is not None and t.datetime_start >= started
                  for t in study.get_trials(deepcopy=False))
    if outcome.stopped_by == "interrupt":  # the point in flight is failed and queued again: a rerun trains it
        raise KeyboardInterrupt

    done, pending = _point_states(study)
    rows = []
    for p in points:
        t = done.get(p.label)
        rows.append({"alpha": p.alpha, "beta": p.beta, "gamma": p.gamma, "product": p.product,
                     "val_acc": t.user_attrs.get("val_acc") if t is not None else None,
                     "macs": p.macs, "params": p.params, "acts": p.acts, "mac_ratio": p.mac_ratio,
                     "resolution": p.spec.resolution, "upsampled": fidelity.upsampled(p.spec.resolution),
                     "label": p.label, "aliases": list(p.aliases),
                     "trial": t.number if t is not None else None,
                     "state": "done" if t is not None else ("running" if p.label in pending else "missing")})
    finished = [r for r in rows if r["val_acc"] is not None]
    winner = max(finished, key=lambda r: (r["val_acc"], -abs(r["product"] - 2)), default=None)
    return GridResult(study_name, mask_url(storage_url), rows, winner, len(done) == total, trained, outcome.recovered)


def confirm_top(grid: GridResult, points: Sequence[GridPoint], fidelity: Fidelity, key: str,
                top: int = GRID_CONFIRM) -> list[dict]:
    """The ``top`` finished points by their one-seed accuracy, retrained with every seed of ``fidelity``
    (the grid's own run is the first seed, reused): one row each, the most accurate mean first, with its
    spread and each against that winner paired by seed. A point one seed happened to favour loses there."""
    by_label = {p.label: p for p in points}
    finished = sorted((r for r in grid.rows if r["val_acc"] is not None), key=lambda r: -r["val_acc"])[:top]
    rows = []
    points_top = [by_label[r["label"]] for r in finished]
    cells = [(p.spec, {"stage": "grid", "base": key, "study": grid.study, "alpha": p.alpha, "beta": p.beta,
                       "gamma": p.gamma, "phi": 1.0}) for p in points_top]
    for r, point, (records, trained) in zip(finished, points_top, fidelity.train_cells(cells), strict=True):
        cell = seed_summary(records)
        rows.append({"label": r["label"], "alpha": point.alpha, "beta": point.beta, "gamma": point.gamma,
                     "product": point.product, "mac_ratio": point.mac_ratio, "one_seed_acc": r["val_acc"], **cell})
        fidelity.log(f"grid confirm {point.label}: val acc "
                     + (str(Spread(cell["val_acc"], cell["val_std"], cell["seeds"])) if cell["seeds"] else "diverged")
                     + f" over {len(records)} seeds ({trained} trained now)")
    rows.sort(key=lambda c: (c["val_acc"] is None, -(c["val_acc"] or 0.0), abs(c["product"] - 2)))
    for c in rows:
        c.update(paired(c["val_accs"], rows[0]["val_accs"], "vs_winner") if c is not rows[0] else
                 {"vs_winner": None, "vs_low": None, "vs_high": None, "verdict": "winner"})
    return rows


def _point_states(study: Any) -> tuple[dict[str, Any], set[str]]:
    """(finished trial per point label, labels waiting or running) of a grid study."""
    import optuna

    from scaler.study.budget import planned_params

    TS = optuna.trial.TrialState
    done: dict[str, Any] = {}
    pending: set[str] = set()
    for t in study.get_trials(deepcopy=False):
        label = planned_params(t).get("point")
        if label is None:
            continue
        if t.state == TS.COMPLETE or (t.state == TS.PRUNED and t.user_attrs.get("diverged")):
            done.setdefault(label, t)
        elif t.state in (TS.RUNNING, TS.WAITING):
            pending.add(label)
    return done, pending - set(done)
