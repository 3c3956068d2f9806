"""The text report of ``scaler scale``: what the call found, from the JSON-able report ``run_scale`` returns."""

from __future__ import annotations

import math

from scaler.report import fixed, format_comparison, format_spread, format_table, pixels, si, upsampled_note
from scaler.scaling.config import GRID_CONFIRM
from scaler.stats import binomial_halfwidth

_acc = fixed(4)


def _spread(row: dict) -> str:
    """A cell's accuracy over its seeds, ``mean ± std`` (the mean alone for one seed)."""
    return format_spread(row.get("val_acc"), row.get("val_std") if (row.get("seeds") or 1) > 1 else None)


def _versus(row: dict, key: str) -> str:
    """A cell against its reference paired by seed: the difference, its 95% interval and the verdict
    (the reference itself: its verdict, "reference")."""
    if row.get(key) is None:
        return row.get("verdict") or "-"
    return format_comparison(row[key], row.get("vs_low"), row.get("vs_high"), row.get("verdict"))


def _mult(v: object) -> str:
    """A multiplier, three significant digits."""
    return "-" if v is None else f"{v:.3g}"


def _ratio(v: object) -> str:
    """A MAC ratio such as ``1.92x``."""
    return "-" if v is None else f"{v:.2f}x"


def _upsampled(rows: list[dict], native: object) -> list[str]:
    """The legend of the upsampled mark, when a row of the table above has it."""
    return [upsampled_note(native)] if any(r.get("upsampled") for r in rows) else []


def format_report(report: dict, full_ladder: bool = False) -> str:
    """What ``scaler scale`` prints (the same facts as ``--json``)."""
    from scaler.training.convergence import format_convergence

    lines = [f"base: {report['base']['how']}"]
    fid = report.get("fidelity")
    native = fid.get("native_resolution") if fid else None
    if fid:
        seeds = fid["seeds"]
        lines.append(f"fidelity: width x{fid['width']:g}, {fid['resolution']} px"
                     + (f" (native {native} px)" if native else "")
                     + f", {fid['data']}, {fid['train_size']} "
                     f"training / {fid['val_size']} validation images, {fid['epochs']} epoch(s), "
                     + (f"seeds {seeds[0]}..{seeds[-1]}" if len(seeds) > 1 else f"seed {seeds[0]}")
                     + f"; strides {fid['strides']}"
                     + (f" (last feature map >= {fid['min_feature']} px; the base: {', '.join(fid['strides_changed'])})"
                        if fid["strides_changed"] else ""))
    if report.get("check_budget"):
        lines.append(format_convergence(report["check_budget"]))
    if report.get("grid"):
        lines += _grid_lines(report["grid"], fid["val_size"] if fid else None)
        lines += _upsampled(report["grid"]["rows"], native)
    c = report["coefficients"]
    lines.append(f"\ncoefficients: alpha={c['alpha']:g} beta={c['beta']:g} gamma={c['gamma']:g} "
                 f"(alpha*beta^2*gamma^2 = {c['product']:.3f}; {c['why']})")
    if report.get("model"):
        lines += _model_lines(report["model"], native)
    if full_ladder:
        lines += _ladder_lines(report["ladder"])
        lines += _upsampled(report["ladder"], native)
    lines.append(f"\nladder and models written to {report['out_dir']}")
    if report.get("compare"):
        lines += _compare_lines(report["compare"], native)
    return "\n".join(lines)


def _grid_lines(grid: dict, n_val: int | None) -> list[str]:
    """The grid study's points, the most accurate first, and how much of the ranking seeds confirmed."""
    return [f"\ngrid search at phi=1 (study {grid['study']}, {grid['storage']}): {len(grid['rows'])} points, "
            f"{grid['trained']} trained in this call" + ("" if grid["complete"] else ", not all finished"),
            format_table(sorted(({**r, "px": pixels(r["resolution"], r.get("upsampled"))} for r in grid["rows"]),
                                key=lambda r: -(r["val_acc"] or -1)), [
                ("label", "alpha,beta,gamma", str), ("state", "state", str),
                ("product", "a*b^2*g^2", lambda v: f"{v:.3f}"), ("mac_ratio", "MACs", _ratio),
                ("px", "px", str), ("params", "params", si), ("val_acc", "val acc", _acc)]),
            *(_confirmed_lines(grid["confirmed"]) if grid.get("confirmed") else _one_seed_lines(grid["rows"], n_val))]


def _one_seed_lines(rows: list[dict], n_val: int | None) -> list[str]:
    """What one seed per point cannot tell apart: the points inside the winner's own 95% interval."""
    accs = [r["val_acc"] for r in rows if r["val_acc"] is not None]
    if len(accs) < 2 or not n_val:
        return []
    best = max(accs)
    half = binomial_halfwidth(best, n_val)
    close = sum(best - a <= half for a in accs) - 1
    verb = "lies" if close == 1 else "lie"
    return [f"one seed per point: the winner's val acc is ±{half:.4f} on {n_val} validation images alone (95%), and "
            f"{close} of the other {len(accs) - 1} points {verb} within that; another seed moves a proxy run about as much "
            f"again (--seeds 3 retrains the best {GRID_CONFIRM} with 3 seeds and picks the winner on the mean)"]


def _confirmed_lines(confirmed: list[dict]) -> list[str]:
    """The best grid points retrained with every seed: the winner is the best mean."""
    if not confirmed:
        return []
    return [f"the best {len(confirmed)} points with {max(c['seeds'] for c in confirmed)} seeds each (the winner is "
            f"the best mean; each against it paired by seed, 95% CI):",
            format_table([{**c, "acc": _spread(c), "vs": _versus(c, "vs_winner")} for c in confirmed], [
                ("label", "alpha,beta,gamma", str), ("one_seed_acc", "one seed", _acc), ("acc", "val acc", str),
                ("vs", "vs winner", str)])]


def _model_lines(model: dict, native: object = None) -> list[str]:
    """The model at --phi: its multipliers and counts, its accuracy when trained (upsampled: above the
    data's ``native`` resolution), where it is saved."""
    trained = (f"; trained at {model['fidelity_resolution']} px"
               + (f" (upsampled from the data's native {native} px)" if model.get("upsampled") else "")
               + f": val acc {model['val_acc']:.4f}"
               + (f", test acc {model['test_acc']:.4f}" if model.get("test_acc") is not None else "")
               if model.get("val_acc") is not None else "")
    return [f"\nphi={model['phi']:g}: {model['name']}: depth x{model['depth']:.4g}, width x{model['width']:.4g}, "
            f"{model['resolution']} px: {model['params']:,} params, {si(model['macs'])} MACs, "
            f"{si(model['acts'])} activations; {model['mac_ratio']:.2f}x the base's MACs "
            f"(ideal {model['expected_ratio']:.2f}x)" + trained,
            f"saved {model['path']}"]


def _ladder_lines(rows: list[dict]) -> list[str]:
    """The whole ladder at its nominal size, with accuracies when rungs were trained."""
    trained = any("val_acc" in r for r in rows)
    return ["\nladder (nominal size, 3 input channels, 1000 classes; 'expected' is (a*b^2*g^2)^phi for "
            "derived rungs, depth*width^2*(res/224)^2 for published ones):",
            format_table([{**r, "trained_px": pixels(r.get("fidelity_resolution"), r.get("upsampled"))} for r in rows], [
                ("label", "label", str), ("name", "name", str), ("phi", "phi", lambda v: "-" if v is None else f"{v:g}"),
                ("depth", "depth", _mult), ("width", "width", _mult), ("resolution", "px", str),
                ("params", "params", si), ("macs", "MACs", si), ("acts", "acts", si),
                ("mac_ratio", "MAC ratio", _ratio), ("expected_ratio", "expected", _ratio),
                *([("trained_px", "trained px", str), ("val_acc", "val acc", _acc), ("test_acc", "test acc", _acc)]
                  if trained else [])])]


def _acts_lines(rows: list[dict]) -> list[str]:
    """Per strategy, how its activations (as trained) grew over the base's at each MAC ratio, next to
    d * w * r^2, what its multipliers alone give (dWr's point: about s^0.6, compound's more)."""
    rows = [r for r in rows if r["strategy"] != "baseline" and r.get("acts_ratio") is not None]
    if not rows:
        return []
    lines = ["activations (output elements, as trained) over the base's at each MAC ratio "
             "(d*w*r^2 of the multipliers in brackets):"]
    for strategy in dict.fromkeys(r["strategy"] for r in rows):
        lines.append(f"  {strategy:<10} " + ", ".join(
            f"{r['mac_ratio']:g}x MACs: {r['acts_ratio']:.2f}x acts "
            f"({r['depth'] * r['width'] * r['resolution'] ** 2:.2f}x)" for r in rows if r["strategy"] == strategy))
    return lines


def _compare_lines(cmp: dict, native: object = None) -> list[str]:
    """The matched-MACs table (upsampled cells marked: above the data's ``native`` resolution), the best
    strategy per ratio, the fitted laws and their predictions."""
    seeds = cmp.get("seeds", 1)
    lines = ["\nsingle-dimension vs compound (and dWr) scaling at matched MACs (like the paper's Tables 3 and 7), "
             + (f"mean ± std over {seeds} seeds, each against compound at its ratio paired by seed (95% CI):"
                if seeds > 1 else "one seed (--seeds S gives spreads and verdicts):"),
             format_table([{**r, "acc": _spread(r), "vs": _versus(r, "vs_compound"),
                            "px": pixels(r.get("resolution_px"), r.get("upsampled"))} for r in cmp["rows"]], [
                 ("strategy", "scaling", str), ("name", "model", str), ("mac_ratio", "target", _ratio),
                 ("achieved_ratio", "MACs", _ratio), ("depth", "d", _mult), ("width", "w", _mult),
                 ("resolution", "r", _mult), ("px", "px", str), ("params", "params", si), ("acts", "acts", si),
                 ("acc", "val acc", str), ("vs", "vs compound", str)]), *_upsampled(cmp["rows"], native)]
    lines += _acts_lines(cmp["rows"])
    off = [r for r in cmp["rows"] if abs(math.log(r["achieved_ratio"] / r["mac_ratio"])) > math.log(1.1)]
    if off:
        lines.append("  rounding (repeats, channels, stride-2 feature maps) kept these off their target: " + ", ".join(
            f"{r['strategy']} {r['mac_ratio']:g}x -> {r['achieved_ratio']:.2f}x" for r in off)
            + "; the fitted laws below compare the strategies at exactly matched MACs")
    for ratio in sorted({r["mac_ratio"] for r in cmp["rows"] if r["strategy"] != "baseline"}):
        trained = [r for r in cmp["rows"] if r["mac_ratio"] == ratio and r["val_acc"] is not None]
        fitted = [m for m in cmp.get("matched", []) if m["mac_ratio"] == ratio]
        parts = []
        if trained:
            best = max(trained, key=lambda r: r["val_acc"])
            parts.append(f"trained: {best['strategy']} {best['val_acc']:.4f}")
        if fitted:
            parts.append("fitted: " + ", ".join(f"{f['strategy']} {f['val_acc']:.4f}" for f in
                                                sorted(fitted, key=lambda f: -f["val_acc"])))
        lines.append(f"  best at {ratio:g}x MACs: " + "; ".join(parts))
    if cmp["fits"]:
        lines.append(f"\nfits error = a * (MACs / {si(cmp['base_macs'])})^-b + c to the means, MACs relative to "
                     f"the base (± bootstrap spread; each point redrawn with its noise, in brackets):")
        for s, f in cmp["fits"].items():
            if f["a"] == 0:  # the least-squares law is flat: a alone is not identified
                lines.append(f"  {s:<10} flat: the error does not fall with MACs here (c={f['c']:.4f}"
                             f"±{f['c_std']:.2g}, the mean error)  [{f['noise']}]")
                continue
            lines.append(f"  {s:<10} a={f['a']:.4f}±{f['a_std']:.2g}  b={f['b']:.3f}±{f['b_std']:.2g}  "
                         f"c={f['c']:.4f}±{f['c_std']:.2g}  [{f['noise']}]")
        lines.append("predicted val acc at the next rungs (5-95% band):")
        for p in cmp["predictions"]:
            lines.append(f"  {p['strategy']:<10} {p['mac_ratio']:g}x ({si(p['macs'])} MACs, phi~{p['phi']:.1f}): "
                         f"{p['val_acc']:.4f} [{p['val_acc_lo']:.4f}, {p['val_acc_hi']:.4f}]")
    paper = cmp.get("paper") or []
    if paper:
        lines.append("the paper on ImageNet (Table 7, EfficientNet-B0, ~4x MACs): " + ", ".join(
            f"{r['scaling']} {r['top1']}%" for r in paper))
    return lines
