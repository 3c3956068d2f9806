"""Single-dimension vs compound scaling at matched MACs (the paper's Tables 3 and 7, on the user's data).

At each MAC ratio (2x, 4x, 8x by default) the base at fidelity is scaled by depth only, width only,
resolution only (each multiplier found by bisection on the counted MACs of the model as trained),
compound (phi found likewise) and dWr, the fast compound scaling of Dollar et al. (its growth s found
likewise); each is trained with the base's strides and every seed, counted (MACs and activations as
trained), compared with compound at the same ratio paired by seed, a power law is fitted per strategy
to the means and read at exactly the requested ratios and at the next rungs.
"""

from __future__ import annotations

import csv
import dataclasses
import math
import time
from collections.abc import Callable, Sequence
from typing import NamedTuple

from scaler.dsl import Spec
from scaler.errors import ScalerError
from scaler.results.schema import STRATEGIES
from scaler.scaling.cells import Fidelity, paired, seed_summary
from scaler.scaling.coefficients import Coefficients
from scaler.scaling.config import drop_float_noise
from scaler.scaling.growth import at_phi, grow
from scaler.scaling.laws import PowerLaw, fit_power_law
from scaler.stats import Spread
from scaler.training.config import network_identity

DWR_EXPONENTS = {"depth": 0.1, "width": 0.4, "resolution": 0.05}
"""The fast compound scaling dWr of Dollar, Singh and Girshick, "Fast and Accurate Model Scaling" (CVPR 2021;
pycls's model scaler, alpha = 0.8): for a MACs growth s, depth times s^0.1, width s^0.4 and resolution s^0.05,
a 0.1 / 0.8 / 0.1 share of the MACs (d * w^2 * r^2 = s). Activations (d * w * r^2) then grow about s^0.6,
near width-only scaling's s^0.5 and well under compound's (EfficientNet's 1.2, 1.1, 1.15: s^0.85)."""


def dwr_multipliers(s: float) -> tuple[float, float, float]:
    """(depth, width, resolution) multipliers of dWr for a MACs growth ``s`` (``DWR_EXPONENTS``)."""
    e = DWR_EXPONENTS
    return (drop_float_noise(s ** e["depth"]), drop_float_noise(s ** e["width"]),
            drop_float_noise(s ** e["resolution"]))


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
    if strategy == "dwr":
        x, spec, m = solve_ratio(lambda s: grow(base_fid, *dwr_multipliers(s), name=name), macs, target, 1.0, ratio)
        d, w, _ = dwr_multipliers(x)
        return {"depth": d, "width": w, "resolution": spec.resolution / res0, "s": x}, spec, m
    raise ScalerError(f"unknown strategy {strategy!r}; use one of {', '.join(STRATEGIES)}")


def paper_table() -> list[dict]:
    """The paper's Tables 3 and 7 (single-dimension vs compound scaling), from the reference CSV."""
    from scaler.zoo import REFERENCE_DIR

    with open(REFERENCE_DIR / "scaling_tables.csv", newline="") as f:
        return [dict(row) for row in csv.DictReader(f)]


class Planned(NamedTuple):
    """One model of the comparison: its strategy, target MAC ratio, multipliers, Spec and counted MACs."""

    strategy: str
    ratio: float
    mult: dict
    spec: Spec
    macs: int


def compare_plan(base_fid: Spec, coefficients: Coefficients, fidelity: Fidelity, ratios: Sequence[float],
                 key: str) -> list[Planned]:
    """The baseline, then every strategy at every ratio, matched on the MACs of the models as trained
    (with the family's strides; under ``--strides adapt-each`` B0 grown to 33 px, counted as written "2x",
    would train at half the cost of the 28 px base, whose stem the stride rule keeps at stride 1)."""
    m0 = fidelity.trained_macs(base_fid)
    plan = [Planned("baseline", 1.0, {"depth": 1.0, "width": 1.0, "resolution": 1.0},
                    dataclasses.replace(base_fid, name=f"{key}-baseline"), m0)]
    for strategy in STRATEGIES:
        for ratio in ratios:
            mult, spec, m = strategy_spec(strategy, base_fid, ratio, coefficients, fidelity.trained_macs, key)
            plan.append(Planned(strategy, ratio, mult, spec, m))
    return plan


def train_plan(plan: Sequence[Planned], fidelity: Fidelity, key: str) -> list[dict]:
    """Train (or reuse) every planned model with every seed, those at the data's resolution first: one row
    each, in plan order, with the mean and spread over seeds and the paired comparison with compound."""
    log = fidelity.log
    m0 = plan[0].macs
    order = sorted(range(len(plan)), key=lambda i: (plan[i].spec.resolution != fidelity.resolution,
                                                    plan[i].spec.resolution, i))
    rows: list[dict | None] = [None] * len(plan)
    cells = [(plan[i].spec, {"stage": "compare", "base": key, "strategy": plan[i].strategy, "mac_ratio": plan[i].ratio,
                             **{k: plan[i].mult[k] for k in ("phi", "s") if k in plan[i].mult}}) for i in order]
    a0 = fidelity.trained_count(plan[0].spec).acts
    start = time.perf_counter()
    for n, (i, (records, trained)) in enumerate(zip(order, fidelity.train_cells(cells), strict=True), 1):
        strategy, ratio, mult, spec, m = plan[i]
        cell = seed_summary(records)
        acc = f"val acc {Spread(cell['val_acc'], cell['val_std'], cell['seeds'])}" if cell["seeds"] else "diverged"
        log(f"compare {n}/{len(plan)} {strategy} {ratio:g}x (d={mult['depth']:.3g} w={mult['width']:.3g} "
            f"r={spec.resolution} px, {m / m0:.2f}x MACs): {acc} over {len(records)} seed(s)"
            + (" (reused earlier runs)" if not trained else f" at {time.perf_counter() - start:.0f} s"))
        cx = fidelity.trained_count(spec)
        rows[i] = {"strategy": strategy, "mac_ratio": ratio, "macs": m, "achieved_ratio": m / m0,
                   "acts": cx.acts, "acts_ratio": cx.acts / a0,
                   "depth": mult["depth"], "width": mult["width"], "resolution": mult["resolution"],
                   "resolution_px": spec.resolution, "upsampled": fidelity.upsampled(spec.resolution),
                   "phi": mult.get("phi"), "s": mult.get("s"), "params": cx.params, "name": spec.name,
                   **cell, "trained_macs": records[0].get("macs"),
                   "train_time_s": sum(r.get("train_time_s") or 0.0 for r in records), "reused": not trained}
    table = [r for r in rows if r is not None]
    compound = {r["mac_ratio"]: r["val_accs"] for r in table if r["strategy"] == "compound"}
    for r in table:
        if r["strategy"] == "compound":
            r.update({"vs_compound": None, "vs_low": None, "vs_high": None, "verdict": "reference"})
        elif r["mac_ratio"] in compound:
            r.update(paired(r["val_accs"], compound[r["mac_ratio"]], "vs_compound"))
        else:  # the baseline: no compound model at 1x
            r.update({"vs_compound": None, "vs_low": None, "vs_high": None, "verdict": None})
    return table


def fit_laws(table: Sequence[dict], m0: float, n_val: int, bootstrap: int,
             seed: int) -> dict[str, tuple[PowerLaw, str]]:
    """Per strategy with at least 3 finished points (the baseline included), its law of error vs MACs
    fitted to the means over seeds, and the noise its bootstrap redrew each point with: the seed spread
    (the standard error of the mean) when every point has two finished seeds or more, else the binomial
    noise of an accuracy on n_val images."""
    laws: dict[str, tuple[PowerLaw, str]] = {}
    base_row = table[0]
    for strategy in STRATEGIES:
        pts = [r for r in [base_row, *[r for r in table if r["strategy"] == strategy]] if r["val_acc"] is not None]
        if len(pts) < 3:
            continue
        seeded = all(r["seeds"] > 1 for r in pts)
        se = [r["val_std"] / math.sqrt(r["seeds"]) for r in pts] if seeded else None
        law = fit_power_law([r["macs"] for r in pts], [1 - r["val_acc"] for r in pts], n_val=n_val,
                            bootstrap=bootstrap, seed=seed, m0=m0, err_se=se)
        laws[strategy] = (law, "seed spread" if seeded else f"binomial ({n_val} images)")
    return laws


def _accuracy(law: PowerLaw, macs: float) -> dict:
    """The accuracy a law predicts at ``macs`` with its 5-95% band."""
    lo_err, hi_err = law.band([macs])
    return {"val_acc": float(1 - law.predict([macs])[0]), "val_acc_lo": float(1 - hi_err[0]),
            "val_acc_hi": float(1 - lo_err[0])}


def run_compare(base_fid: Spec, coefficients: Coefficients, fidelity: Fidelity, ratios: Sequence[float], key: str,
                bootstrap: int = 200, seed: int = 0) -> dict:
    """Train the base and each strategy at each MAC ratio, fit the laws, predict the next rungs."""
    plan = compare_plan(base_fid, coefficients, fidelity, ratios, key)
    m0 = plan[0].macs
    table = train_plan(plan, fidelity, key)
    fitted = fit_laws(table, m0, len(fidelity.data.base.x_val), bootstrap, seed)
    laws = {strategy: law for strategy, (law, _) in fitted.items()}
    # each law read at exactly the requested ratios: fair where rounding missed the target
    matched = [{"strategy": strategy, "mac_ratio": ratio, "macs": ratio * m0, **_accuracy(law, ratio * m0)}
               for ratio in ratios for strategy, law in laws.items()]
    predictions = [{"strategy": strategy, "mac_ratio": ratio, "macs": ratio * m0,
                    "phi": math.log(ratio) / math.log(coefficients.product), **_accuracy(law, ratio * m0)}
                   for ratio in (max(ratios) * 2.0, max(ratios) * 4.0) for strategy, law in laws.items()]
    return {"rows": table, "fits": {s: {**law.as_dict(), "noise": noise} for s, (law, noise) in fitted.items()},
            "matched": matched, "predictions": predictions, "base_macs": m0, "seeds": fidelity.seeds,
            "paper": [r for r in paper_table() if r["table"] == "7"]}
