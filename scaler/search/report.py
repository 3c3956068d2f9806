"""A search's result as text for people: the top trials, the Pareto front, the baseline against the
reference, and its confirmation with seeds or, without one, the noise of a one-seed comparison."""

from __future__ import annotations

from scaler.report import fixed, format_comparison, format_spread, format_table, plain, si
from scaler.results.schema import SEARCH_BEST
from scaler.search.summary import SearchResult
from scaler.stats import binomial_halfwidth


def search_json(result: SearchResult) -> dict:
    """What ``scaler search --json`` prints."""
    return {"study": result.study_name, "storage": result.storage, "target_macs": result.target_macs,
            "baseline": result.baseline, "reference": result.reference, "pareto": result.pareto,
            "trials": result.rows, "stats": result.stats, "confirmed": result.confirmed,
            "out_dir": str(result.out_dir)}


def format_search(result: SearchResult, pareto_metric: str, n_val: int) -> str:
    """What ``scaler search`` prints; ``n_val`` validation images size a one-seed comparison's noise."""
    columns = [("trial", "trial", plain), ("value", "objective", fixed(4)), ("val_acc", "val acc", fixed(4)),
               ("params", "params", si), ("macs", "MACs", si), ("latency_ms", "ms/img", fixed(2)),
               ("reference", "note", plain)]
    lines = [f"\nstudy {result.study_name} ({result.storage}), MACs target {si(result.target_macs)} "
             f"({result.stats['target_source']}); top trials:", format_table(result.rows[:10], columns)]
    if result.pareto:
        lines += ["\nPareto front (val acc vs " + pareto_metric + "):",
                  format_table(sorted(result.pareto, key=lambda r: r["macs"]), columns)]
    if result.baseline is None:
        return "\n".join([*lines, "\nno completed trial yet: nothing saved as a baseline"])
    b, ref = result.baseline, result.reference
    lines.append(f"\nbaseline: trial {b['trial']}, val acc {b['val_acc']:.4f}, {si(b['macs'])} MACs, "
                 f"{si(b['params'])} params")
    if ref:
        lines.append(f"reference {ref['reference']} at the same fidelity: val acc {ref['val_acc']:.4f}, "
                     f"{si(ref['macs'])} MACs -> baseline {100 * (b['val_acc'] - ref['val_acc']):+.2f} points at "
                     f"{b['macs'] / ref['macs']:.2f}x the MACs")
    if result.confirmed:
        lines.append(format_confirmation(result.confirmed))
    elif ref and b["trial"] != ref["trial"]:
        lines.append(f"one seed each: each val acc is ±{binomial_halfwidth(b['val_acc'], n_val):.4f} on {n_val} "
                     f"validation images alone (95%), and another seed moves a proxy run about as much again: not "
                     f"confirmed (--confirm K --seeds S trains the best K and the reference with S seeds and gives "
                     f"a verdict)")
    lines.append(f"saved {result.out_dir / SEARCH_BEST}")
    return "\n".join(lines)


def format_confirmation(confirmed: dict) -> str:
    """The confirmed candidates: mean ± std over seeds, and each against the reference with its interval."""
    def versus(e: dict) -> str:
        c = e["vs_reference"]
        if e["trial"] == confirmed["reference_trial"]:
            return "reference"
        if c is None:
            return "-"
        return format_comparison(c["diff"], c["low"], c["high"], c["verdict"])

    rows = [{**e, "mark": "baseline" if e["trial"] == confirmed["baseline_trial"] else "",
             "val_s": format_spread(e["val"]["mean"], e["val"]["std"]),
             "test_s": format_spread(e["test"]["mean"], e["test"]["std"]), "vs": versus(e)}
            for e in confirmed["entries"]]
    table = format_table(rows, [("trial", "trial", plain), ("mark", "", plain), ("macs", "MACs", si),
                                ("val_s", "val acc", plain), ("test_s", "test acc", plain),
                                ("vs", "val acc vs reference, paired (95% CI)", plain)])
    base = next(e for e in confirmed["entries"] if e["trial"] == confirmed["baseline_trial"])
    verdict = base["vs_reference"]["verdict"] if base["vs_reference"] and base["vs_reference"]["n"] > 1 else None
    line = (f"confirmed baseline: trial {base['trial']}, val acc {format_spread(base['val']['mean'], base['val']['std'])}, "
            f"test acc {format_spread(base['test']['mean'], base['test']['std'])} over {len(confirmed['seeds'])} seeds"
            + (f"; against the reference: {verdict}" if verdict else ""))
    return f"\nconfirmed with seeds {', '.join(map(str, confirmed['seeds']))}:\n{table}\n{line}"
