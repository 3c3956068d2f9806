"""``scaler scale`` step by step: the base, its coefficients (a grid search when needed), the ladder,
training, the matched-MACs comparison, the files under ``results/scale/<base>/`` and the report."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from scaler.data import DataConfig
from scaler.dsl import Spec, TrainedFor
from scaler.errors import RunFailedError
from scaler.results import schema
from scaler.scaling.base import Base, resolve_base
from scaler.scaling.cells import Fidelity
from scaler.scaling.coefficients import Coefficients, choose_coefficients, load_coefficients
from scaler.scaling.compare import run_compare
from scaler.scaling.config import DEFAULT_PROXY_WIDTH, ScaleConfig
from scaler.scaling.grid import GridPoint, confirm_top, grid_candidates, run_grid
from scaler.scaling.growth import grow, ladder, published_coefficients
from scaler.strides import strides_changed
from scaler.training.convergence import convergence, format_convergence
from scaler.training.fidelity import check_base_resolution
from scaler.training.store import DataCache
from scaler.training.trainer import TrainConfig


def run_scale(cfg: ScaleConfig, data_cfg: DataConfig, train_cfg: TrainConfig, results: str | Path | None = None,
              log: Callable[[str], None] = print, on_trial: Callable[[Any], None] | None = None) -> dict:
    """``scaler scale``: coefficients (stored, given, the paper's or a grid search), the Spec at phi, the
    ladder, optionally training and the matched-MACs comparison. Returns the JSON-able report."""
    from scaler.results import default_storage, results_root, write_json

    started = time.perf_counter()
    base = scale_base(cfg, results)
    out = results_root(results) / schema.SCALE / base.key
    coefficients, why = choose_coefficients(cfg, base, out)
    fidelity = base_fid = None
    changed: list[str] = []
    points = None
    if coefficients is None or cfg.train or cfg.compare or cfg.check_budget:
        fidelity = make_fidelity(cfg, base, data_cfg, train_cfg, results, log)
        base_fid = fidelity.base(base.spec)
        if coefficients is None:  # bad grid settings are refused before anything is logged
            points = grid_points(cfg, base, base_fid, fidelity)
        changed = strides_changed(base_fid, fidelity.trained(base_fid))
        if changed:
            log(f"strides adapted to {base_fid.resolution} px (last feature map >= {cfg.min_feature} px): "
                f"{', '.join(changed)}" + (", kept by every model grown from it" if cfg.strides == "adapt" else "")
                + "; --strides as-written trains the models as written")
    grid = None
    if coefficients is None:
        assert fidelity is not None and base_fid is not None and points is not None
        coefficients, why, grid = search_coefficients(cfg, base, base_fid, points, fidelity,
                                                      cfg.storage or default_storage(results), on_trial)

    rows = ladder(base.spec, coefficients, list(range(1, 8)) + ([cfg.phi] if cfg.phi is not None else []), base.key)
    if cfg.train:
        assert fidelity is not None and base_fid is not None
        trained = train_rungs([r for r in rows if cfg.ladder or r["label"] == "base" or _at_phi(r, cfg.phi)],
                              base, base_fid, fidelity)
        rows = [{**r, **trained.get(r["name"], {})} for r in rows]
    compare = None
    if cfg.compare:
        assert fidelity is not None and base_fid is not None
        compare = run_compare(base_fid, coefficients, fidelity, cfg.ratios, base.key, cfg.bootstrap, cfg.seed)
    budget_check = None
    if cfg.check_budget:
        assert fidelity is not None and base_fid is not None
        budget_check = check_budget(fidelity, base_fid, base.key)

    trained_for = None if fidelity is None else TrainedFor(fidelity.data.base.name, fidelity.num_classes,
                                                           fidelity.in_channels)
    paths = write_results(out, rows, grid, coefficients, compare, trained_for)
    rows = [{**r, "path": paths[r["name"]]} for r in rows]
    model = next((r for r in rows if _at_phi(r, cfg.phi)), None)
    report = {
        "base": {"name": base.spec.name, "key": base.key, "source": base.source, "how": base.how, "path": base.path,
                 "resolution": base.spec.resolution},
        "grid": grid,
        "model": None if model is None else {**_without_spec(model), "dsl": model["spec"].text()},
        "compare": compare,
        **({"check_budget": budget_check} if budget_check is not None else {}),
        "out_dir": str(out),
        **({"fidelity": {**fidelity.describe(), "seeds": fidelity.seed_values, "strides_changed": changed,
                         "native_resolution": fidelity.native}}
           if fidelity is not None else {}),
        "coefficients": {**coefficients.as_dict(), "why": why},
        "ladder": [_without_spec(r) for r in rows],
        "elapsed_s": time.perf_counter() - started,
    }
    write_json(out / schema.SCALE_SUMMARY, report)
    return report


def scale_base(cfg: ScaleConfig, results: str | Path | None) -> Base:
    """The base ``--base`` names, with the call's rule for rounding repeats."""
    base = resolve_base(cfg.base, results, cfg.storage)
    return dataclasses.replace(base, spec=dataclasses.replace(base.spec, depth_round=cfg.depth_round))


def make_fidelity(cfg: ScaleConfig, base: Base, data_cfg: DataConfig, train_cfg: TrainConfig,
                  results: str | Path | None, log: Callable[[str], None]) -> Fidelity:
    """How models are trained: --width, else the search's proxy width, else the default; the data at the
    base resolution given (``check_base_resolution``: not above the data's native one), else at the
    search's; what trains above the native resolution is marked upsampled."""
    from scaler.data import native_resolution
    from scaler.training.parallel import default_jobs

    native = native_resolution(data_cfg)
    check_base_resolution(data_cfg.resolution, native, data_cfg.name)
    if data_cfg.resolution is None and base.search_resolution:
        data_cfg = dataclasses.replace(data_cfg, resolution=int(base.search_resolution))
    width = cfg.width or base.search_width or DEFAULT_PROXY_WIDTH
    return Fidelity(width, DataCache(data_cfg), train_cfg, results, log, cfg.strides, cfg.min_feature, cfg.seeds,
                    cfg.jobs or default_jobs(train_cfg.device), native)


def check_budget(fidelity: Fidelity, base_fid: Spec, key: str) -> dict:
    """The base at fidelity (seed ``--seed``) trained at the fidelity's epochs and at twice them, each
    through the store (``scaler.training.convergence``), logged: is the budget converged?"""
    training = fidelity.training(base_fid, {"stage": "check-budget", "base": key})
    check = convergence(fidelity.store, training, fidelity.data.load, fidelity.log)
    fidelity.log(format_convergence(check))
    return check


def grid_points(cfg: ScaleConfig, base: Base, base_fid: Spec, fidelity: Fidelity) -> list[GridPoint]:
    """The grid's points at the call's settings (a ScalerError when none is kept)."""
    gs = cfg.grid_settings()
    return grid_candidates(base_fid, gs["step"], gs["ranges"], gs["tol"], gs["macs_tol"], fidelity.in_channels,
                           fidelity.num_classes, base.key)


def search_coefficients(cfg: ScaleConfig, base: Base, base_fid: Spec, points: Sequence[GridPoint],
                        fidelity: Fidelity, storage_url: str,
                        on_trial: Callable[[Any], None] | None) -> tuple[Coefficients, str, dict]:
    """Run (or resume, or join) the grid study over ``points``: the winner's coefficients, why, and the
    grid's report. With --seeds S > 1 the best points are retrained with every seed and the winner is the
    best mean.

    Raises RunFailedError when no point has finished yet (the others may still be training elsewhere).
    """
    gs = cfg.grid_settings()
    study = cfg.study or f"scale-{base.key}"
    fidelity.log(f"grid search at phi=1 for {base.key}: {len(points)} distinct networks with "
                 f"|alpha*beta^2*gamma^2 - 2| <= {gs['tol']:g} and MACs within {gs['macs_tol']:.1%} of 2x, "
                 f"study {study}")
    grid = run_grid(points, base_fid, fidelity, study, storage_url, base.key, on_trial)
    if grid.winner is None:
        raise RunFailedError(f"the grid study {study!r} has no finished point yet (others may still be running)")
    confirmed = confirm_top(grid, points, fidelity, base.key) if fidelity.seeds > 1 else []
    w = {**grid.winner, "val_std": None, "seeds": 1}
    if confirmed:
        best = confirmed[0]
        w = {**next(r for r in grid.rows if r["label"] == best["label"]),
             **{k: best[k] for k in ("val_acc", "val_std", "seeds", "val_accs")}}
    report = {**dataclasses.asdict(grid), "winner": w, "confirmed": confirmed,
              "settings": {**gs, "ranges": [list(r) for r in gs["ranges"]]}}
    coefficients = Coefficients(w["alpha"], w["beta"], w["gamma"], "grid", {
        "base": base.key, "val_acc": w["val_acc"], "val_std": w["val_std"], "seeds": w["seeds"],
        "mac_ratio": w["mac_ratio"], "study": grid.study, "storage": grid.storage, "complete": grid.complete,
        "points": len(grid.rows), "depth_round": cfg.depth_round, "fidelity": fidelity.describe()})
    why = ("the grid winner" + (f" on the mean of {w['seeds']} seeds among the best {len(confirmed)}" if confirmed
                                else "")
           + ("" if grid.complete else " so far (points still running in other workers)"))
    return coefficients, why, report


def train_rungs(rows: Sequence[dict], base: Base, base_fid: Spec, fidelity: Fidelity) -> dict[str, dict]:
    """Train ladder rungs at fidelity (published ones with their dropout and repeats rounded up, as built),
    with the base's strides, each evaluated once on the test set too: the rungs are the models to deploy.

    Returns, by rung name, what training adds to its row: val_acc, test_acc, fidelity_macs (as written),
    trained_macs (as trained), fidelity_resolution, upsampled (above the data's native resolution), run.
    """
    published = published_coefficients()
    trained = {}
    for r in rows:
        pub = next((p for p in published if r["name"].endswith(f"-published-{p['suffix']}")), None)
        spec = grow(base_fid, r["depth"], r["width"], r["resolution"] / base.spec.resolution, name=r["name"],
                    dropout=pub["dropout"] if pub else None, depth_round="ceil" if pub else None)
        start = time.perf_counter()
        record, reused = fidelity.train_or_reuse(spec, {"stage": "train", "base": base.key, "phi": r["phi"],
                                                        "ladder": r["label"]}, save_weights=True, need_test=True)
        acc, test = record.get("val_acc"), record.get("test_acc")
        trained[r["name"]] = {"val_acc": acc, "test_acc": test, "fidelity_macs": fidelity.count(spec).macs,
                              "trained_macs": record.get("macs"), "fidelity_resolution": spec.resolution,
                              "upsampled": fidelity.upsampled(spec.resolution), "run": record.get("path")}
        fidelity.log(f"trained {r['name']} at {spec.resolution} px"
                     + (f" (upsampled from {fidelity.native} px)" if fidelity.upsampled(spec.resolution) else "")
                     + ": val acc "
                     + (f"{acc:.4f}, test acc {test:.4f}" if acc is not None and test is not None
                        else "- (diverged)")
                     + (" (reused an earlier run)" if reused else f" in {time.perf_counter() - start:.0f} s"))
    return trained


def write_results(out: Path, rows: Sequence[dict], grid: dict | None, coefficients: Coefficients,
                  compare: dict | None, trained_for: TrainedFor | None = None) -> dict[str, str]:
    """Write the models (marked with the data they were ``trained_for``, when this run trained on some),
    ladder.csv, grid.csv, coefficients.json and the comparison files under ``out`` (each atomically);
    coefficients.json only from a grid or when none is stored. Returns the model paths."""
    from scaler.results import write_json, write_text

    def text(spec: Spec) -> str:
        return spec.text() if trained_for is None else trained_for.mark(spec.text())

    paths = {r["name"]: str(write_text(out / schema.SCALE_MODELS / f"{r['name']}.arch", text(r["spec"])))
             for r in rows}
    write_text(out / schema.LADDER.file, schema.LADDER.to_csv(rows))
    if grid is not None:
        write_text(out / schema.GRID.file, schema.GRID.to_csv(grid["rows"]))
    if coefficients.source == "grid" or load_coefficients(out) is None:
        write_json(out / schema.COEFFICIENTS, coefficients.as_dict())
    if compare is not None:
        write_text(out / schema.COMPARE.file, schema.COMPARE.to_csv(compare["rows"]))
        write_json(out / schema.FITS, compare["fits"])
        write_json(out / schema.COMPARE_DETAIL, {k: v for k, v in compare.items() if k != "paper"})
    return paths


def _at_phi(row: dict, phi: float | None) -> bool:
    """Is ``row`` the derived rung at --phi?"""
    return phi is not None and row["label"] == "derived" and row["phi"] == float(phi)


def _without_spec(row: dict) -> dict:
    """A ladder row as JSON: everything but the Spec object."""
    return {k: v for k, v in row.items() if k != "spec"}


