"""``scaler bench``: zoo models and the found family trained at one fidelity, seed by seed, resumable;
the found family at the size the search trained it and its rungs at the ladder's resolutions."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from scaler.bench import FAMILY_SERIES, format_proxy_vs_final, ladder_entries, pareto, proxy_vs_final
from scaler.data import DEBIAN_FASHION_MNIST_DIR
from scaler.dsl import parse_text, require_spec
from scaler.errors import ScalerError
from scaler.results import load_runs
from scaler.results.schema import LADDER, SCALE, SCALE_MODELS
from scaler.scaling.base import Base
from scaler.zoo import get_model

# Tiny but real: seeded synthetic 16 px images, one epoch.
DATA = ["--data", "synthetic:classes=4,size=256,test_size=64,resolution=16,channels=1", "--val-size", "64",
        "--train-size", "192", "--epochs", "1", "--batch-size", "64", "--device", "cpu"]
BENCH = ["bench", *DATA, "--width", "0.25", "--no-family"]


def cells(results: Path, name: str = "default") -> dict[str, dict]:
    """The bench's trainings in the store, by ``<label>-seed<seed>``."""
    return {f"{r['extra']['label']}-seed{r['extra']['seed']}": r for r in load_runs(results)[0]
            if r["kind"] == "bench" and r["extra"]["bench"] == name}


def trained(err: str) -> list[str]:
    """The cells a bench call trained, in order: 'label seed N' per line it logged."""
    return [" ".join(line.split(": ")[0].split()[2:]) for line in err.splitlines() if line.startswith("bench ")
            and "/" in line.split()[1]]


@pytest.fixture(scope="module")
def family(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """results/ after a tiny search (width 0.5, adapted strides) and a scale that wrote rungs phi 1 and 2."""
    from scaler.cli import main

    results = tmp_path_factory.mktemp("results")
    assert main(["search", "--space", "mbconv", "--trials", "2", "--confirm", "0", "--pruner", "none",
                 "--width", "0.5", *DATA, "--results", str(results)]) == 0
    assert main(["scale", "--phi", "2", "--alpha", "1.2", "--beta", "1.1", "--gamma", "1.15",
                 "--results", str(results)]) == 0
    return results


@pytest.mark.slow
def test_the_found_family_is_benched_as_the_search_trained_it(cli, family: Path) -> None:
    code, out, err = cli("bench", *DATA, "--models", "plain-cnn", "--seeds", "1", "--phis", "1", "2",
                         "--width", "0.5", "--results", str(family), "--json")
    assert code == 0, err
    rows = {r["label"]: r for r in json.loads(out)["rows"]}
    summary = json.loads((family / "search" / "mbconv-reward" / "summary.json").read_text())["baseline"]
    searched = require_spec(next(iter(parse_text(summary["spec"]).values())))
    base = rows[searched.name]
    assert base["series"] == FAMILY_SERIES and base["is_reference"]
    # the width and strides the search trained, applied once: the same network, the same MACs
    assert (base["macs"], base["params"]) == (summary["macs"], summary["params"])
    cell = cells(family)[f"{searched.name}-seed0"]
    assert require_spec(next(iter(parse_text(cell["spec"]).values()))).width == searched.width
    # a rung trains at the data's 16 px times its resolution over the base's, as the ladder wrote them
    ladder = (family / "scale" / searched.name / "ladder.csv").read_text().splitlines()
    res = {line.split(",")[1]: int(line.split(",")[5]) for line in ladder[1:]}
    for phi in (1, 2):
        rung = rows[f"{searched.name}-phi{phi}"]
        assert rung["phi"] == phi and rung["resolution"] == round(16 * res[rung["label"]] / res[searched.name])
    assert rows["plain-cnn"]["resolution"] == 16

    # scale rewrites the rungs with other coefficients: their cells are trained again, the rest are kept
    assert cli("scale", "--phi", "2", "--alpha", "1.1", "--beta", "1.2", "--gamma", "1.1", "--results", str(family))[0] == 0
    code, out, err = cli("bench", *DATA, "--models", "plain-cnn", "--seeds", "1", "--phis", "1", "2",
                         "--width", "0.5", "--results", str(family))
    assert code == 0, err
    assert "2 of 4 cells done earlier" in err and err.count("has changed since it was trained") == 2


@pytest.mark.slow
def test_bench_trains_seed_by_seed_resumes_and_pins_its_settings(cli, tmp_path: Path) -> None:
    argv = [*BENCH, "--models", "plain-cnn,mobilenet-v2", "--seeds", "2", "--results", str(tmp_path)]
    code, out, err = cli(*argv)
    assert code == 0, err
    # every model at seed 0 before any at seed 1 (a bench stopped early still has a table at --seeds 1),
    # and within a seed the model with more MACs first
    macs = {r["label"]: r["macs"] for r in json.loads((tmp_path / "bench" / "default" / "summary.json").read_text())["rows"]}
    big, small = sorted(macs, key=macs.get, reverse=True)
    assert macs[big] > macs[small]
    assert trained(err) == [f"{big} seed 0", f"{small} seed 0", f"{big} seed 1", f"{small} seed 1"]
    assert sorted(cells(tmp_path)) == ["mobilenet-v2-seed0", "mobilenet-v2-seed1", "plain-cnn-seed0", "plain-cnn-seed1"]
    assert "vs plain-cnn (95% CI)" in out  # without the found family the first model is the reference
    before = cells(tmp_path)["plain-cnn-seed0"]

    shutil.rmtree(cells(tmp_path)["mobilenet-v2-seed1"]["path"])  # as if stopped there
    code, out, err = cli(*argv)
    assert code == 0, err
    assert "3 of 4 cells done earlier" in err and trained(err) == ["mobilenet-v2 seed 1"]
    assert cells(tmp_path)["plain-cnn-seed0"] == before and len(load_runs(tmp_path)[0]) == 4

    code, out, err = cli(*argv[:-4], "--seeds", "1", "--results", str(tmp_path), "--json")  # the table at one seed
    assert code == 0 and trained(err) == []
    assert {r["seeds"] for r in json.loads(out)["rows"]} == {1}

    code, out, err = cli(*[a if a != "0.25" else "0.5" for a in argv])
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and "other settings (width)" in err
    assert len(cells(tmp_path)) == 4


@pytest.mark.parametrize(("flags", "message"), [
    (["--models", "plain-cnn,nosuchnet"], "nosuchnet"),
    (["--models", "plain-cnn", "--reference", "resnet18"], "--reference 'resnet18' is not one of the benched"),
    (["--models", "plain-cnn", "--seeds", "0"], "--seeds"),
    (["--models", "plain-cnn", "--preset", "tpu"], "--preset"),
    (["--models", "plain-cnn", "--corruptions", "noise"], "--corruptions only apply with --robustness"),
    (["--models", "plain-cnn", "--robustness", "--corruptions", "nosuch"], "nosuch"),
    (["--models", "plain-cnn", "--robustness", "--severities", "6"], "severit"),
    (["--models", "plain-cnn", "--no-zoo"], "--models names zoo models and --no-zoo leaves them out"),
    (["--models", "plain-cnn", "--base", "efficientnet-b0"], "--base names the family and --no-family leaves it out"),
    (["--no-zoo"], "nothing to bench: no zoo models and no found family"),
])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(cli, tmp_path: Path, flags: list[str], message: str) -> None:
    code, out, err = cli(*BENCH, *flags, "--results", str(tmp_path / "results"))
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and message in err, err
    assert not (tmp_path / "results" / "bench").exists()


def test_pareto_marks_the_models_nothing_beats_on_both_axes() -> None:
    rows = [{"macs": 1, "val_acc": 0.80}, {"macs": 2, "val_acc": 0.85}, {"macs": 3, "val_acc": 0.84},
            {"macs": 2, "val_acc": 0.79}, {"macs": 4, "val_acc": 0.90}]
    assert pareto(rows) == [True, True, False, False, True]



@pytest.mark.skipif(not (DEBIAN_FASHION_MNIST_DIR / "train-images-idx3-ubyte.gz").is_file(),
                    reason="Debian's dataset-fashion-mnist is not installed")
def test_a_fashion_mnist_bench_sets_its_models_among_the_published_results(cli, tmp_path: Path) -> None:
    argv = ["bench", "--models", "plain-cnn", "--no-family", "--seeds", "1", "--width", "0.25", "--train-size", "64",
            "--val-size", "32", "--epochs", "1", "--batch-size", "32", "--device", "cpu", "--results", str(tmp_path)]
    code, out, err = cli(*argv)
    assert code == 0, err
    assert "beside published Fashion-MNIST results" in out and "not a like-for-like comparison" in out
    assert "WRN40-4 8.9M params" in out and "Human Performance" in out
    published = json.loads((tmp_path / "bench" / "default" / "summary.json").read_text())["published"]
    rows = published["rows"]
    ours = [r for r in rows if r["source"] == "this bench"]
    assert [r["model"] for r in ours] == ["plain-cnn"] and ours[0]["macs"] > 0 and ours[0]["preprocessing"] is None
    assert [r["test_acc"] for r in rows] == sorted((r["test_acc"] for r in rows), reverse=True)
    assert len(rows) == 17 and rows[0]["model"] == "WRN40-4 8.9M params"


def test_only_a_fashion_mnist_bench_lists_the_published_results(cli, tmp_path: Path) -> None:
    code, out, err = cli(*BENCH, "--models", "plain-cnn", "--seeds", "1", "--results", str(tmp_path), "--json")
    assert code == 0, err
    assert "published" not in json.loads(out) and "published" not in json.loads(
        (tmp_path / "bench" / "default" / "summary.json").read_text())


def summary(name: str, rows: dict[str, tuple[float, str]], reference: str = "base", seeds: int = 3) -> dict:
    """A hand-made bench summary: label -> (mean val acc, verdict against ``reference``) over ``seeds``."""
    return {"name": name, "reference": reference,
            "rows": [{"label": label, "val_acc": acc, "verdict": verdict, "seeds": seeds}
                     for label, (acc, verdict) in rows.items()]}


def test_proxy_vs_final_reports_a_flipped_verdict_and_the_rank_correlation() -> None:
    proxy = summary("proxy", {"base": (0.80, "reference"), "a": (0.85, "better"), "b": (0.70, "worse"),
                              "c": (0.79, "not distinguishable")})
    final = summary("final", {"base": (0.90, "reference"), "a": (0.93, "better"), "b": (0.91, "not distinguishable"),
                              "c": (0.89, "not distinguishable"), "d": (0.95, "better")})
    got = proxy_vs_final(proxy, final)
    assert got["flips"] == ["b"] and [m["label"] for m in got["models"]] == ["base", "a", "b", "c"]
    assert got["only_final"] == ["d"] and got["only_proxy"] == []
    # ranks: proxy a > base > c > b, final a > b > base > c
    assert got["spearman"] == pytest.approx(0.4) and got["kendall"] == pytest.approx(1 / 3)
    text = format_proxy_vs_final(got)
    assert "verdicts that flip: b" in text and "Spearman +0.400" in text and "only in final (left out): d" in text


def test_proxy_vs_final_same_verdicts_same_order_no_flip() -> None:
    proxy = summary("proxy", {"base": (0.80, "reference"), "a": (0.85, "better"), "b": (0.70, "worse")})
    final = summary("final", {"base": (0.90, "reference"), "a": (0.95, "better"), "b": (0.85, "worse")})
    got = proxy_vs_final(proxy, final)
    assert got["flips"] == [] and got["spearman"] == pytest.approx(1.0) and got["kendall"] == pytest.approx(1.0)
    assert "verdicts that flip: none" in format_proxy_vs_final(got)


def test_proxy_vs_final_ties_share_ranks_and_no_spread_is_undefined() -> None:
    proxy = summary("proxy", {"base": (0.80, "reference"), "a": (0.80, "not distinguishable"), "b": (0.70, "worse")})
    final = summary("final", {"base": (0.90, "reference"), "a": (0.92, "not distinguishable"), "b": (0.85, "worse")})
    got = proxy_vs_final(proxy, final)  # proxy ranks (1.5, 1.5, 0) against (1, 2, 0)
    assert got["spearman"] == pytest.approx(0.866, abs=1e-3) and got["kendall"] == pytest.approx(0.816, abs=1e-3)
    flat = summary("flat", {"base": (0.5, "reference"), "a": (0.5, "not distinguishable"), "b": (0.5, "worse")})
    got = proxy_vs_final(flat, final)
    assert got["spearman"] is None and got["kendall"] is None
    assert "undefined (no spread)" in format_proxy_vs_final(got)
    json.dumps(got, allow_nan=False)  # strict JSON


def test_proxy_vs_final_a_one_seed_verdict_is_undecided_not_a_flip() -> None:
    # trained to the end at one seed, every model is "not distinguishable" from the reference: that is one
    # pair's lack of a verdict, not a disagreement with the proxy's three seeds
    proxy = summary("proxy", {"base": (0.80, "reference"), "a": (0.85, "better"), "b": (0.70, "worse")})
    final = summary("final", {"base": (0.90, "reference"), "a": (0.92, "not distinguishable"),
                              "b": (0.89, "not distinguishable")}, seeds=1)
    got = proxy_vs_final(proxy, final)
    assert got["flips"] == [] and got["undecided"] == ["a", "b"]
    assert [m["final_verdict"] for m in got["models"]] == ["reference", None, None]
    assert got["spearman"] == pytest.approx(1.0)
    text = format_proxy_vs_final(got)
    assert "verdicts that flip: none" in text and "no verdict to compare (one seed): a, b" in text
    assert "(one seed)" in text


@pytest.mark.parametrize(("proxy", "final", "message"), [
    (summary("p", {"base": (0.8, "reference"), "a": (0.7, "worse")}),
     summary("f", {"base": (0.8, "not distinguishable"), "a": (0.7, "reference")}, reference="a"), "other references"),
    (summary("p", {"base": (0.8, "reference")}), summary("f", {"base": (0.8, "reference")}), "share 1 model"),
])
def test_proxy_vs_final_refuses_benches_that_do_not_compare(proxy: dict, final: dict, message: str) -> None:
    with pytest.raises(ScalerError, match=message):
        proxy_vs_final(proxy, final)


@pytest.mark.slow
def test_proxy_vs_final_script_on_two_real_benches(cli, tmp_path: Path) -> None:
    import subprocess
    import sys

    for name, epochs in (("proxy", "1"), ("final", "2")):
        code, out, err = cli(*BENCH[:-3], "--epochs", epochs, "--width", "0.25", "--no-family", "--models",
                             "plain-cnn,mobilenet-v2", "--seeds", "2", "--train-size", "64", "--name", name,
                             "--results", str(tmp_path))
        assert code == 0, err
    root = Path(__file__).resolve().parents[1]
    script = [sys.executable, str(root / "benchmarks" / "proxy_vs_final.py"), "--results", str(tmp_path)]
    done = subprocess.run([*script, "--proxy", "proxy", "--final", "final"], capture_output=True, text=True,
                          timeout=120, cwd=root)
    assert done.returncode == 0, done.stderr
    assert "proxy against final: 2 models, verdicts against plain-cnn" in done.stdout
    assert "rank correlation of the mean accuracy: Spearman" in done.stdout and "verdicts that flip:" in done.stdout
    done = subprocess.run([*script, "--proxy", "proxy", "--final", "final", "--json"], capture_output=True,
                          text=True, timeout=120, cwd=root)
    got = json.loads(done.stdout)
    assert [m["label"] for m in got["models"]] == ["plain-cnn", "mobilenet-v2"]
    assert abs(got["spearman"]) == pytest.approx(1.0)  # two models: the same order or the reverse
    done = subprocess.run([*script, "--proxy", "proxy", "--final", "nosuch"], capture_output=True, text=True,
                          timeout=120, cwd=root)
    assert done.returncode == 2 and done.stdout == "" and "no bench 'nosuch'" in done.stderr


@pytest.mark.slow  # three tiny benches and two robustness evaluations: about a minute on 2 busy cores
def test_bench_robustness_scores_every_model_once_against_the_reference(cli, tmp_path: Path) -> None:
    argv = [*BENCH, "--models", "plain-cnn,mobilenet-v2", "--seeds", "1", "--results", str(tmp_path)]
    robust = ["--robustness", "--corruptions", "gaussian_noise,rotate", "--severities", "1-2", "--frames", "3",
              "--robustness-images", "32"]
    code, out, err = cli(*argv)  # first without: the cells keep no weights
    assert code == 0, err
    assert "mCE" not in out and not any(Path(c["path"], "weights.pt").exists() for c in cells(tmp_path).values())

    code, out, err = cli(*argv, *robust, "--json")
    assert code == 0, err
    assert err.count("kept no weights: training it again") == 2 and len(trained(err)) == 2
    got = json.loads(out)
    rows = {r["label"]: r for r in got["rows"]}
    assert rows["plain-cnn"]["is_reference"] and rows["plain-cnn"]["mce"] == pytest.approx(1.0)
    assert rows["mobilenet-v2"]["mce"] > 0 and rows["mobilenet-v2"]["mfr"] is not None
    assert got["robustness"]["corruptions"] == ["gaussian_noise", "rotate"] and got["robustness"]["severities"] == [1, 2]
    with (tmp_path / "bench" / "default" / "table.csv").open() as f:
        table = list(csv.DictReader(f))
    assert all(row["mce"] and row["mfr"] for row in table)
    assert json.loads((tmp_path / "bench" / "default" / "summary.json").read_text())["rows"] == got["rows"]

    code, out, err = cli(*argv, *robust)  # resumed: nothing trained, nothing scored again
    assert code == 0, err
    assert trained(err) == [] and err.count("read back from") == 2 and "corruptions x" not in err
    assert "mCE" in out and "mFR" in out and "against plain-cnn's" in out


def test_an_unknown_base_is_refused(cli, tmp_path: Path) -> None:
    code, out, err = cli("bench", *DATA, "--no-zoo", "--base", "no-such-net", "--results", str(tmp_path / "results"))
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and "no-such-net" in err
    assert not (tmp_path / "results" / "bench").exists()


@pytest.mark.slow
def test_the_family_of_a_base_file_is_benched_alone(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the README's form for the study's ladder: --base the shipped file by its relative path, --no-zoo,
    # the rungs scale wrote for it
    monkeypatch.chdir(Path(__file__).parents[1])
    base = "docs/found-baseline-t15.arch"
    assert cli("scale", "--base", base, "--phi", "1", "--alpha", "1.2", "--beta", "1.1", "--gamma", "1.15",
               "--results", str(tmp_path))[0] == 0
    code, out, err = cli("bench", *DATA, "--base", base, "--no-zoo", "--phis", "1", "--seeds", "1",
                         "--width", "0.25", "--results", str(tmp_path), "--json")
    assert code == 0, err
    rows = {r["label"]: r for r in json.loads(out)["rows"]}
    assert sorted(rows) == ["mbconv-reward-t15", "mbconv-reward-t15-phi1"]  # no zoo model
    assert rows["mbconv-reward-t15"]["is_reference"] and rows["mbconv-reward-t15-phi1"]["phi"] == 1
    # the rung at 16 px times the ladder's 258 / 224
    assert rows["mbconv-reward-t15-phi1"]["resolution"] == round(16 * 258 / 224) == 18


def test_a_rung_grows_over_the_base_its_ladder_was_written_from(tmp_path: Path) -> None:
    # the ladder grew phi 1 from a 224 px base; the base resolved now (its search settings gone from the
    # storage) is the proxy's 28 px copy: the rung is still 1.15x its base, not 258 / 28 = 9.2x (which
    # once had the bench resize every training image to 258 px and run out of memory)
    nominal = get_model("efficientnet-b0").scale(resolution=224, name="found")
    rung = nominal.scale(depth=1.2, width=1.1, resolution=258, name="found-phi1")
    folder = tmp_path / SCALE / "found"
    (folder / SCALE_MODELS).mkdir(parents=True)
    (folder / SCALE_MODELS / "found-phi1.arch").write_text(rung.text())
    (folder / LADDER.file).write_text("label,name,phi,resolution\nbase,found,0.0,224\nderived,found-phi1,1.0,258\n")
    proxy_copy = Base(nominal.scale(width=0.5, resolution=28), "found", "latest", "as saved")
    base, phi1 = ladder_entries(proxy_copy, [1], tmp_path, lambda _: None)
    assert (base.resolution_mult, phi1.phi) == (1.0, 1.0)
    assert phi1.resolution_mult == pytest.approx(258 / 224)
