"""The stride rule for training below a model's nominal resolution."""

from __future__ import annotations

import pytest

from scaler.dsl import parse_spec
from scaler.errors import ScalerError
from scaler.nn.complexity import complexity
from scaler.strides import adapt_strides, last_feature_size, strides_changed
from scaler.zoo import load_spec


def test_b0_at_28_px_as_written_ends_in_a_1x1_map() -> None:
    b0 = load_spec("efficientnet-b0")
    assert last_feature_size(b0, 28) == 1 and last_feature_size(b0, 224) == 7  # total stride 32
    assert adapt_strides(b0, 28, policy="as-written") is b0


@pytest.mark.parametrize(("min_feature", "size", "changed"), [
    (2, 2, ["stem1 s2->s1"]),
    (4, 4, ["stem1 s2->s1", "stage2 s2->s1"]),  # the common CIFAR rule: total stride 8
    (7, 7, ["stem1 s2->s1", "stage2 s2->s1", "stage3 s2->s1"]),
])
def test_the_earliest_strides_go_first_until_the_map_is_big_enough(min_feature: int, size: int,
                                                                   changed: list[str]) -> None:
    b0 = load_spec("efficientnet-b0")
    adapted = adapt_strides(b0, 28, min_feature)
    assert last_feature_size(adapted, 28) == size
    assert strides_changed(b0, adapted) == changed
    # the trained Spec says what was trained: its DSL text parses back to it
    assert parse_spec(adapted.text()) == adapted
    # nominal counts are the model as written: at 224 px the adapted net is another (bigger) one
    assert complexity(adapted, 224).macs > complexity(b0, 224).macs


def test_a_net_that_fits_is_left_alone_and_one_that_cannot_count_is_rescued() -> None:
    plain = load_spec("plain-cnn")
    assert adapt_strides(plain, 28, 4) == plain  # 7x7 already
    alexnet = load_spec("alexnet")
    with pytest.raises(ScalerError, match="too small"):
        complexity(alexnet, 28)  # stride 4 stem, then strided pools: the map vanishes
    assert last_feature_size(adapt_strides(alexnet, 28, 2), 28) >= 2


def test_bad_policy_and_size_are_one_line_errors() -> None:
    b0 = load_spec("efficientnet-b0")
    with pytest.raises(ScalerError, match="unknown stride policy 'sometimes'; use one of adapt, as-written, adapt-each"):
        adapt_strides(b0, 28, policy="sometimes")
    with pytest.raises(ScalerError, match="at least 1 px"):
        adapt_strides(b0, 28, 0)


def test_inspect_shows_the_adapted_net_and_as_written_turns_it_off(cli) -> None:
    import json

    code, out, _ = cli("inspect", "efficientnet-b0", "--resolution", "28", "--json")
    shown = json.loads(out)
    assert code == 0 and shown["strides_changed"] == ["stem1 s2->s1"] and shown["layers"][-4]["output"].endswith("x2x2")
    code, out, _ = cli("inspect", "efficientnet-b0", "--resolution", "28", "--strides", "as-written", "--json")
    assert code == 0 and json.loads(out)["strides_changed"] == [] and json.loads(out)["macs"] < shown["macs"]
    code, out, _ = cli("inspect", "efficientnet-b0", "--json")  # at its own 224 px nothing changes
    assert json.loads(out)["strides_changed"] == [] and json.loads(out)["macs"] == 385_814_752


def test_train_saves_the_spec_it_trained(cli, tmp_path) -> None:
    code, _, err = cli("train", "efficientnet-b0", "--width", "0.25", "--data",
                       "synthetic:classes=3,size=200,test_size=30,resolution=16", "--val-size", "40", "--epochs", "1",
                       "--batch-size", "64", "--device", "cpu", "--min-feature", "4", "--results", str(tmp_path))
    assert code == 0 and "strides adapted to 16 px: stem1 s2->s1, stage2 s2->s1" in err
    (run,) = (tmp_path / "runs").iterdir()
    trained = parse_spec((run / "model.arch").read_text())
    assert last_feature_size(trained, 16) == 4 and trained.layers[0].block.stride == 1


@pytest.mark.parametrize("argv", [["--strides", "sometimes"], ["--min-feature", "0"]])
def test_bad_stride_flags_exit_2(cli, argv: list[str]) -> None:
    code, _, err = cli("inspect", "efficientnet-b0", *argv)
    assert code == 2 and len(err.strip().splitlines()) == 1


def test_restoring_the_written_strides_gives_the_nominal_model_back() -> None:
    from scaler.search import load_space
    from scaler.strides import copy_strides

    b0 = load_spec("efficientnet-b0")
    adapted = adapt_strides(b0.scale(width=0.5, resolution=28), 28, 4)
    back = copy_strides(adapted, load_space("mbconv"))  # strides are fixed in the space, as in B0
    assert back == b0.scale(width=0.5, resolution=28)
