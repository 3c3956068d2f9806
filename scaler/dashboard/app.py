"""scaler's dashboard: ``streamlit run app.py``.

Pages: Zoo, Runs, Search, Scaling, Frontier, Robustness, Inspect. Reads results from ``$SCALER_RESULTS`` (default
``results``) and the Optuna storage ``$SCALER_STORAGE`` (default: the SQLite file in the results
folder); it never writes either. Figures live in ``scaler.dashboard.figures``, loaders in
``scaler.dashboard.data``; this file only lays them out.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pandas as pd
import streamlit as st

from scaler.dashboard import data
from scaler.dashboard import figures as fig
from scaler.report import format_comparison, format_spread
from scaler.results import default_storage, results_root, schema
from scaler.study.storage import mask_url

RESULTS = results_root()
STORAGE = os.environ.get("SCALER_STORAGE") or default_storage(RESULTS)
LIVE_EVERY_S = 10
CHART = {"config": {"displaylogo": False}}


# ------------------------------------------------------------------------------------ cached loads

@st.cache_data(show_spinner="Counting the zoo...")
def load_zoo() -> tuple[pd.DataFrame, list[str]]:
    return data.zoo_frame()


@st.cache_data(show_spinner=False, max_entries=16)
def load_runs(root: str, fingerprint: tuple) -> tuple[pd.DataFrame, list[str]]:
    return data.runs_frame(root)


@st.cache_data(show_spinner=False, max_entries=16)
def load_studies(url: str, token: object) -> tuple[pd.DataFrame, list[str]]:
    return data.list_studies(url)


@st.cache_data(show_spinner="Loading the study...", max_entries=8)
def load_study(url: str, name: str, token: object) -> tuple[data.StudyData | None, list[str]]:
    return data.load_study(url, name, importance=False)


@st.cache_data(show_spinner="Computing parameter importances...", max_entries=8)
def load_importances(url: str, name: str, complete: tuple, _study: data.StudyData):
    """Recomputed only when a trial completes (``complete``), not on every live refresh."""
    return data.study_importances(_study)


@st.cache_data(show_spinner=False, max_entries=16)
def load_scale(root: str, base: str, fingerprint: tuple) -> tuple[data.ScaleData, list[str]]:
    return data.load_scale(root, base)


@st.cache_data(show_spinner=False, max_entries=64)
def inspect(target: str, resolution: int | None, width: float, depth: float, stamp: tuple = ()) -> dict:
    """Everything the Inspect page shows of one model, or {'error': message}; ``stamp`` is the
    file's fingerprint, so an edited .arch file is read again."""
    from scaler.dsl import Spec
    from scaler.errors import ScalerError
    from scaler.zoo import load_target

    try:
        model = load_target(target)
        if not isinstance(model, Spec):
            return {"error": f"{model.name} is a search space (choices left open), not a fixed model; "
                             "pick one of its results, e.g. a search's best.arch"}
        scaled, cx, layers = data.inspect_model(model, resolution, width, depth)
    except (ScalerError, OSError) as exc:
        return {"error": str(exc)}
    return {"name": scaled.name, "family": scaled.family, "resolution": cx.resolution,
            "default_resolution": model.resolution, "params": cx.params, "macs": cx.macs,
            "acts": cx.acts, "layers": layers, "text": scaled.text()}


def study_token(live: bool) -> object:
    """Cache key of the study loads: time slices while live, else the storage file's state."""
    if live:
        return int(time.time() // LIVE_EVERY_S)
    return data.storage_fingerprint(STORAGE) or int(time.time() // 60)


def show_warnings(warnings: list[str]) -> None:
    for w in warnings:
        st.warning(w, icon="⚠️")


def choose(names: list[str], label: str, key: str, hint: str) -> str | None:
    """The result a page shows, picked among ``names``; None, with the page's hint, when there is none yet."""
    if not names:
        st.info(hint)
        return None
    return st.selectbox(label, names, key=key)


def usable(empty: bool, warnings: list[str], hint: str) -> bool:
    """Show what loading a result warned of; False, with the page's hint, when it holds nothing to draw."""
    show_warnings(warnings)
    if empty:
        st.info(hint)
    return not empty


def chart(figure, key: str) -> None:
    st.plotly_chart(figure, key=key, **CHART)


# ---------------------------------------------------------------------------------------------- zoo

def page_zoo() -> None:
    st.title("Zoo")
    st.caption("Every fixed model of the DSL library: parameters and MACs counted exactly "
               "(MACs = multiply-adds, as in the EfficientNet paper), published ImageNet accuracy.")
    zoo, warnings = load_zoo()
    show_warnings(warnings)
    if zoo.empty:
        st.error("The zoo is empty: no model could be read from search_spaces/.")
        return
    families = sorted(zoo["family"].unique().tolist())
    years = zoo["year"].dropna().astype(int)
    c1, c2, c3 = st.columns([3, 2, 1])
    chosen = c1.multiselect("Families", families, default=families, key="zoo_families")
    if len(years):
        lo, hi = int(years.min()), int(years.max())
        year_range = c2.slider("Published", lo, hi, (lo, hi), key="zoo_years") if lo < hi else (lo, hi)
    else:
        year_range = None
    no_year = c3.checkbox("Include undated", value=True, key="zoo_no_year",
                          help="models without a published year (kept whatever the year range)")
    sel = zoo[zoo["family"].isin(chosen)]
    if year_range is not None:
        in_range = sel["year"].between(*year_range).fillna(False).astype(bool)
        sel = sel[in_range | (sel["year"].isna() if no_year else False)]
    st.caption(f"{len(sel)} of {len(zoo)} models; {int(sel['top1'].notna().sum())} with a published top-1 "
               "are on the charts.")
    chart(fig.zoo_bubble(sel), "zoo_bubble")
    chart(fig.zoo_params(sel), "zoo_params")
    off = sel[sel["params_disagree"]]
    if len(off):
        st.info("Published parameter counts that differ from the exact count by more than "
                f"{data.PARAMS_TOLERANCE:.0%} (both shown): " + "; ".join(
                    f"**{r.name}** published {r.published_params_m:g} M, counted {r.params_m:.2f} M"
                    for r in off.itertuples()))
    table = sel.assign(check=sel.apply(
        lambda r: f"differs by {100 * r['params_rel_diff']:.0f}%" if r["params_disagree"] else "", axis=1))
    st.dataframe(
        table[["name", "family", "year", "resolution", "top1", "top5", "params_m", "published_params_m", "check",
               "gmacs", "acts", "extra_data", "source"]],
        hide_index=True, placeholder="–", key="zoo_table",
        column_config={
            "name": "model", "year": st.column_config.NumberColumn("year", format="%d"),
            "resolution": st.column_config.NumberColumn("px"),
            "top1": st.column_config.NumberColumn("top-1 %", format="%.1f"),
            "top5": st.column_config.NumberColumn("top-5 %", format="%.1f"),
            "params_m": st.column_config.NumberColumn("params (M, counted)", format="%.2f"),
            "published_params_m": st.column_config.NumberColumn("params (M, published)", format="%g"),
            "check": "published vs counted",
            "gmacs": st.column_config.NumberColumn("MACs (G)", format="%.3f"),
            "acts": st.column_config.NumberColumn("activations", format="compact"),
            "extra_data": "extra training data", "source": "accuracy source",
        })


# --------------------------------------------------------------------------------------------- runs

def page_runs() -> None:
    st.title("Runs")
    runs, warnings = load_runs(str(RESULTS), data.runs_fingerprint(RESULTS))
    show_warnings(warnings)
    if runs.empty:
        st.info(data.HINTS["runs"])
        return
    c1, c2, c3 = st.columns([2, 2, 2])
    kinds = sorted(runs["kind"].unique().tolist())
    chosen = c1.multiselect("Kinds", kinds, default=kinds, key="runs_kinds")
    datasets = sorted(runs["dataset"].unique().tolist())
    dataset = c2.selectbox("Data set", datasets, key="runs_dataset") if len(datasets) > 1 else datasets[0]
    x = c3.radio("Against", ["macs", "params", "latency_ms"], horizontal=True, key="runs_x",
                 format_func={"macs": "MACs", "params": "params", "latency_ms": "latency"}.get)
    sel = runs[runs["kind"].isin(chosen) & (runs["dataset"] == dataset)]
    with_ladder = st.checkbox("Zoo EfficientNet ladder for context (published ImageNet top-1, right axis)",
                              value=True, key="runs_ladder")
    ladder = data.zoo_ladder(load_zoo()[0]) if with_ladder else None
    st.caption(f"{len(sel)} run(s) on {dataset}. Accuracy is on your data; the ladder's is ImageNet's.")
    chart(fig.runs_scatter(sel, x=x, ladder=ladder), "runs_scatter")
    with_history = sel[sel["history"].map(len) > 0].sort_values("val_acc", ascending=False)
    if len(with_history):
        ids = with_history["run_id"].tolist()
        names = dict(zip(ids, with_history["name"].astype(str), strict=True))
        picked = st.multiselect("Training curves of", ids, default=ids[:5], key="runs_curves_pick",
                                format_func=lambda i: f"{names[i]} ({i})",
                                help="per-epoch validation accuracy and losses of these runs (the best five first)")
        curves = data.history_frame(with_history[with_history["run_id"].isin(picked)])
        chart(fig.training_curves(curves, "Training curves of the selected runs"), "runs_curves")
    st.dataframe(
        sel[["name", "kind", "status", "resolution", "val_acc", "test_acc", "params", "macs", "latency_ms",
             "train_time_s", "device", "created", "run_id"]],
        hide_index=True, placeholder="–", key="runs_table",
        column_config={
            "val_acc": st.column_config.NumberColumn("val acc", format="percent"),
            "test_acc": st.column_config.NumberColumn("test acc", format="percent"),
            "params": st.column_config.NumberColumn("params", format="compact"),
            "macs": st.column_config.NumberColumn("MACs", format="compact"),
            "latency_ms": st.column_config.NumberColumn("latency (ms)", format="%.2f"),
            "train_time_s": st.column_config.NumberColumn("train time (s)", format="%.0f"),
        })


# ------------------------------------------------------------------------------------------- search

def page_search() -> None:
    st.title("Search")
    if not data.storage_exists(STORAGE):
        st.info(data.HINTS["search"])
        return
    studies, warnings = load_studies(STORAGE, study_token(False))
    show_warnings(warnings)
    if studies.empty:
        st.info(data.HINTS["search"])
        return
    studies = studies.sort_values("last_complete", ascending=False, na_position="last")
    names = studies["name"].tolist()
    c1, c2 = st.columns([4, 1])
    name = c1.selectbox("Study", names, key="search_study",
                        format_func=lambda n: f"{n} ({int(studies.set_index('name').loc[n, 'n_trials'])} trials)")
    running = int(studies.set_index("name").loc[name, "running"])
    live = c2.toggle("Live refresh", value=running > 0, key="search_live",
                     help=f"reload the study every {LIVE_EVERY_S} s (on by default while trials are running)")
    st.fragment(run_every=LIVE_EVERY_S if live else None)(study_view)(name, live)


def study_view(name: str, live: bool) -> None:
    study, warnings = load_study(STORAGE, name, study_token(live))
    show_warnings(warnings)
    if study is None:
        return
    counts = study.state_counts()
    cols = st.columns(6)
    for col, (label, key) in zip(cols, [("trials", None), ("complete", "COMPLETE"), ("pruned", "PRUNED"),
                                        ("running", "RUNNING"), ("failed", "FAIL")], strict=False):
        col.metric(label, sum(counts.values()) if key is None else counts.get(key, 0))
    objective = 0
    if study.multi_objective:
        objective = cols[5].selectbox("Objective", range(len(study.objectives)), key="search_objective",
                                      format_func=lambda i: study.objectives[i])
    else:
        best = study.best_trials(1)
        cols[5].metric(f"best {study.objectives[0]}",
                       f"{best['value_0'].iloc[0]:.4g}" if len(best) else "n/a")
    st.caption(f"{' · '.join(f'{o} ({d})' for o, d in zip(study.objectives, study.directions, strict=False))}"
               + (f" · live: refreshed {time.strftime('%H:%M:%S')}" if live else ""))
    left, right = st.columns(2)
    with left:
        chart(fig.optimization_history(study.trials, objective, study.objectives[objective],
                                       study.directions[objective]), "search_history")
    with right:
        axes = study.pareto_axes()
        if axes is None:
            st.info("No Pareto front: the trials carry no val_acc and MACs to trade off.")
        else:
            x, y, xl, yl = axes
            staircase = not study.multi_objective or study.directions[:2] == ["maximize", "minimize"]
            chart(fig.pareto_front(study.trials, x, y, xl, yl, staircase=staircase), "search_pareto")
    left, right = st.columns(2)
    with left:
        chart(fig.intermediate_values(study.intermediate), "search_intermediate")
    with right:
        importances, note = load_importances(STORAGE, name, study.complete_token(), study)
        chart(fig.param_importances(importances, note), "search_importances")
        if note and importances is not None:
            st.caption(note)

    st.subheader("Best trials" if not study.multi_objective else "Pareto-optimal trials")
    best = study.best_trials(10, objective)
    if best.empty:
        st.info("No complete trial yet.")
        return
    others = ["val_acc", "params", "macs", "latency_ms", *[f"param_{p}" for p in study.param_names]]
    labels = {f"value_{i}": o if o not in others else f"objective: {o}" for i, o in enumerate(study.objectives)}
    shown = ["number", *labels, *others]
    st.dataframe(best[[c for c in shown if c in best]].rename(columns=labels), hide_index=True, placeholder="–",
                 key="search_best",
                 column_config={"val_acc": st.column_config.NumberColumn("val acc", format="percent"),
                                "params": st.column_config.NumberColumn("params", format="compact"),
                                "macs": st.column_config.NumberColumn("MACs", format="compact"),
                                "latency_ms": st.column_config.NumberColumn("latency (ms)", format="%.2f")})
    number = st.selectbox("DSL text of trial", best["number"].tolist(), key=f"search_trial_{study.name}")
    spec = best.loc[best["number"] == number, "spec"].iloc[0]
    if isinstance(spec, str) and spec.strip():
        st.code(spec, language=None)
        st.caption("Copy it with the button at the top right of the block; saved as a .arch file it "
                   "works with `scaler train FILE`, `scaler scale --base FILE` and `scaler inspect FILE`.")
    else:
        st.info("This trial carries no DSL text.")


# ------------------------------------------------------------------------------------------ scaling

def page_scaling() -> None:
    st.title("Scaling")
    base = choose(data.scale_bases(RESULTS), "Base model", "scale_base", data.HINTS["scale"])
    if base is None:
        return
    result, warnings = load_scale(str(RESULTS), base, data.scale_fingerprint(RESULTS, base))
    if not usable(result.empty, warnings, data.HINTS["scale"]):
        return
    cell_runs, rungs = data.scale_runs(load_runs(str(RESULTS), data.runs_fingerprint(RESULTS))[0], base)

    st.subheader("Coefficient grid (φ = 1)")
    if result.grid is None or result.grid.empty:
        st.info(data.HINTS["grid"])
    else:
        best = result.grid.loc[result.grid["val_acc"].idxmax()]
        c = st.columns(4)
        c[0].metric("α (depth)", f"{best['alpha']:.3f}")
        c[1].metric("β (width)", f"{best['beta']:.3f}")
        c[2].metric("γ (resolution)", f"{best['gamma']:.3f}")
        c[3].metric("α·β²·γ²", f"{best['alpha'] * best['beta'] ** 2 * best['gamma'] ** 2:.3f}")
        chart(fig.scaling_grid(result.grid), "scale_grid")

    st.subheader("Ladders: derived vs published coefficients")
    if result.ladder is None or result.ladder.empty:
        st.info(data.HINTS["ladder"])
    else:
        chart(fig.scaling_ladders(result.ladder), "scale_ladders")
        cols = [c for c in ("label", "name", "phi", "width", "depth", "resolution", "params", "macs", "mac_ratio")
                if c in result.ladder]
        st.dataframe(result.ladder[cols], hide_index=True, placeholder="–", key="scale_ladder_table",
                     column_config={"params": st.column_config.NumberColumn("params", format="compact"),
                                    "macs": st.column_config.NumberColumn("MACs", format="compact"),
                                    "mac_ratio": st.column_config.NumberColumn("MACs / base", format="%.2f")})
    scale_curves(rungs, "Training curves of the trained rungs", "scale_rung_curves", fig.LADDER_COLORS)

    st.subheader("Compound vs single-dimension scaling")
    if result.compare is None or result.compare.empty:
        st.info(data.HINTS["compare"])
    else:
        chart(fig.scaling_compare(result.compare, result.fits), "scale_compare")
        cells = result.compare  # written before seeds: strategy, mac_ratio, macs and val_acc only
        nan = pd.Series(float("nan"), index=cells.index)
        std, diff, low, high = (cells.get(c, nan) for c in ("val_std", "vs_compound", "vs_low", "vs_high"))
        shown = pd.DataFrame({"strategy": cells["strategy"], "MACs / base": cells.get("mac_ratio", nan),
                              "MACs": cells["macs"],
                              "val acc": [format_spread(m, s, percent=True)
                                          for m, s in zip(cells["val_acc"], std, strict=True)]})
        if std.notna().any():
            shown["seeds"] = cells.get("seeds", nan)
            shown["vs compound (95% CI)"] = [
                "" if pd.isna(d) else format_comparison(d, lo, hi, percent=True)
                for d, lo, hi in zip(diff, low, high, strict=True)]
            shown["verdict"] = cells.get("verdict", nan)
            st.caption("Mean ± std over seeds; each cell against compound at the same MAC ratio, paired by seed: "
                       "the mean difference in validation accuracy, its 95% interval and the verdict.")
        st.dataframe(shown, hide_index=True, placeholder="–", key="scale_compare_table",
                     column_config={"MACs": st.column_config.NumberColumn("MACs", format="compact"),
                                    "MACs / base": st.column_config.NumberColumn("MACs / base", format="%.2f")})
        if result.fits:
            rows = [{"strategy": s, "law": "error = a · x^-b + c, x = " + fig.law_x_label(f),
                     "a": f"{f['a']:.3g} ± {f['a_std']:.2g}", "b": f"{f['b']:.3g} ± {f['b_std']:.2g}",
                     "c": f"{f['c']:.3g} ± {f['c_std']:.2g}"} for s, f in result.fits.items()]
            st.dataframe(pd.DataFrame(rows), hide_index=True, placeholder="–", key="scale_fits")
        else:
            st.caption("No fits.json: measured points only.")
        scale_curves(cell_runs, "Training curves of the comparison's cells (every seed)", "scale_compare_curves",
                     fig.STRATEGY_COLORS)


def scale_curves(runs: pd.DataFrame, title: str, key: str, colors: dict[str, str]) -> None:
    """The per-epoch curves of a base's trainings (runs of kind scale in the results' store): whether the
    nets compared had converged."""
    if runs.empty:
        st.caption("No training of this part is among the runs under results/runs/: no curves.")
        return
    chart(fig.training_curves(data.history_frame(runs, label="label", group="group"), title, colors), key)


# ----------------------------------------------------------------------------------------- frontier

@st.cache_data(show_spinner=False, max_entries=16)
def load_bench(root: str, name: str, fingerprint: tuple) -> tuple[pd.DataFrame | None, list[str]]:
    return data.load_bench(root, name)


def page_frontier() -> None:
    st.title("Frontier")
    st.caption("Zoo models and the found family trained on your data by one trainer at one fidelity "
               "(`scaler bench`): accuracy over seeds against cost, the Pareto front dashed.")
    name = choose(data.bench_names(RESULTS), "Bench", "bench_name", data.HINTS["bench"])
    if name is None:
        return
    table = Path(RESULTS) / schema.BENCH_DIR / name / schema.BENCH.file
    bench, warnings = load_bench(str(RESULTS), name, data.files_fingerprint([table]))
    if not usable(bench is None or bench.empty, warnings, data.HINTS["bench"]):
        return
    x = st.radio("Against", list(fig.FRONTIER_X), horizontal=True, key="frontier_x",
                 format_func={"macs": "MACs", "params": "params", "latency_ms": "latency"}.get)
    chart(fig.frontier(bench, x), "frontier")
    ref = bench.loc[bench["is_reference"], "label"]
    st.caption(f"Each model against {ref.iloc[0] if len(ref) else 'the reference'}, paired by seed: the mean "
               "difference in validation accuracy with its 95% interval and the verdict.")
    cols = ["label", "series", "pareto", "val_acc", "val_std", "test_acc", "test_std", "params", "macs",
            "latency_ms", "vs_reference", "vs_low", "vs_high", "verdict"]
    st.dataframe(bench[[c for c in cols if c in bench]].sort_values("macs"), hide_index=True, placeholder="–",
                 key="frontier_table",
                 column_config={"params": st.column_config.NumberColumn("params", format="compact"),
                                "macs": st.column_config.NumberColumn("MACs", format="compact"),
                                "latency_ms": st.column_config.NumberColumn("latency (ms)", format="%.2f")})


# --------------------------------------------------------------------------------------- robustness

@st.cache_data(show_spinner=False, max_entries=16)
def load_robustness(root: str, name: str, fingerprint: tuple) -> tuple[data.RobustnessData | None, list[str]]:
    """``fingerprint``: the comparison's files and the run records (its models' MACs come from them)."""
    return data.load_robustness(root, name, load_runs(root, data.runs_fingerprint(root))[0])


def page_robustness() -> None:
    st.title("Robustness")
    st.caption("Trained runs under ImageNet-C-style corruptions (`scaler robustness`): the test error per "
               "corruption and severity, and the mCE (errors relative to a reference run) against MACs.")
    name = choose(data.robustness_names(RESULTS), "Comparison", "robustness_name", data.HINTS["robustness"])
    if name is None:
        return
    folder = Path(RESULTS) / schema.ROBUSTNESS / name
    files = [folder / schema.ROBUSTNESS_SUMMARY, *(folder / schema.ROBUSTNESS_CACHE).glob("*.json")]
    result, warnings = load_robustness(str(RESULTS), name, data.files_fingerprint(files) + data.runs_fingerprint(RESULTS))
    if not usable(result is None or result.models.empty, warnings, data.HINTS["robustness"]):
        return
    s = result.settings
    st.caption(f"Reference: {result.reference}; seed {s['seed']}, severities {s['severities']}, "
               f"{s['frames']} frames per perturbation sequence. mCE, relative mCE and mFR count the corruptions "
               "each model's training did not apply (the headline numbers).")
    chart(fig.robustness_mce(result.models), "robustness_mce")
    chart(fig.robustness_errors(result.errors), "robustness_errors")
    st.dataframe(result.models.sort_values("macs"), hide_index=True, placeholder="–", key="robustness_table",
                 column_config={"macs": st.column_config.NumberColumn("MACs", format="compact"),
                                "params": st.column_config.NumberColumn("params", format="compact"),
                                "clean_error": st.column_config.NumberColumn("clean error", format="percent"),
                                "mean_error": st.column_config.NumberColumn("mean error", format="percent"),
                                "mce": st.column_config.NumberColumn("mCE", format="%.3f"),
                                "relative_mce": st.column_config.NumberColumn("relative mCE", format="%.3f"),
                                "mfr": st.column_config.NumberColumn("mFR", format="%.3f")})


# ------------------------------------------------------------------------------------ self-training

@st.cache_data(show_spinner=False, max_entries=16)
def load_student(root: str, name: str, fingerprint: tuple) -> tuple[pd.DataFrame | None, list[str]]:
    return data.load_student(root, name)


def page_student() -> None:
    st.title("Self-training")
    st.caption("Noisy Student up the found family's ladder (`scaler student`): each student against the same "
               "network trained on the labelled images alone (supervised) and, with `--ablate noise`, a student "
               "without noise; test accuracy over seeds, and how right the teacher's pseudo-labels were.")
    name = choose(data.student_names(RESULTS), "Self-training", "student_name", data.HINTS["student"])
    if name is None:
        return
    table = Path(RESULTS) / schema.STUDENT / name / schema.STUDENT_TABLE.file
    rows, warnings = load_student(str(RESULTS), name, data.files_fingerprint([table]))
    if not usable(rows is None or rows.empty, warnings, data.HINTS["student"]):
        return
    chart(fig.self_training(rows), "self_training")
    st.caption("The student's test accuracy minus each row's, paired by seed, with its 95% interval and verdict.")
    cols = ["iteration", "role", "label", "seeds", "test_acc", "test_std", "val_acc", "val_std", "macs",
            "pseudo_acc", "kept", "student_minus", "diff_low", "diff_high", "verdict"]
    st.dataframe(rows[[c for c in cols if c in rows]], hide_index=True, placeholder="–", key="student_table",
                 column_config={"macs": st.column_config.NumberColumn("MACs", format="compact")})


# ------------------------------------------------------------------------------------------ inspect

def page_inspect() -> None:
    st.title("Inspect")
    zoo, warnings = load_zoo()
    show_warnings(warnings)
    found = data.arch_files(RESULTS)
    source = st.radio("Model from", ["zoo", "results", "file"], horizontal=True, key="inspect_source",
                      format_func={"zoo": "the zoo", "results": f"results ({len(found)} .arch files)",
                                   "file": "a .arch file"}.get)
    target = None
    if source == "zoo":
        names = zoo["name"].tolist()
        target = st.selectbox("Model", names, key="inspect_model",
                              index=names.index("efficientnet-b0") if "efficientnet-b0" in names else 0)
    elif source == "results":
        if not found:
            st.info("No .arch files under results/ yet: `scaler search` saves its best model and "
                    "`scaler scale` the generated ones.")
        else:
            target = str(RESULTS / st.selectbox("Model file", found, key="inspect_found"))
    else:
        path = st.text_input("Path of a .arch file", key="inspect_path", placeholder="search_spaces/resnet.arch")
        target = path.strip() or None
    if not target:
        return
    stamp = data.files_fingerprint([Path(target)]) if target.endswith(".arch") else ()
    base = inspect(target, None, 1.0, 1.0, stamp)
    if "error" in base:
        st.error(base["error"])
        return
    c1, c2, c3 = st.columns([3, 1, 1])
    resolution = c1.slider("Input resolution (px)", 32, max(1024, base["resolution"]), base["resolution"],
                           key=f"inspect_res_{target}")
    width = c2.number_input("Width ×", 0.1, 10.0, 1.0, 0.1, key="inspect_width")
    depth = c3.number_input("Depth ×", 0.1, 10.0, 1.0, 0.1, key="inspect_depth")
    info = inspect(target, resolution, float(width), float(depth), stamp)
    if "error" in info:
        st.error(info["error"])
        return
    m = st.columns(3)
    m[0].metric("parameters", fig.si(info["params"]))
    m[1].metric("MACs", fig.si(info["macs"]))
    m[2].metric("activations", fig.si(info["acts"]))
    chart(fig.inspect_stages(info["layers"], f"{info['name']} at {info['resolution']} px, "
                                             f"width ×{width:g}, depth ×{depth:g}"), "inspect_stages")
    st.dataframe(info["layers"], hide_index=True, placeholder="–", key="inspect_table",
                 column_config={c: st.column_config.NumberColumn(c, format="compact") for c in ("params", "macs", "acts")})
    st.subheader("DSL")
    st.code(info["text"], language=None)


# ------------------------------------------------------------------------------------------- layout

PAGES = {"Zoo": page_zoo, "Runs": page_runs, "Search": page_search, "Scaling": page_scaling,
         "Frontier": page_frontier, "Robustness": page_robustness, "Self-training": page_student,
         "Inspect": page_inspect}


def main() -> None:
    st.set_page_config(page_title="scaler", page_icon="📈", layout="wide")
    wanted = str(st.query_params.get("page", "zoo")).lower()
    names = list(PAGES)
    index = next((i for i, n in enumerate(names) if n.lower() == wanted), 0)
    with st.sidebar:
        st.header("scaler")
        page = st.radio("Page", names, index=index, key="page")
        st.caption(f"results: `{Path(RESULTS).resolve()}`")
        st.caption(f"storage: `{mask_url(STORAGE)}`")
        if st.button("Reload data", help="drop cached loads and read everything again"):
            st.cache_data.clear()
    st.query_params["page"] = page.lower()
    PAGES[page]()


main()
