"""Plotly figures for the dashboard: pure functions, data (pandas DataFrames, dicts) in, Figure out.

Nothing here reads files, talks to Optuna or to Streamlit; ``scaler.dashboard.data`` prepares the
frames. Every figure sets its axis titles and hover text itself, so it reads the same in a
notebook. MACs are multiply-adds; accuracies of the user's runs are fractions (0..1), published
ImageNet top-1 is in percent.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from scaler import report
from scaler.stats import Z95, pareto

PALETTE = qualitative.Plotly + qualitative.D3
STRATEGY_COLORS = {"compound": "#d62728", "depth": "#1f77b4", "width": "#2ca02c", "resolution": "#9467bd",
                   "dwr": "#ff7f0e"}
LADDER_COLORS = {"derived": "#d62728", "published": "#1f77b4"}
STATE_COLORS = {"COMPLETE": "#1f77b4", "PRUNED": "#ff7f0e", "FAIL": "#7f7f7f", "RUNNING": "#2ca02c"}
MUTED = "#9e9e9e"
_LAYOUT = dict(margin=dict(l=60, r=30, t=60, b=50), hoverlabel=dict(align="left"),
               legend=dict(title=None))


def si(value: Any, unit: str = "") -> str:
    """5288548 -> '5.29 M'; NaN -> 'n/a' (``scaler.report.si``, spaced for chart labels)."""
    return report.si(value, unit, sep=" ", missing="n/a")


def _pct(value: Any, digits: int = 2) -> str:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return "n/a"
    return f"{100 * v:.{digits}f}%" if math.isfinite(v) else "n/a"


def _num(value: Any, fmt: str = "{:.3g}") -> str:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return "n/a"
    return fmt.format(v) if math.isfinite(v) else "n/a"


def family_colors(families: Iterable[str]) -> dict[str, str]:
    """A stable colour per family (sorted names), so filters do not repaint the chart."""
    return {f: PALETTE[i % len(PALETTE)] for i, f in enumerate(sorted({str(f) for f in families}))}


def empty_figure(message: str, title: str | None = None) -> go.Figure:
    """A blank figure that says why it is blank."""
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper",
                       font=dict(size=14, color=MUTED))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_layout(title=title, height=300, **_LAYOUT)
    return fig


def log_ticks(values: Iterable[Any]) -> dict[str, Any]:
    """Tick settings of a log axis over ``values``: labels at the powers of ten only (at 1-2-5 steps
    when fewer than two powers fall in the range; the two steps around it, and that axis range, when
    fewer than two of those do either), unlabelled minor ticks at every digit between.
    Plotly's own labels on a log axis also name the 2 and 5 between decades ("2, 100B, 5, 2, 10B").
    Empty (plotly's defaults) when nothing positive is given."""
    v = np.asarray([float(x) for x in values if x is not None], dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    if not len(v):
        return {}
    lo, hi = float(v.min()), float(v.max())
    decades = range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)

    def inside(mantissas: Iterable[int]) -> list[float]:
        return [m * 10.0 ** k for k in decades for m in mantissas if lo * (1 - 1e-9) <= m * 10.0 ** k <= hi * (1 + 1e-9)]

    major = next((t for t in (inside((1,)), inside((1, 2, 5))) if len(t) >= 2), None)
    extra: dict[str, Any] = {}
    if major is None:  # a narrow range: the 1-2-5 steps around it, and the axis drawn over just those
        steps = sorted(m * 10.0 ** k for k in range(decades.start - 1, decades.stop + 1) for m in (1, 2, 5))
        major = [max(t for t in steps if t <= lo), min(t for t in steps if t >= hi)]
        major = major if major[0] < major[1] else [major[0] / 2, major[0] * 2]
        lo, hi = major
        decades = range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)
        extra["range"] = [math.log10(lo) - 0.05, math.log10(hi) + 0.05]
    minor = [t for t in inside(range(1, 10)) if t not in major]
    return dict(tickmode="array", tickvals=major, ticktext=[si(t).replace(" ", "") for t in major],
                minor=dict(tickmode="array", tickvals=minor, ticks="outside", ticklen=3, showgrid=False), **extra)


def _axis_values(fig: go.Figure, axis: str) -> list[Any]:
    """Every value the figure's traces put on ``axis`` ("x", "y", "y2", ...)."""
    letter = axis[0]
    return [v for t in fig.data if (getattr(t, f"{letter}axis", None) or letter) == axis
            for v in (getattr(t, letter) if getattr(t, letter) is not None else ())]


def upsampled(df: pd.DataFrame) -> np.ndarray:
    """The rows flagged in a boolean ``upsampled`` column (rungs trained above the data's native
    resolution); none when the table has no such column."""
    if "upsampled" not in df:
        return np.zeros(len(df), dtype=bool)
    return df["upsampled"].astype(str).str.strip().str.lower().isin(["true", "1", "1.0"]).to_numpy()


UPSAMPLED_NOTE = "<br>upsampled: trained above the data's native resolution"


def _open_where(symbol: str, flags: np.ndarray) -> list[str]:
    """``symbol`` per point, open (hollow) where flagged."""
    return [f"{symbol}-open" if f else symbol for f in flags]


# --------------------------------------------------------------------------------------------- zoo

ZOO_HOVER = ("<b>%{customdata[0]}</b> (%{customdata[6]})<br>top-1 %{y:.1f}%<br>"
             "resolution %{customdata[1]} px<br>params %{customdata[2]}<br>MACs %{customdata[3]}<br>"
             "activations %{customdata[4]}<br>accuracy source: %{customdata[5]}<extra></extra>")


def _zoo_custom(df: pd.DataFrame) -> np.ndarray:
    """name, resolution, params (counted, and published where known), MACs, acts, source, year."""
    if df.empty:
        return np.empty((0, 7), dtype=object)
    rows = []
    for r in df.to_dict("records"):
        params = f"{si(r['params'])} counted"
        if pd.notna(r.get("published_params_m")):
            params += f", {r['published_params_m']:g} M published"
            if r.get("params_disagree"):
                params += f" (differs by {100 * r['params_rel_diff']:.0f}%)"
        year = r.get("year")
        rows.append([str(r["name"]), str(r["resolution"]), params, si(r["macs"]), si(r["acts"]),
                     str(r["source"]) if pd.notna(r.get("source")) and r.get("source") else "n/a",
                     str(year) if pd.notna(year) else "year n/a"])
    return np.array(rows, dtype=object)


def zoo_bubble(zoo: pd.DataFrame, size_max: float = 60.0) -> go.Figure:
    """Published ImageNet top-1 vs MACs (log), bubble area = counted params, colour = family."""
    df = zoo[zoo["top1"].notna()]
    if df.empty:
        return empty_figure("no model in this selection has a published top-1", "Accuracy vs MACs vs size")
    colors = family_colors(zoo["family"])
    sizeref = 2.0 * float(df["params"].max()) / size_max ** 2
    fig = go.Figure()
    for family, g in df.groupby("family", sort=True):
        fig.add_trace(go.Scatter(
            x=g["macs"], y=g["top1"], mode="markers+text", name=str(family), text=g["name"],
            textposition="top center", textfont=dict(size=10),
            marker=dict(size=g["params"], sizemode="area", sizeref=sizeref, sizemin=4,
                        color=colors[str(family)], opacity=0.75, line=dict(width=1, color="white")),
            customdata=_zoo_custom(g), hovertemplate=ZOO_HOVER))
    fig.update_xaxes(type="log", title_text="MACs (multiply-adds, log scale)")
    fig.update_yaxes(title_text="published ImageNet top-1 (%)")
    fig.update_layout(title="Accuracy vs MACs (bubble area = parameters)", height=560, **_LAYOUT)
    return fig


def zoo_params(zoo: pd.DataFrame) -> go.Figure:
    """Published top-1 vs counted params (log); where the published count differs by more than
    the tolerance, a hollow marker at the published count is linked to the counted one."""
    df = zoo[zoo["top1"].notna()]
    if df.empty:
        return empty_figure("no model in this selection has a published top-1", "Accuracy vs parameters")
    colors = family_colors(zoo["family"])
    fig = go.Figure()
    for family, g in df.groupby("family", sort=True):
        fig.add_trace(go.Scatter(
            x=g["params"], y=g["top1"], mode="markers", name=str(family), legendgroup=str(family),
            marker=dict(size=11, color=colors[str(family)], line=dict(width=1, color="white")),
            customdata=_zoo_custom(g), hovertemplate=ZOO_HOVER))
    off = df[df["params_disagree"].astype(bool)]
    if len(off):
        xs, ys = [], []
        for _, row in off.iterrows():
            xs += [row["params"], row["published_params_m"] * 1e6, None]
            ys += [row["top1"], row["top1"], None]
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line=dict(color=MUTED, dash="dot"),
                                 hoverinfo="skip", showlegend=False))
        fig.add_trace(go.Scatter(
            x=off["published_params_m"] * 1e6, y=off["top1"], mode="markers",
            name="published count (differs > 5%)",
            marker=dict(size=11, symbol="circle-open", color="black", line=dict(width=2)),
            customdata=_zoo_custom(off),
            hovertemplate="<b>%{customdata[0]}</b>: published count<br>params %{customdata[2]}<extra></extra>"))
    fig.update_xaxes(type="log", title_text="parameters (counted exactly, log scale)")
    fig.update_yaxes(title_text="published ImageNet top-1 (%)")
    fig.update_layout(title="Accuracy vs parameters", height=480, **_LAYOUT)
    return fig


# -------------------------------------------------------------------------------------------- runs

RUN_X = {"macs": "MACs (multiply-adds, log scale)", "params": "parameters (log scale)",
         "latency_ms": "latency per image (ms, this device, log scale)"}


def runs_scatter(runs: pd.DataFrame, x: str = "macs", ladder: pd.DataFrame | None = None) -> go.Figure:
    """The user's runs: validation accuracy vs MACs, params or latency, one colour per kind.

    ``ladder`` (the zoo's EfficientNet B0..L2 rows) is drawn for context against a second y axis
    (published ImageNet top-1), for MACs and params; it has no latency.
    """
    if x not in RUN_X:
        raise ValueError(f"x must be one of {', '.join(RUN_X)}")
    df = runs.dropna(subset=[x, "val_acc"])
    df = df[df[x] > 0]
    with_ladder = ladder is not None and len(ladder) > 0 and x in ("macs", "params")
    fig = make_subplots(specs=[[{"secondary_y": True}]]) if with_ladder else go.Figure()
    colors = {k: PALETTE[i % len(PALETTE)] for i, k in enumerate(sorted(runs["kind"].astype(str).unique()))}
    for kind, g in df.groupby("kind", sort=True):
        custom = np.column_stack([
            g["name"].astype(str), g["run_id"].astype(str), g["resolution"].map(_num),
            g["params"].map(si), g["macs"].map(si), g["acts"].map(si), g["val_acc"].map(_pct),
            g["test_acc"].map(_pct), g["latency_ms"].map(lambda v: _num(v, "{:.2f} ms")),
            g["dataset"].astype(str), g["status"].astype(str)])
        trace = go.Scatter(
            x=g[x], y=g["val_acc"], mode="markers", name=f"{kind} runs",
            marker=dict(size=10, color=colors[str(kind)], line=dict(width=1, color="white"),
                        symbol=np.where(g["status"] == "ok", "circle", "x").tolist()),
            customdata=custom,
            hovertemplate=("<b>%{customdata[0]}</b> (%{customdata[9]}, %{customdata[10]})<br>"
                           "val acc %{customdata[6]} · test acc %{customdata[7]}<br>"
                           "resolution %{customdata[2]} px<br>params %{customdata[3]}<br>"
                           "MACs %{customdata[4]}<br>activations %{customdata[5]}<br>"
                           "latency %{customdata[8]}<br>run %{customdata[1]}<extra></extra>"))
        if with_ladder:
            fig.add_trace(trace, secondary_y=False)
        else:
            fig.add_trace(trace)
    if with_ladder:
        fig.add_trace(go.Scatter(
            x=ladder[x], y=ladder["top1"], mode="lines+markers+text", text=ladder["short"],
            textposition="top left", textfont=dict(size=10, color=MUTED),
            name="zoo EfficientNet ladder (ImageNet top-1, right axis)",
            line=dict(color=MUTED, dash="dash"), marker=dict(color=MUTED, size=7),
            customdata=np.column_stack([ladder["name"], ladder["resolution"], ladder["params"].map(si),
                                        ladder["macs"].map(si)]),
            hovertemplate=("<b>%{customdata[0]}</b> at %{customdata[1]} px<br>params %{customdata[2]}<br>"
                           "MACs %{customdata[3]}<br>published ImageNet top-1 %{y:.1f}%<extra></extra>")),
            secondary_y=True)
        fig.update_yaxes(title_text="published ImageNet top-1 (%)", secondary_y=True, showgrid=False,
                         tickmode="auto", ticksuffix="%")
    fig.update_xaxes(type="log", title_text=RUN_X[x])
    fig.update_yaxes(title_text="validation accuracy (your data)", tickformat=".1%",
                     **({"secondary_y": False} if with_ladder else {}))
    title = {"macs": "Accuracy vs MACs", "params": "Accuracy vs parameters", "latency_ms": "Accuracy vs latency"}[x]
    fig.update_layout(title=title, height=520, **_LAYOUT)
    fig.update_layout(legend=dict(orientation="h", yanchor="top", y=-0.18, x=0), margin=dict(b=90))
    if df.empty:
        fig.add_annotation(text=f"no run has both {x} and a validation accuracy", showarrow=False,
                           xref="paper", yref="paper", x=0.5, y=0.5, font=dict(color=MUTED))
    return fig


def training_curves(history: pd.DataFrame, title: str = "Training curves",
                    colors: Mapping[str, str] | None = None) -> go.Figure:
    """Per-epoch curves of trained runs, one line per run: validation accuracy (left) and the
    validation and training losses (right, training dotted), so that a reader sees whether the nets
    compared had converged. ``history`` is long (``scaler.dashboard.data.history_frame``): ``run_id``,
    ``label``, ``group``, ``epoch``, ``val_acc``, ``val_loss``, ``train_loss``; runs of one ``group``
    share a colour (``colors`` by group, else the palette)."""
    df = history.dropna(subset=["epoch"]) if len(history) else history
    if df.empty or df[["val_acc", "val_loss", "train_loss"]].isna().all().all():
        return empty_figure("no per-epoch history in these runs", title)
    groups = sorted(df["group"].astype(str).unique())
    palette = {g: (colors or {}).get(g, PALETTE[i % len(PALETTE)]) for i, g in enumerate(groups)}
    fig = make_subplots(rows=1, cols=2, subplot_titles=("validation accuracy", "loss"), horizontal_spacing=0.1)
    shown: set[str] = set()
    for run_id, g in df.sort_values("epoch").groupby("run_id", sort=False):
        group, label = str(g["group"].iloc[0]), str(g["label"].iloc[0])
        color = palette[group]
        first = group not in shown
        shown.add(group)
        common = dict(legendgroup=group, mode="lines+markers", marker=dict(size=5, color=color))
        fig.add_trace(go.Scatter(
            x=g["epoch"], y=g["val_acc"], name=group, showlegend=first, line=dict(color=color, width=2), **common,
            hovertemplate=f"<b>{label}</b><br>epoch %{{x:.3g}}: val acc %{{y:.2%}}<br>run {run_id}<extra></extra>"),
            row=1, col=1)
        for metric, dash in (("val_loss", "solid"), ("train_loss", "dot")):
            fig.add_trace(go.Scatter(
                x=g["epoch"], y=g[metric], name=f"{group} {metric.replace('_', ' ')}", showlegend=False,
                line=dict(color=color, width=1.5, dash=dash), **common,
                hovertemplate=(f"<b>{label}</b><br>epoch %{{x:.3g}}: {metric.replace('_', ' ')} %{{y:.4f}}<br>"
                               f"run {run_id}<extra></extra>")), row=1, col=2)
    fig.update_xaxes(title_text="epoch")
    fig.update_yaxes(title_text="validation accuracy", tickformat=".1%", row=1, col=1)
    fig.update_yaxes(title_text="loss (validation solid, training dotted)", row=1, col=2)
    fig.update_layout(title=title, height=420, **_LAYOUT)
    return fig


# ---------------------------------------------------------------------------------------- frontier

def inward(xs: Iterable[float], every: Iterable[float]) -> list[str]:
    """Text positions that point into a log x axis spanning ``every``: right of the points in its left
    half, left of those in its right half, so that no label runs off the plot's edge (the base of a
    ladder, leftmost, labelled to its left, was cut off)."""
    logs = np.log10(np.asarray(list(every), dtype=float))
    mid = (float(np.nanmin(logs)) + float(np.nanmax(logs))) / 2
    return ["top right" if math.log10(v) <= mid else "top left" for v in xs]

FRONTIER_X = {"macs": "MACs at training fidelity (multiply-adds, log scale)", "params": "parameters (log scale)",
              "latency_ms": "latency per image (ms, this device, log scale)"}


def frontier(bench: pd.DataFrame, x: str = "macs", family: str = "found family") -> go.Figure:
    """Accuracy against MACs, params or latency on the user's data, every model with its seed
    spread as an error bar: the found family as a connected ladder, each zoo family its own series,
    and the Pareto front (accuracy against ``x``) as a dashed step line."""
    if x not in FRONTIER_X:
        raise ValueError(f"x must be one of {', '.join(FRONTIER_X)}")
    df = bench.dropna(subset=[x, "val_acc"])
    df = df[df[x] > 0]
    if df.empty:
        return empty_figure("no benched model has both a validation accuracy and " + x)
    fig = go.Figure()
    colors = family_colors(df["series"])
    for series, g in df.groupby("series", sort=True):
        ladder = series == family
        g = g.sort_values("phi" if ladder else x)
        up = upsampled(g)
        custom = np.column_stack([g["label"].astype(str), g["val_std"].map(_pct), g["test_acc"].map(_pct),
                                  g["params"].map(si), g["macs"].map(si),
                                  g["latency_ms"].map(lambda v: _num(v, "{:.2f} ms")),
                                  g["seeds"].map(lambda v: _num(v, "{:g}")), g["verdict"].astype(str),
                                  np.where(up, UPSAMPLED_NOTE, "")])
        fig.add_trace(go.Scatter(
            x=g[x], y=g["val_acc"], name=series, mode="lines+markers+text" if ladder else "markers",
            text=g["label"] if ladder else None, cliponaxis=False,
            textposition=inward(g[x], df[x]) if ladder else None,
            error_y=dict(type="data", array=g["val_std"].fillna(0), visible=True, thickness=1.2),
            marker=dict(size=12 if ladder else 10, color=colors[str(series)], line=dict(width=1, color="white"),
                        symbol=_open_where("star" if ladder else "circle", up)),
            line=dict(width=2.5) if ladder else None, customdata=custom,
            hovertemplate=("<b>%{customdata[0]}</b><br>val acc %{y:.2%} ± %{customdata[1]} over %{customdata[6]} "
                           "seed(s)<br>test acc %{customdata[2]}<br>params %{customdata[3]}<br>MACs %{customdata[4]}"
                           "<br>latency %{customdata[5]}<br>against the reference: %{customdata[7]}%{customdata[8]}"
                           "<extra></extra>")))
    front = df[pareto(df.to_dict("records"), x)].sort_values(x)
    fig.add_trace(go.Scatter(x=front[x], y=front["val_acc"], name="Pareto front", mode="lines",
                             line=dict(color=MUTED, dash="dash", shape="hv"), hoverinfo="skip"))
    fig.update_xaxes(type="log", title_text=FRONTIER_X[x], **log_ticks(df[x]))
    fig.update_yaxes(title_text="validation accuracy (mean over seeds, ± std)", tickformat=".1%")
    fig.update_layout(title="Frontier on your data", height=540, **_LAYOUT)
    fig.update_layout(legend=dict(orientation="h", yanchor="top", y=-0.18, x=0), margin=dict(b=90))
    return fig


# ------------------------------------------------------------------------------------------ search

def _trial_custom(df: pd.DataFrame) -> np.ndarray:
    def col(name: str, fmt: Any) -> list:
        return df[name].map(fmt).tolist() if name in df else ["n/a"] * len(df)

    return np.column_stack([df["number"].astype(int), col("params", si), col("macs", si),
                            col("val_acc", _pct), col("latency_ms", lambda v: _num(v, "{:.2f} ms")),
                            df["state"].astype(str)]) if len(df) else np.empty((0, 6))


TRIAL_HOVER = ("trial %{customdata[0]} (%{customdata[5]})<br>params %{customdata[1]}<br>"
               "MACs %{customdata[2]}<br>val acc %{customdata[3]}<br>latency %{customdata[4]}")


def optimization_history(trials: pd.DataFrame, objective: int = 0, label: str = "objective",
                         direction: str = "maximize") -> go.Figure:
    """Objective value per complete trial and the best so far."""
    col = f"value_{objective}"
    done = trials[(trials["state"] == "COMPLETE") & np.isfinite(trials[col].astype(float))].sort_values("number")
    if done.empty:
        return empty_figure("no complete trial yet", "Optimisation history")
    best = done[col].cummax() if direction == "maximize" else done[col].cummin()
    fig = go.Figure()
    fig.add_trace(go.Scatter(
        x=done["number"], y=done[col], mode="markers", name="complete trial",
        marker=dict(size=6, color=STATE_COLORS["COMPLETE"], opacity=0.6),
        customdata=_trial_custom(done), hovertemplate=f"{label} %{{y:.4g}}<br>" + TRIAL_HOVER + "<extra></extra>"))
    fig.add_trace(go.Scatter(x=done["number"], y=best, mode="lines", name="best so far",
                             line=dict(color="#d62728", width=2, shape="hv"),
                             hovertemplate=f"best {label} %{{y:.4g}} after trial %{{x}}<extra></extra>"))
    fig.update_xaxes(title_text="trial number")
    fig.update_yaxes(title_text=f"{label} ({direction})")
    fig.update_layout(title="Optimisation history", height=420, **_LAYOUT)
    return fig


def pareto_front(trials: pd.DataFrame, x: str, y: str, x_label: str, y_label: str,
                 x_log: bool | str = "auto", staircase: bool = True) -> go.Figure:
    """Complete trials in the (x, y) plane, the non-dominated ones (``pareto`` column) joined.

    ``x_log="auto"``: a log x axis when every x is positive and they span a decade or more.
    ``staircase``: draw the front as steps (right for x minimised and y maximised: the best y
    reachable for at most that x); else straight segments.
    """
    done = trials[(trials["state"] == "COMPLETE")].dropna(subset=[x, y])
    done = done[np.isfinite(done[x].astype(float)) & np.isfinite(done[y].astype(float))]
    if x_log == "auto":
        xs = done[x].astype(float)
        x_log = bool(len(xs)) and bool((xs > 0).all()) and float(xs.max()) >= 10 * float(xs.min())
    if x_log:
        done = done[done[x] > 0]
    if done.empty:
        return empty_figure("no complete trial with both values yet", "Pareto front")
    front = done[done["pareto"].astype(bool)].sort_values(x)
    rest = done[~done["pareto"].astype(bool)]
    hover = f"{x_label} %{{x:.4g}}<br>{y_label} %{{y:.4g}}<br>" + TRIAL_HOVER + "<extra></extra>"
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=rest[x], y=rest[y], mode="markers", name="dominated trials",
                             marker=dict(size=6, color=MUTED, opacity=0.45),
                             customdata=_trial_custom(rest), hovertemplate=hover))
    fig.add_trace(go.Scatter(x=front[x], y=front[y], mode="lines+markers", name="Pareto front",
                             line=dict(color="#d62728", shape="hv" if staircase else "linear"),
                             marker=dict(size=9, color="#d62728"),
                             customdata=_trial_custom(front), hovertemplate=hover))
    fig.update_xaxes(title_text=x_label + (" (log scale)" if x_log else ""), type="log" if x_log else "linear")
    fig.update_yaxes(title_text=y_label)
    fig.update_layout(title=f"Pareto front: {y_label} vs {x_label}", height=420, **_LAYOUT)
    return fig


def _broken_lines(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x, y and trial numbers of many trials' curves as one line with NaN breaks between trials."""
    df = df.sort_values(["number", "step"])
    numbers = df["number"].to_numpy()
    breaks = np.flatnonzero(np.diff(numbers)) + 1
    x = np.insert(df["step"].to_numpy(dtype=float), breaks, np.nan)
    y = np.insert(df["value"].to_numpy(dtype=float), breaks, np.nan)
    n = np.insert(numbers.astype(float), breaks, np.nan)
    return x, y, n


def intermediate_values(intermediate: pd.DataFrame, label: str = "intermediate value") -> go.Figure:
    """Every trial's reports (what the pruner saw), one trace per final state."""
    df = intermediate[np.isfinite(intermediate["value"].astype(float))] if len(intermediate) else intermediate
    if df.empty:
        return empty_figure("no trial reported intermediate values", "Intermediate values")
    fig = go.Figure()
    present = set(df["state"].unique().tolist())
    known = ("COMPLETE", "PRUNED", "RUNNING", "FAIL")
    for state in [s for s in known if s in present] + sorted(present - set(known)):
        g = df[df["state"] == state]
        x, y, n = _broken_lines(g)
        fig.add_trace(go.Scatter(
            x=x, y=y, mode="lines+markers", name=f"{state.lower()} ({g['number'].nunique()})",
            line=dict(width=1, color=STATE_COLORS.get(state, MUTED)), marker=dict(size=3),
            opacity=0.5, customdata=n, connectgaps=False,
            hovertemplate="trial %{customdata:.0f}<br>step %{x}<br>" + label + " %{y:.4g}<extra></extra>"))
    fig.update_xaxes(title_text="step (epoch)")
    fig.update_yaxes(title_text=label)
    fig.update_layout(title="Intermediate values (pruning reports)", height=420, **_LAYOUT)
    return fig


def param_importances(importances: pd.DataFrame | None, note: str | None = None) -> go.Figure:
    """Horizontal bars, most important at the top."""
    if importances is None or importances.empty:
        return empty_figure(note or "no importances", "Parameter importances")
    df = importances.sort_values("importance")
    fig = go.Figure(go.Bar(
        x=df["importance"], y=df["param"].astype(str), orientation="h", marker_color="#1f77b4",
        text=df["importance"].map(lambda v: f"{v:.2f}"), textposition="outside",
        hovertemplate="%{y}: %{x:.3f}<extra></extra>"))
    fig.update_xaxes(title_text="importance (PED-ANOVA, normalised to sum 1)", rangemode="tozero")
    fig.update_yaxes(title_text=None)
    fig.update_layout(title="Parameter importances", height=max(300, 120 + 24 * len(df)), **_LAYOUT)
    return fig


# ----------------------------------------------------------------------------------------- scaling

def scaling_grid(grid: pd.DataFrame) -> go.Figure:
    """Accuracy over the alpha (depth) x beta (width) grid; gamma (resolution) follows from the
    constraint and is written in each cell. Where several gammas share a cell, the best is shown."""
    df = grid.dropna(subset=["alpha", "beta", "gamma", "val_acc"])
    if df.empty:
        return empty_figure("the grid has no finished point", "Compound coefficients")
    best_cell = df.sort_values("val_acc", ascending=False).drop_duplicates(["alpha", "beta"])
    alphas = np.sort(best_cell["alpha"].unique())
    betas = np.sort(best_cell["beta"].unique())
    z = np.full((len(betas), len(alphas)), np.nan)
    text = np.full(z.shape, "", dtype=object)
    custom = np.full(z.shape + (4,), "", dtype=object)
    ai = {a: i for i, a in enumerate(alphas)}
    bi = {b: i for i, b in enumerate(betas)}
    for _, r in best_cell.iterrows():
        i, j = bi[r["beta"]], ai[r["alpha"]]
        z[i, j] = r["val_acc"]
        text[i, j] = f"γ {r['gamma']:.2f}"
        product = r["alpha"] * r["beta"] ** 2 * r["gamma"] ** 2
        custom[i, j] = [f"{r['gamma']:.3f}", f"{product:.3f}", si(r.get("macs")), si(r.get("params"))]
    fig = go.Figure(go.Heatmap(
        x=alphas, y=betas, z=z, text=text, texttemplate="%{text}", colorscale="Viridis",
        colorbar=dict(title=dict(text="val acc"), tickformat=".1%"), customdata=custom,
        hovertemplate=("α %{x:.3f} · β %{y:.3f} · γ %{customdata[0]}<br>α·β²·γ² = %{customdata[1]}<br>"
                       "val acc %{z:.2%}<br>MACs %{customdata[2]} · params %{customdata[3]}<extra></extra>")))
    top = df.loc[df["val_acc"].idxmax()]
    fig.add_trace(go.Scatter(x=[top["alpha"]], y=[top["beta"]], mode="markers", name="best",
                             marker=dict(symbol="star", size=18, color="white", line=dict(width=1.5, color="black")),
                             hovertemplate=(f"best: α {top['alpha']:.3f}, β {top['beta']:.3f}, γ {top['gamma']:.3f}"
                                            f"<br>val acc {top['val_acc']:.2%}<extra></extra>")))
    fig.update_xaxes(title_text="α (depth coefficient)")
    fig.update_yaxes(title_text="β (width coefficient)")
    fig.update_layout(title="Compound-scaling grid at φ = 1 (accuracy)", height=460, **_LAYOUT)
    return fig


def scaling_ladders(ladder: pd.DataFrame) -> go.Figure:
    """Derived (α^φ, β^φ, γ^φ) and published (B1..L2) ladders: MACs and params against φ, with
    the ideal 2^φ MAC growth where the MAC ratio is known."""
    df = ladder.copy()
    if df.empty:
        return empty_figure("the ladder is empty", "Ladders")
    if "phi" not in df or df["phi"].isna().all():
        df["phi"] = df.groupby("label").cumcount()
    fig = make_subplots(rows=1, cols=2, subplot_titles=("MACs", "parameters"), horizontal_spacing=0.1)
    for label, g in df.sort_values("phi").groupby("label", sort=True):
        color = LADDER_COLORS.get(str(label), PALETTE[len(fig.data) % len(PALETTE)])
        up = upsampled(g)
        custom = np.column_stack([
            g["name"].astype(str), g["phi"].map(lambda v: _num(v, "{:g}")),
            *(g[c].map(lambda v: _num(v, "{:.3g}")) if c in g else ["n/a"] * len(g)
              for c in ("width", "depth", "resolution", "mac_ratio")),
            g["params"].map(si), g["macs"].map(si), np.where(up, UPSAMPLED_NOTE, "")])
        hover = ("<b>%{customdata[0]}</b> (" + str(label) + ", φ %{customdata[1]})<br>width ×%{customdata[2]}"
                 " · depth ×%{customdata[3]} · %{customdata[4]} px<br>MACs %{customdata[7]} "
                 "(×%{customdata[5]} the base)<br>params %{customdata[6]}%{customdata[8]}<extra></extra>")
        for col, metric in ((1, "macs"), (2, "params")):
            fig.add_trace(go.Scatter(
                x=g["phi"], y=g[metric], mode="lines+markers", name=f"{label} ladder", legendgroup=str(label),
                showlegend=col == 1, line=dict(color=color, dash="solid" if label == "derived" else "dash"),
                marker=dict(size=8, color=color, symbol=_open_where("circle", up)), customdata=custom,
                hovertemplate=hover), row=1, col=col)
    if "mac_ratio" in df and df["mac_ratio"].notna().any():
        ok = df.dropna(subset=["mac_ratio"])
        ok = ok[ok["mac_ratio"] > 0]
        if len(ok):
            base = float(np.median(ok["macs"] / ok["mac_ratio"]))
            phis = np.linspace(float(df["phi"].min()), float(df["phi"].max()), 50)
            fig.add_trace(go.Scatter(x=phis, y=base * 2.0 ** phis, mode="lines", name="2^φ × base MACs",
                                     line=dict(color=MUTED, dash="dot"),
                                     hovertemplate="φ %{x:.2f}: 2^φ × base = %{y:.3s} MACs<extra></extra>"),
                          row=1, col=1)
    fig.update_yaxes(type="log", title_text="MACs (log scale)", row=1, col=1, **log_ticks(_axis_values(fig, "y")))
    fig.update_yaxes(type="log", title_text="parameters (log scale)", row=1, col=2,
                     **log_ticks(_axis_values(fig, "y2")))
    fig.update_xaxes(title_text="φ (compound coefficient)")
    fig.update_layout(title="Scaled ladders: derived vs published coefficients", height=440, **_LAYOUT)
    return fig


def law_error(x: np.ndarray, fit: Mapping[str, float]) -> np.ndarray:
    """The fitted law: error = a * x^-b + c."""
    return fit["a"] * np.power(x, -fit["b"]) + fit["c"]


def law_band(x: np.ndarray, fit: Mapping[str, float], z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """(low, high) error band: ±z standard errors, propagated to first order from a, b, c."""
    xb = np.power(x, -fit["b"])
    sigma = np.sqrt((xb * fit.get("a_std", 0.0)) ** 2 + (fit["a"] * xb * np.log(x) * fit.get("b_std", 0.0)) ** 2
                    + fit.get("c_std", 0.0) ** 2)
    err = law_error(x, fit)
    return err - z * sigma, err + z * sigma


def law_x(compare: pd.DataFrame, fit: Mapping[str, Any]) -> str:
    """Which column the law's x is: ``fit['x']`` if given, else whichever of MACs and MAC ratio
    reproduces the measured errors best (fits.json does not have to say)."""
    if fit.get("x") in ("macs", "mac_ratio"):
        return str(fit["x"])
    best, best_err = "macs", math.inf
    for col in ("macs", "mac_ratio"):
        if col not in compare or compare[col].isna().all():
            continue
        pts = compare.dropna(subset=[col, "val_acc"])
        pts = pts[pts[col] > 0]
        if pts.empty:
            continue
        with np.errstate(all="ignore"):
            resid = np.nanmean(np.abs(law_error(pts[col].to_numpy(dtype=float), fit) - (1 - pts["val_acc"])))
        if np.isfinite(resid) and resid < best_err:
            best, best_err = col, resid
    return best


def law_x_label(fit: Mapping[str, Any], xcol: str | None = None) -> str:
    """What a fitted law's x is, for labels: MACs, or MACs relative to the base's (``m0`` when known);
    ``xcol`` as ``law_x`` found it, when the fit does not say."""
    kind = fit.get("x") or xcol or ("mac_ratio" if fit.get("m0") else "macs")
    if kind == "macs":
        return "MACs"
    return f"MACs / {si(fit['m0'])}" if fit.get("m0") else "MACs / base"


def scaling_compare(compare: pd.DataFrame, fits: Mapping[str, Mapping[str, float]] | None = None,
                    extrapolate: float = 4.0) -> go.Figure:
    """Accuracy vs MACs of each scaling strategy (depth, width, resolution only, compound, dWr), the
    fitted law accuracy = 1 - (a * x^-b + c) through them, extrapolated ``extrapolate`` times past
    the largest measured model (dashed), with its 95% band (compound's shown, the others one
    legend click away, as five overlapping bands hide the curves). A table written with seeds
    (``val_std``, ``seeds``, ``verdict``) draws each cell's spread over seeds as an error bar and says
    its verdict against compound on hover; an older one without them draws the points alone."""
    df = compare.dropna(subset=["macs", "val_acc"])
    df = df[df["macs"] > 0]
    if df.empty:
        return empty_figure("no finished comparison point", "Compound vs single-dimension scaling")
    fits = fits or {}
    fig = go.Figure()
    present = set(df["strategy"].unique().tolist())
    strategies = [s for s in STRATEGY_COLORS if s in present]
    strategies += sorted(present - set(strategies))
    for i, strategy in enumerate(strategies):
        g = df[df["strategy"] == strategy].sort_values("macs")
        color = STRATEGY_COLORS.get(strategy, PALETTE[i % len(PALETTE)])
        ratio = g["mac_ratio"] if "mac_ratio" in g else pd.Series(np.nan, index=g.index)
        up = upsampled(g)
        custom = [ratio.map(lambda v: _num(v, "{:.2f}")), g["macs"].map(si)]
        spread, error = "", None
        if "val_std" in g and g["val_std"].notna().any():  # written with seeds
            seeds = g["seeds"].map(lambda v: _num(v, "{:g}")) if "seeds" in g else pd.Series("?", index=g.index)
            verdict = g["verdict"].fillna("-").astype(str) if "verdict" in g else pd.Series("-", index=g.index)
            custom += [g["val_std"].map(_pct), seeds, verdict]
            spread = " ± %{customdata[2]} over %{customdata[3]} seed(s)<br>vs compound: %{customdata[4]}"
            error = dict(type="data", array=g["val_std"].fillna(0), visible=True, thickness=1.2, color=color)
        fig.add_trace(go.Scatter(
            x=g["macs"], y=g["val_acc"], mode="markers", name=f"{strategy} (measured)", legendgroup=strategy,
            marker=dict(size=10, color=color, symbol=_open_where("diamond" if strategy == "compound" else "circle", up)),
            error_y=error, customdata=np.column_stack([*custom, np.where(up, UPSAMPLED_NOTE, "")]),
            hovertemplate=(f"<b>{strategy}</b> ×%{{customdata[0]}} MACs (%{{customdata[1]}})<br>"
                           f"val acc %{{y:.2%}}{spread}%{{customdata[{len(custom)}]}}<extra></extra>")))
        fit = fits.get(strategy)
        if not fit:
            continue
        xcol = law_x(g, fit)
        scale = 1.0
        if xcol == "mac_ratio" and fit.get("m0"):
            scale = float(fit["m0"])  # the base's MACs, as the fit counted them
        elif xcol == "mac_ratio":
            ok = g.dropna(subset=["mac_ratio"])
            ok = ok[ok["mac_ratio"] > 0]
            if ok.empty:
                continue
            scale = float(np.median(ok["macs"] / ok["mac_ratio"]))  # MACs of the base, near enough
        lo, hi = float(g["macs"].min()), float(g["macs"].max())
        measured = np.geomspace(lo, hi, 40) if hi > lo else np.array([lo])
        beyond = np.geomspace(hi, hi * extrapolate, 30)
        every = np.concatenate([measured, beyond])
        with np.errstate(all="ignore"):
            acc = 1.0 - law_error(every / scale, fit)
            band_lo, band_hi = law_band(every / scale, fit)
        law = f"1 − ({fit['a']:.3g}·x^−{fit['b']:.3g} + {fit['c']:.3g}), x = {law_x_label(fit, xcol)}"
        fig.add_trace(go.Scatter(x=np.concatenate([every, every[::-1]]),
                                 y=np.concatenate([1.0 - band_hi, (1.0 - band_lo)[::-1]]),
                                 fill="toself", fillcolor=_rgba(color, 0.15), line=dict(width=0),
                                 name=f"{strategy} 95% band", hoverinfo="skip",
                                 visible=True if strategy == "compound" else "legendonly"))
        fig.add_trace(go.Scatter(x=measured, y=acc[:len(measured)], mode="lines", name=f"{strategy} fit",
                                 legendgroup=strategy, line=dict(color=color, width=2),
                                 hovertemplate=f"{strategy} fit: {law}<br>MACs %{{x:.3s}} → acc %{{y:.2%}}<extra></extra>"))
        fig.add_trace(go.Scatter(x=beyond, y=acc[len(measured):], mode="lines", name=f"{strategy} extrapolated",
                                 legendgroup=strategy, showlegend=False, line=dict(color=color, width=2, dash="dash"),
                                 hovertemplate=(f"{strategy} extrapolated: {law}<br>MACs %{{x:.3s}} → acc %{{y:.2%}}"
                                                "<extra></extra>")))
    fig.update_xaxes(type="log", title_text="MACs (multiply-adds, log scale)", **log_ticks(_axis_values(fig, "x")))
    fig.update_yaxes(title_text="validation accuracy", tickformat=".1%")
    fig.update_layout(title="Compound vs single-dimension scaling (fitted laws, 95% bands)", height=500, **_LAYOUT)
    return fig


def _rgba(hex_color: str, alpha: float) -> str:
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


# -------------------------------------------------------------------------------------- robustness

def robustness_errors(errors: pd.DataFrame) -> go.Figure:
    """Test error per corruption (rows) and severity (columns), one heatmap per model side by side on
    one colour scale. ``errors``: ``label``, ``corruption``, ``severity``, ``error`` (a fraction)."""
    df = errors.dropna(subset=["error"]) if len(errors) else errors
    if df.empty:
        return empty_figure("no corruption errors in this comparison", "Error per corruption and severity")
    labels = list(dict.fromkeys(df["label"].astype(str)))
    corruptions = sorted(df["corruption"].astype(str).unique())
    severities = sorted(int(s) for s in df["severity"].unique())
    fig = make_subplots(rows=1, cols=len(labels), shared_yaxes=True, subplot_titles=labels,
                        horizontal_spacing=min(0.04, 0.3 / len(labels)))
    zmax = float(df["error"].max()) or 1.0
    for col, label in enumerate(labels, 1):
        table = (df[df["label"].astype(str) == label].pivot_table(index="corruption", columns="severity",
                                                                  values="error", aggfunc="mean")
                 .reindex(index=corruptions, columns=severities))
        fig.add_trace(go.Heatmap(
            x=[f"s{s}" for s in severities], y=corruptions, z=table.to_numpy(), zmin=0.0, zmax=zmax,
            colorscale="Reds", showscale=col == 1, name=label, texttemplate="%{z:.0%}",
            colorbar=dict(title=dict(text="error"), tickformat=".0%"),
            hovertemplate=f"<b>{label}</b><br>%{{y}} at severity %{{x}}: error %{{z:.2%}}<extra></extra>"),
            row=1, col=col)
    fig.update_xaxes(title_text="severity")
    fig.update_yaxes(title_text="corruption", row=1, col=1)
    fig.update_layout(title="Test error per corruption and severity", height=max(320, 140 + 26 * len(corruptions)),
                      **_LAYOUT)
    return fig


def robustness_mce(models: pd.DataFrame) -> go.Figure:
    """mCE (corruption errors relative to the reference, unseen corruptions) against MACs, one point per
    model, the reference (mCE 1 by definition) a star and a dashed line at 1. ``models``: ``label``,
    ``run_id``, ``macs``, ``mce``, ``is_reference``, ``clean_error``, ``mean_error``, ``relative_mce``, ``mfr``."""
    df = models.dropna(subset=["macs", "mce"]) if len(models) else models
    df = df[df["macs"] > 0] if len(df) else df
    if df.empty:
        return empty_figure("no model has both MACs and an mCE", "mCE against MACs")
    fig = go.Figure()
    for ref, g in df.groupby(df["is_reference"].astype(bool), sort=True):
        custom = np.column_stack([g["label"].astype(str), g["run_id"].astype(str), g["macs"].map(si),
                                  g["clean_error"].map(_pct), g["mean_error"].map(_pct),
                                  g["relative_mce"].map(_num), g["mfr"].map(_num)])
        fig.add_trace(go.Scatter(
            x=g["macs"], y=g["mce"], mode="markers+text", text=g["label"], textposition="top center",
            cliponaxis=False, name="reference" if ref else "models",
            marker=dict(size=16 if ref else 11, symbol="star" if ref else "circle", color="#d62728" if ref else "#1f77b4",
                        line=dict(width=1, color="white")),
            customdata=custom,
            hovertemplate=("<b>%{customdata[0]}</b>" + (" (reference)" if ref else "") + "<br>mCE %{y:.3f} · "
                           "relative mCE %{customdata[5]} · mFR %{customdata[6]}<br>clean error %{customdata[3]} · "
                           "mean corruption error %{customdata[4]}<br>MACs %{customdata[2]}<br>run %{customdata[1]}"
                           "<extra></extra>")))
    fig.add_hline(y=1.0, line=dict(color=MUTED, dash="dash"))
    fig.update_xaxes(type="log", title_text="MACs (multiply-adds, log scale)", **log_ticks(df["macs"]))
    fig.update_yaxes(title_text="mCE (relative to the reference, lower is more robust)")
    fig.update_layout(title="mCE against MACs", height=460, **_LAYOUT)
    return fig


# ----------------------------------------------------------------------------------------- inspect

def inspect_stages(layers: pd.DataFrame, title: str = "Per stage") -> go.Figure:
    """Params, MACs and activations of each DSL layer line (a stage when repeated), side by side."""
    if layers.empty:
        return empty_figure("no layers", title)
    labels = layers["label"].astype(str).tolist()
    fig = make_subplots(rows=1, cols=3, shared_yaxes=True, horizontal_spacing=0.03,
                        subplot_titles=("parameters", "MACs", "activations"))
    for col, (metric, color) in enumerate((("params", "#1f77b4"), ("macs", "#d62728"), ("acts", "#2ca02c")), 1):
        values = layers[metric].astype(float)
        total = float(values.sum()) or 1.0
        custom = np.column_stack([layers["shape"].astype(str), layers["repeats"].astype(int),
                                  values.map(si), (values / total).map(lambda v: f"{100 * v:.1f}%")])
        fig.add_trace(go.Bar(
            x=values, y=labels, orientation="h", name=metric, marker_color=color, showlegend=False,
            customdata=custom,
            hovertemplate=("%{y}<br>output %{customdata[0]} · %{customdata[1]} block(s)<br>"
                           f"{metric} %{{customdata[2]}} (%{{customdata[3]}} of the total)<extra></extra>")),
            row=1, col=col)
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_layout(title=title, height=max(360, 110 + 22 * len(labels)), bargap=0.25, **_LAYOUT)
    return fig


# ------------------------------------------------------------------------------------ self-training

#: The roles of a self-training table, drawn in this order and colour.
STUDENT_ROLES = {"student": "#d62728", "supervised": "#1f77b4", "noiseless": "#ff7f0e"}


def self_training(table: pd.DataFrame) -> go.Figure:
    """Test accuracy up the ladder: the noisy students (from the first teacher, iteration 0) against the
    supervised baseline and the noiseless student at each iteration, each with its seed spread as an
    error bar; the pseudo-labels' accuracy on the pool per iteration on a second axis."""
    df = table.dropna(subset=["test_acc"])
    if df.empty:
        return empty_figure("no self-training row has a test accuracy")
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    teacher = df[(df["role"] == "teacher") & (df["iteration"] == df["iteration"].min())]
    for role, color in STUDENT_ROLES.items():
        g = df[df["role"] == role].sort_values("iteration")
        if g.empty:
            continue
        if role == "student":
            g = pd.concat([teacher.assign(iteration=teacher["iteration"] - 1), g])
        custom = np.column_stack([g["label"].astype(str), g["role"].astype(str), g["test_std"].map(_pct),
                                  g["seeds"].map(lambda v: _num(v, "{:g}")), g["macs"].map(si),
                                  g["verdict"].fillna("").astype(str)])
        fig.add_trace(go.Scatter(
            x=g["iteration"], y=g["test_acc"], name={"student": "noisy student (from the teacher)"}.get(role, role),
            mode="lines+markers+text" if role == "student" else "lines+markers",
            text=g["label"] if role == "student" else None, textposition="top center", cliponaxis=False,
            error_y=dict(type="data", array=g["test_std"].fillna(0), visible=True, thickness=1.2),
            marker=dict(size=11, color=color), line=dict(color=color, width=2.5 if role == "student" else 1.5),
            customdata=custom,
            hovertemplate=("<b>%{customdata[0]}</b> (%{customdata[1]})<br>test acc %{y:.2%} ± %{customdata[2]} over "
                           "%{customdata[3]} seed(s)<br>MACs %{customdata[4]}<br>the student against it: "
                           "%{customdata[5]}<extra></extra>")), secondary_y=False)
    pseudo = df[(df["role"] == "student") & df["pseudo_acc"].notna()].sort_values("iteration")
    if not pseudo.empty:
        fig.add_trace(go.Bar(x=pseudo["iteration"], y=pseudo["pseudo_acc"], name="pseudo-label accuracy (pool)",
                             marker=dict(color=MUTED), opacity=0.35, width=0.3,
                             hovertemplate="iteration %{x}: pseudo-labels %{y:.2%} right<extra></extra>"),
                      secondary_y=True)
    first, last = df["iteration"].min() - 1, df["iteration"].max()  # the teacher is drawn one step left
    fig.update_xaxes(title_text="iteration (0: the teacher)", dtick=1, range=[first - 0.5, last + 0.5])
    fig.update_yaxes(title_text="test accuracy (mean over seeds, ± std)", tickformat=".1%", secondary_y=False)
    fig.update_yaxes(title_text="pseudo-label accuracy", tickformat=".0%", range=[0, 1], showgrid=False,
                     secondary_y=True)
    fig.update_layout(title="Self-training up the ladder", height=500, **_LAYOUT)
    fig.update_layout(legend=dict(orientation="h", yanchor="top", y=-0.18, x=0), margin=dict(b=90))
    return fig
