"""The results/ folder as its readers see it: every run writer records what the dashboard filters on."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from scaler.dashboard import data as dash
from scaler.data import DataConfig, Dataset, load_data
from scaler.dsl import TrainedFor, read_trained_for
from scaler.report import si
from scaler.results import schema
from scaler.search import SearchConfig, SearchResult, run_search
from scaler.training.trainer import TrainConfig

SPACE = """model tiny
  resolution 16
  stem  conv c{8,16} k3
  stage conv c16 k3 s2
  head  gpool
  head  fc
"""


@pytest.fixture(scope="module")
def searched(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Dataset, SearchResult]:
    """A two-trial search on one-channel, three-class synthetic data: (results folder, data, result)."""
    root = tmp_path_factory.mktemp("searched")
    space = root / "tiny.arch"
    space.write_text(SPACE)
    data = load_data(DataConfig(name="synthetic:classes=3,size=240,test_size=32,resolution=16,channels=1",
                                val_size=64, download=False))
    cfg = SearchConfig(space=str(space), trials=2, width=1.0, seed=0, proxy_batch=8, confirm=0,
                       storage=f"sqlite:///{root / 'studies.db'}", study="s")
    result = run_search(cfg, data, TrainConfig(epochs=1, batch_size=64, device="cpu"), results=root,
                        progress=False, log=lambda m: None)
    return root, data, result


def test_search_runs_carry_their_data_set_on_the_runs_page(searched: tuple[Path, Dataset, SearchResult]) -> None:
    root, data, _ = searched
    runs, warnings = dash.runs_frame(root)
    assert not warnings and len(runs) == 2
    assert set(runs["kind"]) == {"search"}
    assert set(runs["dataset"]) == {data.name}  # the Runs page's data-set filter shows every run


def test_inspect_counts_a_best_arch_as_the_search_did(cli, searched: tuple[Path, Dataset, SearchResult]) -> None:
    """The saved baseline says what it was trained for, so inspect prints the search's own counts."""
    root, data, result = searched
    best = root / "search" / "s" / "best.arch"
    assert read_trained_for(best.read_text()) == TrainedFor(data.name, 3, 1)
    code, out, _ = cli("inspect", str(best), "--json")
    counted = json.loads(out)
    assert code == 0
    assert (counted["params"], counted["macs"]) == (result.baseline["params"], result.baseline["macs"])
    assert (counted["classes"], counted["in_channels"], counted["trained_for"]) == (3, 1, data.name)
    code, out, _ = cli("inspect", str(best))
    assert code == 0 and f"{result.baseline['params']:,} params, {si(result.baseline['macs'])} MACs" in out
    assert f"as trained on {data.name}" in out
    code, out, _ = cli("inspect", str(best), "--classes", "1000", "--json")
    assert json.loads(out)["params"] > result.baseline["params"]  # told otherwise, it counts another head


def test_a_runs_model_arch_says_what_it_was_trained_for(searched: tuple[Path, Dataset, SearchResult]) -> None:
    root, data, _ = searched
    for arch in (root / "runs").glob("*/model.arch"):
        assert read_trained_for(arch.read_text()) == TrainedFor(data.name, 3, 1)


def test_scale_rungs_say_what_they_were_trained_for_when_trained(tmp_path: Path) -> None:
    from scaler.scaling.coefficients import Coefficients
    from scaler.scaling.growth import ladder
    from scaler.scaling.run import write_results
    from scaler.zoo import get_model

    rows = ladder(get_model("efficientnet-b0"), Coefficients(1.2, 1.1, 1.15), [1], "b0")
    trained = TrainedFor("fashion-mnist", 10, 1)
    paths = write_results(tmp_path / "a", rows, None, Coefficients(1.2, 1.1, 1.15), None, trained)
    assert all(read_trained_for(Path(p).read_text()) == trained for p in paths.values())
    paths = write_results(tmp_path / "b", rows, None, Coefficients(1.2, 1.1, 1.15), None)
    assert all(read_trained_for(Path(p).read_text()) is None for p in paths.values())


def test_the_trained_for_header_reads_back_and_leaves_the_spec_alone() -> None:
    from scaler.dsl import parse_spec

    text = "model m\n  stem conv c8 k3\n  head gpool\n  head fc\n"
    marked = TrainedFor("imagefolder:/my pics", 7, 3).mark(text)
    assert parse_spec(marked) == parse_spec(text)
    assert read_trained_for(marked) == TrainedFor("imagefolder:/my pics", 7, 3)
    assert TrainedFor("cifar10", 10, 3).mark(marked).count("trained-for") == 1  # a new mark replaces the old
    assert read_trained_for(text) is None
    assert read_trained_for('# trained-for: {"data": "x", "classes": 0, "in_channels": 1}\n' + text) is None


def test_a_run_record_round_trips_and_an_old_one_still_loads(tmp_path: Path) -> None:
    from scaler.results import load_runs, read_record, save_run
    from scaler.results.record import RunRecord

    record = RunRecord(name="m", spec="model m\n", status="ok", params=10, macs=20, num_classes=2, in_channels=1,
                       data={"name": "synthetic"}, mean=[0.5], std=[0.25], class_names=["a", "b"])
    folder = save_run(record, "train", tmp_path, extra={"phi": 1})
    saved = read_record(folder)
    assert saved == dataclasses.replace(record, run_id=folder.name, kind="train", created=saved.created,
                                        extra={"phi": 1})
    assert saved.schema_version == schema.SCHEMA_VERSION == 2
    old = tmp_path / "runs" / "old"
    old.mkdir()
    version1 = {k: v for k, v in saved.as_dict().items() if k not in ("mean", "std", "class_names")}
    (old / schema.RUN_RECORD).write_text(json.dumps({**version1, "schema_version": 1, "run_id": "old"}))
    assert read_record(old).mean is None and read_record(old).schema_version == 1
    runs, warnings = load_runs(tmp_path)
    assert not warnings and [r["run_id"] for r in runs] == [folder.name, "old"]
    assert runs[1]["class_names"] is None and runs[1]["path"] == str(old)


def test_one_formatter_for_a_spread_and_one_for_a_comparison() -> None:
    from scaler.report import format_comparison, format_spread
    from scaler.stats import compare, spread

    assert format_spread(0.82, 0.02) == str(spread([0.80, 0.82, 0.84])) == "0.8200 ± 0.0200"
    assert format_spread(0.82) == str(spread([0.82])) == "0.8200" and format_spread(None) == "-"
    assert format_spread(0.82, float("nan"), percent=True) == "82.00%"
    assert format_comparison(0.012, 0.004, 0.02, "better") == "+0.0120 [+0.0040, +0.0200] better"
    assert format_comparison(-0.01, -0.014, -0.006, percent=True) == "-1.00% [-1.40%, -0.60%]"
    assert str(compare([0.8], [0.7])) == format_comparison(0.1, float("-inf"), float("inf")) == "+0.1000 (one seed)"
    paired = compare([0.80, 0.82, 0.81], [0.70, 0.71, 0.72])
    assert str(paired) == format_comparison(paired.diff, paired.low, paired.high, "better")
    assert format_comparison(None) == "-"
