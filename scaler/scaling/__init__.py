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
import io
import time
from pathlib import Path
from typing import Any, Callable, Sequence

from scaler.data import DataConfig
from scaler.errors import RunFailedError
from scaler.scaling.base import resolve_base
from scaler.scaling.coefficients import Coefficients, choose_coefficients, load_coefficients
from scaler.scaling.compare import run_compare, solve_ratio, strategy_spec
from scaler.scaling.config import (COMPARE_COLUMNS, DEFAULT_PROXY_WIDTH, GRID_COLUMNS, LADDER_COLUMNS, STRATEGIES,
                                   ScaleConfig)
from scaler.scaling.fidelity import DataCache, Fidelity
from scaler.scaling.grid import grid_candidates, run_grid
from scaler.scaling.grow import at_phi, grow, ladder, network_identity, published_coefficients, published_spec
from scaler.scaling.laws import fit_power_law
from scaler.scaling.report import format_report
from scaler.training.trainer import TrainConfig


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
            record, reused = fidelity.train_or_reuse(spec, {"stage": "train", "base": base.key, "phi": r["phi"],
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
