"""The ``scaler`` command: zoo and inspect output, and one-line errors with exit code 2."""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from scaler.nn.complexity import complexity
from scaler.zoo import get_model


def test_zoo_json_lists_every_fixed_model_with_counts(cli) -> None:
    code, out, _ = cli("zoo", "--json")
    rows = {r["name"]: r for r in json.loads(out)}
    assert code == 0
    assert rows["resnet50"]["params"] == 25_557_032
    assert rows["efficientnet-l2"]["resolution"] == 800
    assert rows["efficientnet-b0"]["top1"] == 77.1
    assert "mbconv" not in rows  # a search space, not a model


def test_zoo_family_filter_and_table(cli) -> None:
    code, out, _ = cli("zoo", "--family", "densenet")
    assert code == 0
    assert "densenet264" in out and "resnet50" not in out
    assert "multiply-adds" in out


def test_inspect_breaks_down_by_stage(cli) -> None:
    code, out, _ = cli("inspect", "efficientnet-b0", "--json")
    data = json.loads(out)
    assert code == 0
    assert data["params"] == sum(layer["params"] for layer in data["layers"]) == 5_288_548
    assert [layer["layer"] for layer in data["layers"]][:2] == ["stem1", "stage1"]
    assert data["layers"][1]["output"] == "16x112x112"


def test_inspect_table_gives_small_counts_three_significant_digits(cli) -> None:
    code, out, _ = cli("inspect", "efficientnet-b0", "--width", "0.5", "--resolution", "28", "--classes", "10",
                       "--strides", "as-written")  # the model as written: its 1x1 map gives small counts
    assert code == 0
    cx = complexity(get_model("efficientnet-b0").scale(width=0.5, resolution=28), num_classes=10)
    assert 2e6 < cx.macs < 3e6 and 1e4 < cx.acts < 1e5  # so three digits with M and K, not "0.002 G MACs"
    head = f"{cx.params:,} params, {cx.macs / 1e6:.3g}M MACs, {cx.acts / 1e3:.3g}K activations"
    assert out.splitlines()[0].endswith(head)


def test_inspect_scales_and_reads_files_that_extend_the_zoo(cli, tmp_path: Path) -> None:
    path = tmp_path / "mine.arch"
    path.write_text("model tiny extends efficientnet-b0\n  width 0.5\n  depth 0.5\n")
    code, out, _ = cli("inspect", str(path), "--resolution", "32", "--strides", "as-written", "--json")
    data = json.loads(out)
    assert code == 0
    assert (data["name"], data["resolution"], data["width"]) == ("tiny", 32, 0.5)
    expected = get_model("efficientnet-b0").scale(depth=0.5, width=0.5, resolution=32)
    assert data["dsl"] == expected.scale(resolution=32, name="tiny").text()


@pytest.mark.parametrize("argv, phrase", [
    (["inspect", "resnet-50"], "unknown model 'resnet-50'; did you mean resnet50"),
    (["inspect", "mbconv"], "is a search space"),
    (["inspect", "missing.arch"], "missing.arch: no such file"),
    (["zoo", "--family", "transformer"], "unknown family 'transformer'"),
    (["inspect", "resnet50", "--width", "0"], "expected a positive number"),
    (["inspect", "resnet50", "--resolution", "abc"], "expected a whole number"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_input_is_one_line_and_exit_2(cli, argv: list[str], phrase: str) -> None:
    code, out, err = cli(*argv)
    assert code == 2
    assert phrase in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err and out == ""


def test_malformed_file_names_file_line_col(cli, tmp_path: Path) -> None:
    path = tmp_path / "bad.arch"
    path.write_text("model x\n  stem conv c32 q7\n  head fc\n")
    code, _, err = cli("inspect", str(path))
    assert code == 2
    assert f"{path}:2:17: unknown option 'q' for conv" in err


def test_console_script_end_to_end(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "scaler", "inspect", "nope"], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.strip() == "scaler: error: unknown model 'nope'; run 'scaler zoo' for the list"
    done = subprocess.run([sys.executable, "-m", "scaler", "zoo", "--json"], capture_output=True, text=True)
    assert done.returncode == 0 and len(json.loads(done.stdout)) >= 39


def subcommands() -> dict[str, argparse.ArgumentParser]:
    from scaler.cli import build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def flag(parser: argparse.ArgumentParser, dest: str) -> argparse.Action:
    return next(a for a in parser._actions if a.dest == dest)


def test_the_parsers_choices_and_defaults_are_the_cores() -> None:
    from scaler.bench import PRESETS, BenchConfig
    from scaler.scaling.config import ScaleConfig
    from scaler.search.config import (
        DEFAULT_CONFIRM,
        OBJECTIVES,
        PARETO_METRICS,
        PRUNERS,
        SAMPLERS,
        SearchConfig,
        default_confirm,
    )
    from scaler.strides import DEFAULT_MIN_FEATURE, STRIDE_POLICIES
    from scaler.training.config import OPTIMIZERS, TrainConfig
    from scaler.training.fidelity import PROXY
    from scaler.training.proxies import PROXIES

    commands = subcommands()
    search, scale, bench = commands["search"], commands["scale"], commands["bench"]
    for dest, choices, config in (("objective", OBJECTIVES, SearchConfig), ("sampler", SAMPLERS, SearchConfig),
                                  ("pruner", PRUNERS, SearchConfig), ("pareto_metric", PARETO_METRICS, SearchConfig),
                                  ("proxy", PROXIES, SearchConfig)):
        assert tuple(flag(search, dest).choices) == choices and flag(search, dest).default == getattr(config(), dest)
    for dest in ("space", "w", "trials", "width", "prefilter", "confirm", "seeds", "jobs", "strides", "min_feature"):
        assert flag(search, dest).default == getattr(SearchConfig, dest), dest
    assert SearchConfig.confirm is None and SearchConfig(trials=16).confirmations == DEFAULT_CONFIRM
    assert SearchConfig(trials=2).confirmations == default_confirm(2) == 2  # at most --trials
    for dest in ("seeds", "jobs", "strides", "min_feature", "depth_round", "bootstrap", "width"):
        assert flag(scale, dest).default == getattr(ScaleConfig, dest), dest
    assert tuple(flag(bench, "preset").choices) == tuple(PRESETS)
    for dest in ("preset", "seeds", "jobs", "width", "strides", "min_feature", "name"):
        assert flag(bench, dest).default == getattr(BenchConfig, dest), dest
    for name, parser in commands.items():
        if name in ("search", "scale", "bench"):  # the proxy fidelity
            assert (flag(parser, "epochs").default, parser.get_default("train_cap")) == (PROXY.epochs,
                                                                                        PROXY.train_size)
            assert flag(parser, "train_size").default is None  # not given: the cap, not a demand
            assert PROXY.strides == STRIDE_POLICIES[0] and PROXY.min_feature == DEFAULT_MIN_FEATURE
        if any(a.dest == "optimizer" for a in parser._actions):
            assert tuple(flag(parser, "optimizer").choices) == OPTIMIZERS
            assert flag(parser, "optimizer").default == TrainConfig.optimizer
            assert flag(parser, "batch_size").default == TrainConfig.batch_size
        if any(a.dest == "strides" for a in parser._actions):
            assert tuple(flag(parser, "strides").choices) == STRIDE_POLICIES
            assert (flag(parser, "strides").default, flag(parser, "min_feature").default) == (
                PROXY.strides, PROXY.min_feature)
        if any(a.dest == "jobs" for a in parser._actions):
            assert flag(parser, "jobs").default is None is PROXY.jobs  # one convention: default_jobs
    assert flag(commands["train"], "epochs").default == TrainConfig.epochs


def test_help_and_zoo_start_without_torch_or_optuna() -> None:
    code = ("import sys; from scaler.cli import main\n"
            "for argv in (['zoo', '--json'], ['search', '--help']):\n"
            "    try: main(argv)\n"
            "    except SystemExit: pass\n"
            "bad = [m for m in ('torch', 'optuna') if m in sys.modules]; assert not bad, bad")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def _png_folder(root: Path, per_class: int) -> Path:
    """A class-per-folder set of small PNGs (two colours): a user's own small data set."""
    from PIL import Image

    for name, colour in (("blue", (0, 0, 200)), ("red", (200, 0, 0))):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            Image.new("RGB", (12 + i % 5, 12), colour).save(root / name / f"{i}.png")
    return root


@pytest.fixture
def small_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """60 labelled images, so 54 to train on (6 carved for the test split): far below the defaults."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return _png_folder(tmp_path / "photos", per_class=30)


USED = "has 54 training images: 36 to train on, 18 to validate"


def test_a_small_data_set_is_searched_whole(cli, small_folder: Path, tmp_path: Path) -> None:
    code, out, err = cli("search", "--space", "mbconv", "--data", f"imagefolder:{small_folder}", "--resolution", "16",
                         "--trials", "1", "--epochs", "1", "--batch-size", "16", "--width", "0.25", "--pruner", "none",
                         "--results", str(tmp_path / "results"), "--json")
    assert code == 0, err
    assert USED in err
    settings = json.loads(out)
    assert settings["trials"] and settings["baseline"] is not None


def test_a_small_data_set_is_benched_whole(cli, small_folder: Path, tmp_path: Path) -> None:
    code, out, err = cli("bench", "--data", f"imagefolder:{small_folder}", "--resolution", "16", "--models",
                         "plain-cnn", "--no-family", "--seeds", "1", "--epochs", "1", "--batch-size", "16",
                         "--results", str(tmp_path / "results"), "--json")
    assert code == 0, err
    assert USED in err
    assert json.loads(out)["settings"]["data"]["train_size"] == 36


def test_a_size_the_user_gives_is_a_demand(cli, small_folder: Path, tmp_path: Path) -> None:
    code, out, err = cli("train", "plain-cnn", "--data", f"imagefolder:{small_folder}", "--train-size", "100",
                         "--no-save")
    assert code == 2 and out == "" and "Traceback" not in err
    assert err.strip().splitlines()[-1] == (
        "scaler: error: train_size 100 must be between 1 and 36 "
        f"(imagefolder:{small_folder.resolve()}: 54 training images minus 18 for validation)")


def test_the_defaults_fit_a_large_data_set_unchanged() -> None:
    from scaler.data import DataConfig, fit_sizes

    big = DataConfig(name="synthetic:size=20000", train_size=10000)
    assert fit_sizes(big, train_given=False, val_given=False) == (big, 20000)
    whole = DataConfig(name="synthetic:size=6000")  # scaler train: all but the 5,000 to validate, as always
    assert fit_sizes(whole, train_given=False, val_given=False) == (whole, 6000)
    small = DataConfig(name="synthetic:size=900", train_size=10000)
    fitted, images = fit_sizes(small, train_given=False, val_given=False)
    assert (fitted.train_size, fitted.val_size, images) == (600, 300, 900)  # a third to validate, the rest to train
    fitted, _ = fit_sizes(small, train_given=True, val_given=False)
    assert (fitted.train_size, fitted.val_size) == (10000, 300)  # given: kept, and load_data refuses it
    fitted, _ = fit_sizes(dataclasses.replace(small, train_size=800), train_given=True, val_given=False)
    assert (fitted.train_size, fitted.val_size) == (800, 100)  # the validation split leaves it its images


def test_progress_goes_to_stderr_with_json(cli) -> None:
    code, out, err = cli("train", "plain-cnn", "--data", "synthetic:classes=4,size=300,test_size=32,resolution=16",
                         "--val-size", "64", "--epochs", "2", "--batch-size", "64", "--device", "cpu", "--no-save",
                         "--json")
    assert code == 0 and json.loads(out)["status"] == "ok"
    assert "train" in err and "step" in err  # the trainer's progress bar, as without --json
