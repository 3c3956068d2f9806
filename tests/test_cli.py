"""The ``scaler`` command: zoo and inspect output, and one-line errors with exit code 2."""

from __future__ import annotations

import argparse
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
    for dest in ("space", "w", "trials", "width", "prefilter", "seeds", "jobs", "strides", "min_feature"):
        assert flag(search, dest).default == getattr(SearchConfig, dest), dest
    assert flag(search, "confirm").default is None  # not given: the core's default_confirm(--trials)
    assert DEFAULT_CONFIRM == default_confirm(16) and default_confirm(2) == 2
    for dest in ("seeds", "jobs", "strides", "min_feature", "depth_round", "bootstrap", "width"):
        assert flag(scale, dest).default == getattr(ScaleConfig, dest), dest
    assert tuple(flag(bench, "preset").choices) == tuple(PRESETS)
    for dest in ("preset", "seeds", "jobs", "width", "strides", "min_feature", "name"):
        assert flag(bench, dest).default == getattr(BenchConfig, dest), dest
    for name, parser in commands.items():
        if name in ("search", "scale", "bench"):  # the proxy fidelity
            assert (flag(parser, "epochs").default, flag(parser, "train_size").default) == (PROXY.epochs,
                                                                                           PROXY.train_size)
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
