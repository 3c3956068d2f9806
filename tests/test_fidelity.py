"""The stride rule for training below a model's nominal resolution."""

from __future__ import annotations

import pytest

from scaler.dsl import parse_spec
from scaler.errors import ScalerError
from scaler.fidelity import adapt_strides, last_feature_size, strides_changed
from scaler.nn.complexity import complexity
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
    with pytest.raises(ScalerError, match="unknown stride policy 'sometimes'; use one of adapt, as-written"):
        adapt_strides(b0, 28, policy="sometimes")
    with pytest.raises(ScalerError, match="at least 1 px"):
        adapt_strides(b0, 28, 0)
