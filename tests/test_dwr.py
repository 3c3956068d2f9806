"""dWr, the fast compound scaling of Dollar, Singh and Girshick 2021, as a fifth strategy of ``scaler scale
--compare``, and the activations (as trained) of every comparison cell."""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path

import pandas as pd
import pytest

from scaler.dashboard import figures as F
from scaler.data import DataConfig
from scaler.nn.complexity import complexity
from scaler.results.schema import COMPARE, STRATEGIES
from scaler.scaling.cells import Fidelity
from scaler.scaling.coefficients import Coefficients
from scaler.scaling.compare import DWR_EXPONENTS, compare_plan, dwr_multipliers, strategy_spec
from scaler.training.store import DataCache
from scaler.training.trainer import TrainConfig
from scaler.zoo import get_model

pytestmark = pytest.mark.usefixtures("one_torch_thread")

PAPER = Coefficients(1.2, 1.1, 1.15, "paper")
#: B0 as ``scaler scale`` grows it: repeats rounded to the nearest (``--depth-round round``, the default).
B0 = dataclasses.replace(get_model("efficientnet-b0"), depth_round="round")


def nominal(spec) -> tuple[int, int]:
    cx = complexity(spec)
    return cx.macs, cx.acts


def test_the_exponents_share_the_macs_0_1_0_8_0_1() -> None:
    e = DWR_EXPONENTS
    assert (e["depth"], 2 * e["width"], 2 * e["resolution"]) == pytest.approx((0.1, 0.8, 0.1))
    d, w, r = dwr_multipliers(16.0)
    assert (d, w, r) == pytest.approx((16 ** 0.1, 16 ** 0.4, 16 ** 0.05))
    assert d * w ** 2 * r ** 2 == pytest.approx(16.0)


@pytest.mark.parametrize("target", [2.0, 4.0, 8.0])
def test_dwr_multipliers_follow_s_and_hit_the_mac_ratio(target: float) -> None:
    macs = lambda s: complexity(s).macs  # noqa: E731
    mult, spec, m = strategy_spec("dwr", B0, target, PAPER, macs, "b0")
    s = mult["s"]
    assert m == macs(spec) and m / macs(B0) == pytest.approx(target, rel=0.05)  # the other strategies' tolerance
    assert (mult["depth"], mult["width"]) == pytest.approx((s ** 0.1, s ** 0.4), rel=1e-9)
    assert (spec.depth, spec.width) == pytest.approx((mult["depth"], mult["width"]), rel=1e-9)
    assert abs(spec.resolution - 224 * s ** 0.05) <= 0.5 and mult["resolution"] == spec.resolution / 224
    assert spec.name == f"b0-dwr-{target:g}x"
    # at 224 px rounding is small: the growth found is near the target (at 16-32 px it is not)
    assert s == pytest.approx(target, rel=0.1)


def test_dwr_activations_grow_between_width_only_and_compound_at_matched_macs() -> None:
    """Activations grow as d * w * r^2: width-only s^0.5, dWr s^0.6, EfficientNet's compound s^0.85 (depth and
    resolution only: s). Measured on B0 at 224 px (width 1.44x acts at 2x MACs, dWr 1.51x, compound 1.58x;
    at 8x 2.96x, 3.30x, 5.56x)."""
    m0, a0 = nominal(B0)
    macs = lambda s: complexity(s).macs  # noqa: E731
    for ratio in (2.0, 4.0, 8.0):
        grown = {s: nominal(strategy_spec(s, B0, ratio, PAPER, macs, "b0")[1]) for s in STRATEGIES}
        acts = {s: a / a0 for s, (_, a) in grown.items()}
        assert acts["width"] < acts["dwr"] < acts["compound"] < min(acts["depth"], acts["resolution"]), ratio
        assert acts["dwr"] == pytest.approx((grown["dwr"][0] / m0) ** 0.6, rel=0.1)


def test_dwr_cells_at_fidelity_count_fewer_activations_than_compound() -> None:
    """The plan as trained: B0 at width 0.25 and 28 px with its adapted strides. Tiny channel counts round
    coarsely, so at 2x the order can flip (64 px, width 0.5: dWr 1.66x, compound 1.48x); at 4x and 8x it holds."""
    data = DataConfig(name="synthetic:classes=4,size=40,resolution=28,channels=1", val_size=8, download=False)
    fidelity = Fidelity(0.25, DataCache(data), TrainConfig(epochs=1, device="cpu"), log=lambda m: None)
    plan = compare_plan(fidelity.base(B0), PAPER, fidelity, [4.0, 8.0], "b0")
    assert [p.strategy for p in plan].count("dwr") == 2
    a0 = fidelity.trained_count(plan[0].spec).acts
    for ratio in (4.0, 8.0):
        acts = {p.strategy: fidelity.trained_count(p.spec).acts / a0 for p in plan if p.ratio == ratio}
        assert acts["width"] < acts["dwr"] < acts["compound"], (ratio, acts)


def test_the_compare_figure_draws_dwr_in_its_own_colour() -> None:
    rows = [{"strategy": "baseline", "mac_ratio": 1.0, "macs": 1e6, "val_acc": 0.7}]
    rows += [{"strategy": s, "mac_ratio": k, "macs": k * 1e6, "val_acc": 0.7 + 0.01 * k}
             for s in STRATEGIES for k in (2.0, 4.0)]
    fit = {"a": 0.3, "b": 0.5, "c": 0.1, "a_std": 0.01, "b_std": 0.01, "c_std": 0.01, "m0": 1e6, "x": "mac_ratio"}
    fig = F.scaling_compare(pd.DataFrame(rows), {s: fit for s in STRATEGIES})
    measured = {t.name: t.marker.color for t in fig.data if t.name.endswith("(measured)")}
    assert {f"{s} (measured)" for s in STRATEGIES} <= set(measured)
    assert len({measured[f"{s} (measured)"] for s in STRATEGIES}) == len(STRATEGIES)
    assert measured["dwr (measured)"] == F.STRATEGY_COLORS["dwr"]
    assert {"dwr fit", "dwr extrapolated", "dwr 95% band"} <= {t.name for t in fig.data}


def test_cli_compare_lists_five_strategies_with_activations(tmp_path: Path, cli, tiny_base: Path) -> None:
    argv = ["scale", "--base", str(tiny_base), "--compare", "--ratios", "2,4", "--alpha", "1.2", "--beta", "1.1",
            "--gamma", "1.15", "--width", "0.5", "--data", "synthetic:classes=4,size=200,resolution=16",
            "--train-size", "64", "--val-size", "32", "--epochs", "1", "--batch-size", "32", "--bootstrap", "0",
            "--jobs", "1", "--device", "cpu", "--results", str(tmp_path)]
    code, out, _ = cli(*argv, "--json")
    assert code == 0
    cmp = json.loads(out)["compare"]
    rows = cmp["rows"]
    assert [r["strategy"] for r in rows] == ["baseline", *[s for s in STRATEGIES for _ in (2, 4)]]
    assert len(STRATEGIES) == 5 and "dwr" in STRATEGIES
    base = rows[0]
    assert base["acts_ratio"] == 1.0
    for r in rows:
        assert isinstance(r["acts"], int) and r["acts"] > 0
        assert r["acts_ratio"] == pytest.approx(r["acts"] / base["acts"])
    dwr = [r for r in rows if r["strategy"] == "dwr"]
    assert all(r["s"] > 1 and r["depth"] == pytest.approx(r["s"] ** 0.1) for r in dwr)
    assert set(cmp["fits"]) == set(STRATEGIES)  # the baseline and two ratios: a law per strategy
    assert {m["strategy"] for m in cmp["matched"]} == set(STRATEGIES)
    out_dir = tmp_path / "scale" / "tiny16"
    written = list(csv.DictReader((out_dir / COMPARE.file).open()))
    assert list(written[0]) == list(COMPARE.columns) and "acts" in COMPARE.numeric
    assert [int(w["acts"]) for w in written] == [r["acts"] for r in rows]
    # the text report (everything reused): the acts column and a line per strategy of how they grew
    code, text, _ = cli(*argv)
    assert code == 0 and " acts " in text
    line = next(ln for ln in text.splitlines() if ln.strip().startswith("dwr ") and "acts" in ln)
    assert f"2x MACs: {dwr[0]['acts_ratio']:.2f}x acts" in line and f"4x MACs: {dwr[1]['acts_ratio']:.2f}x acts" in line
