"""Compound scaling and scaling laws (EfficientNet, Tan & Le 2019, sections 3.3 and 4).

The second step of EfficientNet, on the user's baseline and data:

1. **Grid search at phi = 1.** Candidate coefficients (alpha, beta, gamma) on a grid (default step
   0.05 from 1.0) are kept when ``|alpha * beta^2 * gamma^2 - 2| <= tol`` *and* the scaled Spec's
   counted MACs (after channel and repeat rounding, at the training resolution) are within
   ``macs_tol`` of twice the base's. Candidates that round to the same network are trained once.
   Each is trained at the search's fidelity as one trial of an Optuna study (``GridSampler`` over one
   categorical ``point``; alpha/beta/gamma in user attributes) in the search's storage, so the grid
   resumes after an interrupt and can be shared by several workers. The winner is stored with its
   base (``results/scale/<base>/coefficients.json``) and reused by later calls.
2. **Generation.** The Spec at any real ``phi >= 0``: depth ``alpha^phi``, width ``beta^phi``,
   resolution ``round(base_res * gamma^phi)``; the ladder phi = 1..7 (``derived``) next to the
   published B1..B8 and L2 coefficients applied to the same base (``published``), each with
   params, MACs, activations and its MAC ratio to the base against the ideal
   ``(alpha * beta^2 * gamma^2)^phi``. Derived repeats round to the nearest by default
   (``--depth-round round``): EfficientNet's ceil turns every one-block stage into two at depth 1.2,
   so B0 at phi = 1 would count 2.57x its MACs instead of 1.92x (34% over the law); published
   rungs keep ceil, as B1..L2 were built.
3. **Scaling laws.** At matched MAC ratios (2x, 4x, 8x) the base scaled by depth only, width only,
   resolution only (each multiplier found by bisection on the counted MACs) and compound (phi found
   likewise); each is trained, and per strategy ``error = a * MACs^-b + c`` is fitted by least
   squares (variable projection: linear in a and c for a given b, golden-section search over b) with
   a parametric bootstrap for the uncertainty band, then extrapolated to the next rungs.

Every model is counted at two sizes: *nominal* (the base's own width and resolution, e.g. 224 px,
3 input channels and 1000 classes like ``scaler zoo``: the ladder) and *fidelity* (times the proxy
width, at the training resolution and the data's channels and classes: what is trained). MACs are
multiply-adds throughout.

Files under ``results/scale/<base>/`` (each written atomically): ``grid.csv`` (alpha, beta, gamma,
val_acc, macs, params), ``coefficients.json``, ``ladder.csv`` (label, name, phi, width, depth,
resolution, params, macs, mac_ratio), ``models/*.arch``, ``compare.csv`` (strategy, mac_ratio, macs,
val_acc), ``fits.json`` ({strategy: {a, b, c, a_std, b_std, c_std, m0, x}}: error = a * (MACs / m0)^-b + c
with m0 the base's MACs, x = "mac_ratio"), ``compare.json`` (the full
comparison table and predictions) and ``summary.json`` (what the last call printed, as JSON).
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import itertools
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from scaler.data import DataConfig, Dataset
from scaler.dsl import Spec
from scaler.errors import RunFailedError, ScalerError
from scaler.scaling.base import base_key, resolve_base
from scaler.scaling.coefficients import Coefficients, choose_coefficients, load_coefficients
from scaler.scaling.config import (COMPARE_COLUMNS, DEFAULT_MACS_TOL, DEFAULT_PROXY_WIDTH, DEFAULT_RANGE, DEFAULT_STEP,
                                   DEFAULT_TOL, GRID_COLUMNS, LADDER_COLUMNS, STRATEGIES, ScaleConfig,
                                   drop_float_noise)
from scaler.scaling.grow import (at_phi, count, grow, ladder, network_identity, published_coefficients,
                                 published_spec)
from scaler.scaling.laws import PowerLaw, fit_power_law
from scaler.scaling.report import format_report
from scaler.training.trainer import TrainConfig

GRID_POLL_S = 2.0  # how often a worker with nothing left to train looks at the others' grid points


# --- grid candidates -------------------------------------------------------------------------


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
        return self.alpha * self.beta ** 2 * self.gamma ** 2

    @property
    def label(self) -> str:
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


# --- training at fidelity --------------------------------------------------------------------


class DataCache:
    """The data set at the resolutions scaled models need, loaded on demand (the last two kept)."""

    def __init__(self, cfg: DataConfig, keep: int = 2):
        from scaler.data import load_data

        self.cfg, self.keep, self._load = cfg, keep, load_data
        self._sets: dict[int | None, Dataset] = {}
        self.base = self.get(cfg.resolution)

    def get(self, resolution: int | None) -> Dataset:
        if resolution not in self._sets:
            if len(self._sets) >= self.keep:
                oldest = next(k for k in self._sets if self._sets[k] is not getattr(self, "base", None))
                del self._sets[oldest]
            self._sets[resolution] = self._load(dataclasses.replace(self.cfg, resolution=resolution))
        return self._sets[resolution]

    def config(self, resolution: int) -> DataConfig:
        return dataclasses.replace(self.cfg, resolution=resolution)


@dataclass
class Fidelity:
    """How scaled models are trained: proxy width, the data (at the base's resolution) and the trainer."""

    width: float
    data: DataCache
    train: TrainConfig
    results: str | Path | None = None
    log: Callable[[str], None] = print
    _index: dict[str, dict] | None = None

    @property
    def resolution(self) -> int:
        return self.data.base.resolution

    @property
    def in_channels(self) -> int:
        return self.data.base.in_channels

    @property
    def num_classes(self) -> int:
        return self.data.base.num_classes

    def base(self, spec: Spec) -> Spec:
        """The nominal base at fidelity: proxy width, training resolution."""
        return grow(spec, width=self.width).scale(resolution=self.resolution)

    def count(self, spec: Spec) -> Any:
        return count(spec, self.in_channels, self.num_classes)

    def describe(self) -> dict:
        d = self.data.base
        return {"width": self.width, "resolution": self.resolution, "data": d.name, "train_size": len(d.x_train),
                "val_size": len(d.x_val), "seed": self.data.cfg.seed, "epochs": self.train.epochs,
                "batch_size": self.train.batch_size, "optimizer": self.train.optimizer, "lr": self.train.lr}

    def key(self, spec: Spec) -> str:
        """What makes two trainings the same: the network (not its name), the data cut, the trainer."""
        data = dataclasses.asdict(self.data.config(spec.resolution))
        data.pop("device", None)
        train = dataclasses.asdict(self.train)
        train.pop("device", None)
        text = json.dumps({"spec": network_identity(spec), "data": data, "train": train}, sort_keys=True, default=str)
        return hashlib.sha1(text.encode()).hexdigest()[:16]

    def index(self) -> dict[str, dict]:
        if self._index is None:
            from scaler.results import load_runs

            runs, _ = load_runs(self.results)
            self._index = {r["extra"]["key"]: r for r in runs if r.get("kind") == "scale"
                           and isinstance(r.get("extra"), dict) and r["extra"].get("key")}
        return self._index

    def fit(self, spec: Spec, extra: dict, save_weights: bool = False,
            callback: Callable[[Any], None] | None = None) -> tuple[dict, bool]:
        """Train ``spec`` at this fidelity, or reuse a finished run of the same network and settings.

        Returns the run record and whether it was reused. Every trained model is saved as a run
        (kind ``scale``, ``extra`` with ``key`` plus what the caller passes).
        """
        from scaler.results import save_run

        key = self.key(spec)
        known = self.index().get(key)
        if known is not None:
            return known, True
        data = self.data.get(spec.resolution)
        record, model = fit(spec, data, self.train, callback=callback)
        record["data"] = dataclasses.asdict(self.data.config(spec.resolution))
        state = None
        if save_weights:
            state = {k: v.detach().cpu() for k, v in getattr(model, "module", model).state_dict().items()}
        path = save_run(record, "scale", self.results, state_dict=state, extra={**extra, "key": key})
        record = {**record, "path": str(path), "extra": {**extra, "key": key}}
        self.index()[key] = record
        return record, False


def fit(spec: Spec, data: Dataset, cfg: TrainConfig, callback: Callable[[Any], None] | None = None) -> tuple[dict, Any]:
    """``scaler.training.fit.fit`` (a module-level name so tests can watch or interrupt training)."""
    from scaler.training.fit import fit as evaluate_fit

    return evaluate_fit(spec, data, cfg, callback=callback)


# --- the grid study --------------------------------------------------------------------------


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
    import optuna
    import sqlalchemy.exc

    from scaler.search import _first_line, mask_url, redact

    try:
        return _run_grid(points, base_fid, fidelity, study_name, storage_url, key, on_trial)
    except (sqlalchemy.exc.SQLAlchemyError, optuna.exceptions.StorageInternalError) as exc:
        raise RunFailedError(f"storage {mask_url(storage_url)} failed: {redact(_first_line(exc), storage_url)}; "
                             f"rerun to resume the grid") from None


def _run_grid(points: Sequence[GridPoint], base_fid: Spec, fidelity: Fidelity, study_name: str, storage_url: str,
              key: str, on_trial: Callable[[Any], None] | None = None) -> GridResult:
    import optuna

    from scaler.search import WORKER, mask_url, open_storage, pin_settings, reap, recover_dead_trials

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    log = fidelity.log
    labels = [p.label for p in points]
    by_label = {p.label: p for p in points}
    space = {"point": labels}
    sampler = optuna.samplers.GridSampler(space, seed=fidelity.data.cfg.seed)
    study = optuna.create_study(storage=open_storage(storage_url), study_name=study_name, direction="maximize",
                                sampler=sampler, load_if_exists=True)
    pin_settings(study, grid_study_settings(base_fid, points, fidelity), "grid study")
    recovered = recover_dead_trials(study)
    if recovered:
        log(f"re-queued {recovered} grid point(s) left running by a stopped process")
    grid_ids = {g[0]: i for i, g in enumerate(getattr(sampler, "_all_grids", []))}
    _attach_grid_ids(study, space, grid_ids)

    trained = 0
    total = len(points)

    def objective(trial: optuna.trial.Trial) -> float:
        nonlocal trained
        label = trial.suggest_categorical("point", labels)
        point = by_label[label]
        trial.set_user_attr("worker", WORKER)
        for name in ("alpha", "beta", "gamma", "product", "macs", "params", "acts", "mac_ratio"):
            trial.set_user_attr(name, getattr(point, name))
        trial.set_user_attr("spec", point.spec.text())
        if label in _point_states(study)[0] or _running_earlier(study, label, trial.number):
            # GridSampler hands out running points when none is left, and two workers can draw the same
            # point at once: the earlier trial trains it, this one steps aside.
            trial.set_user_attr("duplicate", True)
            raise optuna.TrialPruned(f"point {label} is finished or running in another worker")
        start = time.perf_counter()
        record, reused = fidelity.fit(point.spec, {"stage": "grid", "base": key, "study": study_name,
                                                   "trial": trial.number, "alpha": point.alpha, "beta": point.beta,
                                                   "gamma": point.gamma, "phi": 1.0})
        trained += not reused
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

    def stop_when_done(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        done, pending = _point_states(study)
        if len(done) == total or (len(done) + len(pending) >= total and not _waiting(study)):
            study.stop()

    callbacks = [stop_when_done] + ([lambda s, t: on_trial(t)] if on_trial else [])
    stalled = 0
    announced = False
    while True:
        done, pending = _point_states(study)
        if len(done) == total:
            break
        missing = [lab for lab in labels if lab not in done and lab not in pending]
        retry = [lab for lab in missing if _tried(study, lab)]
        for lab in retry:  # failed before (interrupted): GridSampler counts them visited, so queue them
            _enqueue(study, lab, grid_ids, space)
        todo = len(missing) - len(retry) + len(_waiting(study))
        if todo:
            before = len(done)
            study.optimize(objective, n_trials=todo, catch=(), callbacks=callbacks)
            stalled = 0 if len(_point_states(study)[0]) > before else stalled + 1
            if stalled >= 3:
                break
            continue
        # Nothing left to start: the last points train in other workers. Wait for them, so that every
        # worker reports the whole grid's winner; a dead worker's point is failed by its heartbeat (or
        # PID) and queued again, and then trained here.
        if not announced:
            log(f"waiting for {len(pending)} grid point(s) training in other workers")
            announced = True
        time.sleep(GRID_POLL_S)
        reap(study)

    done, pending = _point_states(study)
    rows = []
    for p in points:
        t = done.get(p.label)
        rows.append({"alpha": p.alpha, "beta": p.beta, "gamma": p.gamma, "product": p.product,
                     "val_acc": t.user_attrs.get("val_acc") if t is not None else None,
                     "macs": p.macs, "params": p.params, "acts": p.acts, "mac_ratio": p.mac_ratio,
                     "resolution": p.spec.resolution, "label": p.label, "aliases": list(p.aliases),
                     "trial": t.number if t is not None else None,
                     "state": "done" if t is not None else ("running" if p.label in pending else "missing")})
    finished = [r for r in rows if r["val_acc"] is not None]
    winner = max(finished, key=lambda r: (r["val_acc"], -abs(r["product"] - 2)), default=None)
    return GridResult(study_name, mask_url(storage_url), rows, winner, len(done) == total, trained, recovered)


def _point_states(study: Any) -> tuple[dict[str, Any], set[str]]:
    """(finished trial per point label, labels waiting or running) of a grid study."""
    import optuna

    TS = optuna.trial.TrialState
    done: dict[str, Any] = {}
    pending: set[str] = set()
    for t in study.get_trials(deepcopy=False):
        label = t.params.get("point") or t.system_attrs.get("fixed_params", {}).get("point")
        if label is None:
            continue
        if t.state == TS.COMPLETE or (t.state == TS.PRUNED and t.user_attrs.get("diverged")):
            done.setdefault(label, t)
        elif t.state in (TS.RUNNING, TS.WAITING):
            pending.add(label)
    return done, pending - set(done)


def _running_earlier(study: Any, label: str, number: int) -> bool:
    """Whether a trial numbered below ``number`` is training point ``label``."""
    import optuna

    return any(t.number < number and t.params.get("point") == label
               for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)))


def _waiting(study: Any) -> list[Any]:
    import optuna

    return study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.WAITING,))


def _tried(study: Any, label: str) -> bool:
    return any(t.params.get("point") == label or t.system_attrs.get("fixed_params", {}).get("point") == label
               for t in study.get_trials(deepcopy=False))


def _enqueue(study: Any, label: str, grid_ids: dict[str, int], space: dict) -> None:
    """Queue ``label`` again, with the grid id GridSampler needs when it finishes."""
    import optuna

    system = {"fixed_params": {"point": label}, "search_space": space}
    if label in grid_ids:
        system["grid_id"] = grid_ids[label]
    study.add_trial(optuna.trial.create_trial(state=optuna.trial.TrialState.WAITING, system_attrs=system,
                                              user_attrs={"retry": True}))


def _attach_grid_ids(study: Any, space: dict, grid_ids: dict[str, int]) -> None:
    """Give waiting trials queued elsewhere (a dead worker's retry) the grid id GridSampler expects."""
    for t in _waiting(study):
        label = t.system_attrs.get("fixed_params", {}).get("point")
        if label in grid_ids and "grid_id" not in t.system_attrs:
            study._storage.set_trial_system_attr(t._trial_id, "grid_id", grid_ids[label])
            study._storage.set_trial_system_attr(t._trial_id, "search_space", space)


# --- matched-MACs comparison and scaling laws ------------------------------------------------


def solve_ratio(make: Callable[[float], Spec], macs: Callable[[Spec], int], target: float, lo: float = 1.0,
                hi: float = 2.0, integer: bool = False, iters: int = 60) -> tuple[float, Spec, int]:
    """The multiplier x whose Spec ``make(x)`` counts closest to ``target`` MACs (bisection).

    MACs grow in steps with x (channels and repeats round), so bisection brackets the step where the
    count crosses the target and the closer side (in log ratio) wins. ``hi`` doubles until it reaches
    the target.
    """
    cache: dict[float, tuple[Spec, int]] = {}

    def at(x: float) -> tuple[Spec, int]:
        if x not in cache:
            spec = make(x)
            cache[x] = (spec, macs(spec))
        return cache[x]

    for _ in range(24):
        if at(hi)[1] >= target:
            break
        lo, hi = hi, hi * 2
        if integer:
            hi = math.ceil(hi)
    else:
        raise ScalerError(f"no multiplier up to {hi:g} reaches {target:,.0f} MACs")
    if at(lo)[1] >= target:
        x = lo
    else:
        for _ in range(iters):
            if (hi - lo <= 1) if integer else (hi - lo <= 1e-6 * hi):
                break
            mid = (lo + hi) // 2 if integer else (lo + hi) / 2
            if at(mid)[1] >= target:
                hi = mid
            else:
                lo = mid
        x = min((lo, hi), key=lambda v: (abs(math.log(at(v)[1] / target)), v))
        if not integer:  # a shorter number for the same network
            for digits in range(2, 8):
                short = round(x, digits)
                if short > 0 and network_identity(at(short)[0]) == network_identity(at(x)[0]):
                    x = short
                    break
    spec, m = at(x)
    return x, spec, m


def strategy_spec(strategy: str, base_fid: Spec, ratio: float, coefficients: Coefficients | None,
                  macs: Callable[[Spec], int], key: str) -> tuple[dict, Spec, int]:
    """The base at fidelity scaled by one strategy to ``ratio`` times its MACs: (multipliers, Spec, MACs)."""
    target = ratio * macs(base_fid)
    name = f"{key}-{strategy}-{ratio:g}x"
    res0 = base_fid.resolution
    if strategy == "depth":
        x, spec, m = solve_ratio(lambda d: grow(base_fid, depth=d, name=name), macs, target, 1.0, ratio)
        return {"depth": x, "width": 1.0, "resolution": 1.0}, spec, m
    if strategy == "width":
        x, spec, m = solve_ratio(lambda w: grow(base_fid, width=w, name=name), macs, target, 1.0, math.sqrt(ratio))
        return {"depth": 1.0, "width": x, "resolution": 1.0}, spec, m
    if strategy == "resolution":
        x, spec, m = solve_ratio(lambda r: dataclasses.replace(base_fid, resolution=int(r), name=name), macs,
                                 target, res0, math.ceil(res0 * math.sqrt(ratio)), integer=True)
        return {"depth": 1.0, "width": 1.0, "resolution": spec.resolution / res0}, spec, m
    if strategy == "compound":
        if coefficients is None:
            raise ScalerError("compound scaling needs coefficients")
        x, spec, m = solve_ratio(lambda phi: at_phi(base_fid, coefficients, phi, name), macs, target, 0.0,
                                 max(1.0, math.log(ratio) / math.log(coefficients.product)))
        d, w, r = coefficients.multipliers(x)
        return {"depth": d, "width": w, "resolution": spec.resolution / res0, "phi": x}, spec, m
    raise ScalerError(f"unknown strategy {strategy!r}; use one of {', '.join(STRATEGIES)}")


def paper_table() -> list[dict]:
    """The paper's Tables 3 and 7 (single-dimension vs compound scaling), from the reference CSV."""
    from scaler.zoo import REFERENCE_DIR

    with open(REFERENCE_DIR / "scaling_tables.csv", newline="") as f:
        return [dict(row) for row in csv.DictReader(f)]


def run_compare(base_fid: Spec, coefficients: Coefficients, fidelity: Fidelity, ratios: Sequence[float], key: str,
                bootstrap: int = 200, seed: int = 0) -> dict:
    """Train the base and each strategy at each MAC ratio, fit the laws, predict the next rungs."""
    log = fidelity.log
    m0 = fidelity.count(base_fid).macs
    plan: list[tuple[str, float, dict, Spec, int]] = [("baseline", 1.0, {"depth": 1.0, "width": 1.0, "resolution": 1.0},
                                                       dataclasses.replace(base_fid, name=f"{key}-baseline"), m0)]
    for strategy in STRATEGIES:
        for ratio in ratios:
            mult, spec, m = strategy_spec(strategy, base_fid, ratio, coefficients, lambda s: fidelity.count(s).macs, key)
            plan.append((strategy, ratio, mult, spec, m))
    order = sorted(range(len(plan)), key=lambda i: (plan[i][3].resolution != fidelity.resolution, plan[i][3].resolution, i))
    rows: list[dict | None] = [None] * len(plan)
    for n, i in enumerate(order, 1):
        strategy, ratio, mult, spec, m = plan[i]
        start = time.perf_counter()
        record, reused = fidelity.fit(spec, {"stage": "compare", "base": key, "strategy": strategy, "mac_ratio": ratio,
                                             **({"phi": mult["phi"]} if "phi" in mult else {})})
        acc = record.get("val_acc")
        log(f"compare {n}/{len(plan)} {strategy} {ratio:g}x (d={mult['depth']:.3g} w={mult['width']:.3g} "
            f"r={spec.resolution} px, {m / m0:.2f}x MACs): "
            + (f"val acc {acc:.4f}" if acc is not None else "diverged")
            + (" (reused an earlier run)" if reused else f" in {time.perf_counter() - start:.0f} s"))
        cx = fidelity.count(spec)
        rows[i] = {"strategy": strategy, "mac_ratio": ratio, "macs": m, "achieved_ratio": m / m0,
                   "depth": mult["depth"], "width": mult["width"], "resolution": mult["resolution"],
                   "resolution_px": spec.resolution, "phi": mult.get("phi"), "params": cx.params, "name": spec.name,
                   "val_acc": acc, "train_time_s": record.get("train_time_s"), "reused": reused}
    table = [r for r in rows if r is not None]
    n_val = len(fidelity.data.base.x_val)
    fits: dict[str, dict] = {}
    laws: dict[str, PowerLaw] = {}
    base_row = table[0]
    for strategy in STRATEGIES:
        pts = [r for r in [base_row, *[r for r in table if r["strategy"] == strategy]] if r["val_acc"] is not None]
        if len(pts) < 3:
            continue
        law = fit_power_law([r["macs"] for r in pts], [1 - r["val_acc"] for r in pts], n_val=n_val,
                            bootstrap=bootstrap, seed=seed, m0=m0)
        laws[strategy] = law
        fits[strategy] = law.as_dict()
    matched = []  # each law read at exactly the requested ratios: fair where rounding missed the target
    for ratio in ratios:
        for strategy, law in laws.items():
            lo_err, hi_err = law.band([ratio * m0])
            matched.append({"strategy": strategy, "mac_ratio": ratio, "macs": ratio * m0,
                            "val_acc": float(1 - law.predict([ratio * m0])[0]),
                            "val_acc_lo": float(1 - hi_err[0]), "val_acc_hi": float(1 - lo_err[0])})
    top = max(ratios)
    predictions = []
    for k, mult in enumerate((2.0, 4.0), 1):
        ratio = top * mult
        macs = ratio * m0
        for strategy, law in laws.items():
            lo_err, hi_err = law.band([macs])
            predictions.append({"strategy": strategy, "mac_ratio": ratio, "macs": macs,
                                "phi": math.log(ratio) / math.log(coefficients.product),
                                "val_acc": float(1 - law.predict([macs])[0]),
                                "val_acc_lo": float(1 - hi_err[0]), "val_acc_hi": float(1 - lo_err[0])})
    return {"rows": table, "fits": fits, "matched": matched, "predictions": predictions, "base_macs": m0,
            "paper": [r for r in paper_table() if r["table"] == "7"]}


# --- the command -----------------------------------------------------------------------------


def run_scale(cfg: ScaleConfig, data_cfg: DataConfig, train_cfg: TrainConfig, results: str | Path | None = None,
              log: Callable[[str], None] = print, on_trial: Callable[[Any], None] | None = None) -> dict:
    """``scaler scale``: coefficients (stored, given, the paper's or a grid search), the Spec at phi, the
    ladder, optionally training and the matched-MACs comparison. Returns the JSON-able report."""
    from scaler.results import default_storage, results_root, write_json, write_text

    started = time.perf_counter()
    storage_url = cfg.storage or default_storage(results)
    base = resolve_base(cfg.base, results, cfg.storage)
    base = dataclasses.replace(base, spec=dataclasses.replace(base.spec, depth_round=cfg.depth_round))
    out = results_root(results) / "scale" / base.key
    coefficients, why = choose_coefficients(cfg, base, out)
    needs_data = coefficients is None or cfg.train or cfg.compare
    report: dict[str, Any] = {
        "base": {"name": base.spec.name, "key": base.key, "source": base.source, "how": base.how, "path": base.path,
                 "resolution": base.spec.resolution},
        "grid": None, "model": None, "compare": None, "out_dir": str(out),
    }
    fidelity = None
    base_fid = None
    if needs_data:
        if data_cfg.resolution is None and base.search_resolution:
            data_cfg = dataclasses.replace(data_cfg, resolution=int(base.search_resolution))
        width = cfg.width or base.search_width or DEFAULT_PROXY_WIDTH
        fidelity = Fidelity(width, DataCache(data_cfg), train_cfg, results, log)
        base_fid = fidelity.base(base.spec)
        report["fidelity"] = fidelity.describe()
    grid_rows = None
    if coefficients is None:
        assert fidelity is not None and base_fid is not None
        gs = cfg.grid_settings()
        points = grid_candidates(base_fid, gs["step"], gs["ranges"], gs["tol"], gs["macs_tol"], fidelity.in_channels,
                                 fidelity.num_classes, base.key)
        study = cfg.study or f"scale-{base.key}"
        log(f"grid search at phi=1 for {base.key}: {len(points)} distinct networks with |alpha*beta^2*gamma^2 - 2| "
            f"<= {gs['tol']:g} and MACs within {gs['macs_tol']:.1%} of 2x, study {study}")
        grid = run_grid(points, base_fid, fidelity, study, storage_url, base.key, on_trial)
        grid_rows = grid.rows
        report["grid"] = {**dataclasses.asdict(grid), "settings": {**gs, "ranges": [list(r) for r in gs["ranges"]]}}
        if grid.winner is None:
            raise RunFailedError(f"the grid study {study!r} has no finished point yet (others may still be running)")
        w = grid.winner
        coefficients = Coefficients(w["alpha"], w["beta"], w["gamma"], "grid", {
            "base": base.key, "val_acc": w["val_acc"], "mac_ratio": w["mac_ratio"], "study": grid.study,
            "storage": grid.storage, "complete": grid.complete, "points": len(grid.rows),
            "depth_round": cfg.depth_round,
            "fidelity": fidelity.describe() if fidelity else None})
        why = "the grid winner" + ("" if grid.complete else " so far (points still running in other workers)")
    assert coefficients is not None
    report["coefficients"] = {**coefficients.as_dict(), "why": why}

    # Generation: the ladder (always, it only counts), the Spec at --phi.
    phis = list(range(1, 8)) + ([cfg.phi] if cfg.phi is not None else [])
    rows = ladder(base.spec, coefficients, phis, base.key)
    if cfg.phi is not None:
        model = next(r for r in rows if r["label"] == "derived" and r["phi"] == float(cfg.phi))
        report["model"] = model
    if cfg.train:
        assert fidelity is not None and base_fid is not None
        chosen = rows if cfg.ladder else [r for r in rows if r["label"] == "base" or r is report["model"]]
        for r in chosen:
            pub = next((p for p in published_coefficients() if r["name"].endswith(f"-published-{p['suffix']}")), None)
            res_mult = r["resolution"] / base.spec.resolution
            spec = grow(base_fid, r["depth"], r["width"], res_mult, name=r["name"],
                        dropout=pub["dropout"] if pub else None, depth_round="ceil" if pub else None)
            start = time.perf_counter()
            record, reused = fidelity.fit(spec, {"stage": "train", "base": base.key, "phi": r["phi"],
                                                 "ladder": r["label"]}, save_weights=True)
            r.update(val_acc=record.get("val_acc"), fidelity_macs=fidelity.count(spec).macs,
                     fidelity_resolution=spec.resolution, run=record.get("path"))
            log(f"trained {r['name']} at {spec.resolution} px: val acc "
                + (f"{r['val_acc']:.4f}" if r["val_acc"] is not None else "- (diverged)")
                + (" (reused an earlier run)" if reused else f" in {time.perf_counter() - start:.0f} s"))
    if cfg.compare:
        assert fidelity is not None and base_fid is not None
        report["compare"] = run_compare(base_fid, coefficients, fidelity, cfg.ratios, base.key, cfg.bootstrap, cfg.seed)

    # Everything is known: write the files (each atomically).
    for r in rows:
        r["path"] = str(write_text(out / "models" / f"{r['name']}.arch", r["spec"].text()))
    write_text(out / "ladder.csv", _csv(rows, LADDER_COLUMNS))
    if grid_rows is not None:
        write_text(out / "grid.csv", _csv(grid_rows, GRID_COLUMNS))
    stored = load_coefficients(out)
    if coefficients.source == "grid" or stored is None:
        write_json(out / "coefficients.json", coefficients.as_dict())
    if report["compare"] is not None:
        cmp = report["compare"]
        write_text(out / "compare.csv", _csv(cmp["rows"], COMPARE_COLUMNS))
        write_json(out / "fits.json", cmp["fits"])
        write_json(out / "compare.json", {k: v for k, v in cmp.items() if k != "paper"})
    report["ladder"] = [{k: v for k, v in r.items() if k != "spec"} for r in rows]
    if report["model"] is not None:
        report["model"] = {k: v for k, v in report["model"].items() if k != "spec"}
        report["model"]["dsl"] = next(r["spec"] for r in rows if r["name"] == report["model"]["name"]).text()
    report["elapsed_s"] = time.perf_counter() - started
    write_json(out / "summary.json", report)
    return report


def _csv(rows: Sequence[dict], columns: Sequence[str]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for r in rows:
        writer.writerow(["" if r.get(c) is None else r.get(c) for c in columns])
    return buf.getvalue()
