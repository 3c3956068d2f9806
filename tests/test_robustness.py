"""Corruption robustness (scaler.robustness): every corruption changes an image and more so with each
severity, a seed reproduces the images exactly, the scores match hand-computed values, bad names and
severities are one-line errors, and an evaluation covers every corruption, severity and sequence."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from scaler.data import DataConfig, Dataset, load_data
from scaler.errors import ScalerError, UnknownNameError
from scaler.robustness import metrics
from scaler.robustness.corruptions import (
    CORRUPTION_NAMES,
    CORRUPTIONS,
    FAMILIES,
    SEVERITIES,
    check_severity,
    corrupt,
    get_corruption,
    parse_corruptions,
    parse_severities,
)
from scaler.robustness.evaluate import RobustnessResult, compare, evaluate_robustness
from scaler.robustness.sequences import SEQUENCE_NAMES, SEQUENCES, perturbation_frames


def gray_images() -> Tensor:
    """Fashion-MNIST-like: 8 textured objects (ellipses) on a black 28 px background."""
    g = torch.Generator().manual_seed(11)
    t = torch.linspace(-1, 1, 28)
    radii = 0.4 + 0.5 * torch.rand(8, 2, generator=g)
    mask = ((t.view(1, 28, 1) / radii[:, 0, None, None]) ** 2 + (t.view(1, 1, 28) / radii[:, 1, None, None]) ** 2) <= 1
    texture = F.interpolate(torch.rand(8, 1, 7, 7, generator=g), size=(28, 28), mode="bilinear", align_corners=False)
    images = mask.unsqueeze(1) * (0.3 + 0.5 * texture + 0.2 * torch.rand(8, 1, 28, 28, generator=g))
    return images.clamp(0, 1)


def rgb_images() -> Tensor:
    """CIFAR-like: 8 smooth colour fields with fine texture, 32 px."""
    g = torch.Generator().manual_seed(12)
    smooth = F.interpolate(torch.rand(8, 3, 6, 6, generator=g), size=(32, 32), mode="bicubic", align_corners=False)
    return (0.7 * smooth + 0.3 * torch.rand(8, 3, 32, 32, generator=g)).clamp(0, 1)


IMAGES = {"gray28": gray_images(), "rgb32": rgb_images()}


def change(x: Tensor, name: str, severity: int, seed: int = 0) -> float:
    return (corrupt(x, name, severity, torch.Generator().manual_seed(seed)) - x).abs().mean().item()


# --- corruptions ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(IMAGES))
@pytest.mark.parametrize("name", CORRUPTION_NAMES)
def test_corruption_changes_the_image_and_grows_with_severity(name: str, kind: str) -> None:
    x = IMAGES[kind]
    changes = []
    for severity in SEVERITIES:
        y = corrupt(x, name, severity, torch.Generator().manual_seed(0))
        assert y.shape == x.shape and y.dtype == x.dtype
        assert float(y.min()) >= 0 and float(y.max()) <= 1
        changes.append((y - x).abs().mean().item())
    assert changes[0] > 1e-4, f"{name} at severity 1 leaves {kind} images unchanged"
    assert all(a < b for a, b in zip(changes, changes[1:], strict=False)), f"{name} on {kind}: {changes}"


@pytest.mark.parametrize("name", CORRUPTION_NAMES)
def test_same_seed_same_images_other_seed_other_images_for_random_ones(name: str) -> None:
    x = IMAGES["rgb32"]
    first = corrupt(x, name, 3, torch.Generator().manual_seed(5))
    assert torch.equal(first, corrupt(x, name, 3, torch.Generator().manual_seed(5)))
    other = corrupt(x, name, 3, torch.Generator().manual_seed(6))
    assert torch.equal(first, other) != CORRUPTIONS[name].random


def test_the_table_covers_the_issue_and_marks_translation_as_seen() -> None:
    asked = {"gaussian_noise", "shot_noise", "impulse_noise", "speckle_noise", "gaussian_blur", "defocus_blur",
             "motion_blur", "zoom_blur", "glass_blur", "brightness", "contrast", "jpeg", "pixelate", "elastic",
             "rotate", "shear", "scale", "translate", "fog", "spatter"}
    assert asked <= set(CORRUPTION_NAMES)
    assert {c.family for c in CORRUPTIONS.values()} == set(FAMILIES)
    assert [n for n, c in CORRUPTIONS.items() if c.seen_in_training] == ["translate"]


def test_brightness_keeps_hue_and_contrast_keeps_the_mean() -> None:
    x = IMAGES["rgb32"]
    bright = corrupt(x, "brightness", 2, torch.Generator())
    unclipped = (bright.amax(dim=1) < 1) & (x.amin(dim=1) > 0.01)
    ratio = bright / x.clamp_min(1e-6)
    assert torch.allclose(ratio[:, 0][unclipped], ratio[:, 1][unclipped], atol=1e-3)
    low = corrupt(x, "contrast", 5, torch.Generator())
    assert torch.allclose(low.mean(dim=(2, 3)), x.mean(dim=(2, 3)), atol=1e-5)


def test_bad_names_and_severities_are_one_line_errors() -> None:
    x = IMAGES["gray28"]
    for call in (lambda: get_corruption("fog2"), lambda: parse_corruptions("gaussian_noise,nope"),
                 lambda: corrupt(x, "nope", 1, torch.Generator())):
        with pytest.raises(UnknownNameError, match="unknown corruption") as err:
            call()
        assert "\n" not in str(err.value) and "fog" in str(err.value)
    for bad in ("0-5", "6", "1-x", "3-1", "1,7", ",", "-1"):
        with pytest.raises(ScalerError) as err:
            parse_severities(bad)
        assert "\n" not in str(err.value)
    for bad_severity in (0, 6, True, 2.0):
        with pytest.raises(ScalerError, match="outside 1..5"):
            check_severity(bad_severity)  # type: ignore[arg-type]
    with pytest.raises(ScalerError, match="outside 1..5"):
        corrupt(x, "fog", 6, torch.Generator())
    with pytest.raises(ScalerError, match="1 or 3 channels"):
        corrupt(torch.rand(1, 2, 8, 8), "fog", 1, torch.Generator())


def test_parsing_the_command_line_lists() -> None:
    assert parse_corruptions(None) == parse_corruptions("all") == CORRUPTION_NAMES
    assert parse_corruptions("fog, Gaussian-Noise,noise") == (
        "fog", "gaussian_noise", "shot_noise", "impulse_noise", "speckle_noise")
    assert parse_severities(None) == SEVERITIES
    assert parse_severities("1-5") == SEVERITIES
    assert parse_severities("5,2-3") == (2, 3, 5)
    assert parse_severities("4") == (4,)


# --- sequences -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", SEQUENCE_NAMES)
def test_perturbation_sequences(name: str) -> None:
    x = IMAGES["gray28"]
    frames = perturbation_frames(x, name, 5, torch.Generator().manual_seed(0))
    assert len(frames) == 5 and all(f.shape == x.shape and 0 <= float(f.min()) <= float(f.max()) <= 1 for f in frames)
    again = perturbation_frames(x, name, 5, torch.Generator().manual_seed(0))
    assert all(torch.equal(a, b) for a, b in zip(frames, again, strict=True))
    steps = [(b - a).abs().mean().item() for a, b in zip(frames, frames[1:], strict=False)]
    assert min(steps) > 0, f"{name}: a frame repeats the previous one"
    if SEQUENCES[name].against_first:
        assert (frames[0] - x).abs().mean() > 0
    else:
        assert torch.allclose(frames[0], x, atol=1e-5), "a geometric sequence starts at the image itself"
        drift = [(f - x).abs().mean().item() for f in frames]
        assert all(a < b for a, b in zip(drift, drift[1:], strict=False)), f"{name} does not move further: {drift}"


def test_a_sequence_needs_two_frames_and_a_known_name() -> None:
    with pytest.raises(ScalerError, match="at least 2 frames"):
        perturbation_frames(IMAGES["gray28"], "rotate", 1, torch.Generator())
    with pytest.raises(UnknownNameError, match="unknown perturbation sequence"):
        perturbation_frames(IMAGES["gray28"], "snow", 3, torch.Generator())


# --- metrics -------------------------------------------------------------------------------

RUN = {"noise": {1: 0.2, 2: 0.4}, "blur": {1: 0.1, 2: 0.3}}
REFERENCE = {"noise": {1: 0.4, 2: 0.6}, "blur": {1: 0.2, 2: 0.2}}


def test_ce_mce_and_relative_mce_by_hand() -> None:
    assert metrics.mean_error(RUN) == pytest.approx(0.25)
    ce = metrics.corruption_errors(RUN, REFERENCE)
    assert ce == pytest.approx({"noise": 0.6 / 1.0, "blur": 0.4 / 0.4})
    assert metrics.mean_defined(ce) == pytest.approx(0.8)
    relative = metrics.relative_corruption_errors(RUN, 0.1, REFERENCE, 0.15)
    assert relative == pytest.approx({"noise": (0.1 + 0.3) / (0.25 + 0.45), "blur": (0.0 + 0.2) / (0.05 + 0.05)})
    assert metrics.mean_defined(relative) == pytest.approx((4 / 7 + 2) / 2)


def test_undefined_ratios_are_nan_and_left_out_of_the_means() -> None:
    relative = metrics.relative_corruption_errors(RUN, 0.1, REFERENCE, 0.2)  # the reference's blur is no worse than clean
    assert math.isnan(relative["blur"]) and relative["noise"] == pytest.approx(0.4 / 0.6)
    assert metrics.mean_defined(relative) == pytest.approx(0.4 / 0.6)
    assert math.isnan(metrics.mean_defined({"a": math.nan}))
    with pytest.raises(ScalerError, match="no blur error at severity 3"):
        metrics.corruption_errors({"blur": {3: 0.5}}, REFERENCE)


def test_flip_rates_by_hand() -> None:
    predictions = [[0, 1, 2], [0, 1, 1], [1, 1, 1]]
    assert metrics.flip_rate(predictions, against_first=False) == pytest.approx(2 / 6)
    assert metrics.flip_rate(predictions, against_first=True) == pytest.approx(3 / 6)
    assert metrics.relative_flip_rates({"rotate": 0.1, "shear": 0.2}, {"rotate": 0.4, "shear": 0.0}) == pytest.approx(
        {"rotate": 0.25, "shear": math.nan}, nan_ok=True)
    with pytest.raises(ScalerError, match="at least 2 frames"):
        metrics.flip_rate([[0, 1]], against_first=True)


# --- evaluation ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_data() -> Dataset:
    """Fashion-MNIST's shape (28 px, one channel), 24 test images."""
    return load_data(DataConfig(name="synthetic:size=64,test_size=24,resolution=28,channels=1", val_size=8))


def tiny_model(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10))


class Constant(nn.Module):
    """Always class 3."""

    def forward(self, x: Tensor) -> Tensor:
        return F.one_hot(torch.full((len(x),), 3), 10).float()


class Random(nn.Module):
    """A uniformly random class per call, from its own generator."""

    def __init__(self) -> None:
        super().__init__()
        self.generator = torch.Generator().manual_seed(0)

    def forward(self, x: Tensor) -> Tensor:
        return torch.rand(len(x), 10, generator=self.generator)


def test_evaluation_covers_every_corruption_severity_and_sequence_and_reruns_identically(tiny_data: Dataset) -> None:
    model = tiny_model(0).train()
    result = evaluate_robustness(model, tiny_data, seed=7, frames=4)
    assert model.training, "the model's mode is restored"
    assert set(result.errors) == set(result.hashes) == set(CORRUPTION_NAMES)
    assert all(set(by) == set(SEVERITIES) for by in (*result.errors.values(), *result.hashes.values()))
    assert all(0 <= e <= 1 for by in result.errors.values() for e in by.values())
    assert set(result.flip_rates) == set(result.sequence_hashes) == set(SEQUENCE_NAMES)
    assert result.images == 24 and result.seen_in_training == ("translate",)
    assert all(len(set(by.values())) == len(SEVERITIES) for by in result.hashes.values()), "a severity repeats another"
    again = evaluate_robustness(tiny_model(0), tiny_data, seed=7, frames=4)
    assert again.to_dict() == result.to_dict()
    other = evaluate_robustness(tiny_model(0), tiny_data, seed=8, corruptions=["gaussian_noise", "contrast"],
                                severities=[2], sequences=["rotate"], frames=4)
    assert other.hashes["gaussian_noise"][2] != result.hashes["gaussian_noise"][2]
    assert other.hashes["contrast"][2] == result.hashes["contrast"][2]
    assert RobustnessResult.from_dict(json.loads(json.dumps(result.to_dict()))) == result


def test_a_corruption_sees_the_same_images_whatever_else_runs(tiny_data: Dataset) -> None:
    alone = evaluate_robustness(tiny_model(0), tiny_data, corruptions=["fog"], severities=[3], sequences=[])
    among = evaluate_robustness(tiny_model(0), tiny_data, corruptions=["jpeg", "fog"], severities=[1, 3], sequences=[])
    assert alone.hashes["fog"][3] == among.hashes["fog"][3]
    assert alone.errors["fog"][3] == among.errors["fog"][3]


def test_flip_rate_of_a_constant_classifier_is_zero_and_of_a_random_one_high(tiny_data: Dataset) -> None:
    constant = evaluate_robustness(Constant(), tiny_data, corruptions=[], frames=6)
    assert set(constant.flip_rates.values()) == {0.0}
    random = evaluate_robustness(Random(), tiny_data, corruptions=[], frames=6)
    assert min(random.flip_rates.values()) > 0.7


def test_compare_with_a_reference(tiny_data: Dataset) -> None:
    options = {"seed": 1, "frames": 3, "corruptions": ["gaussian_noise", "contrast", "translate"], "severities": [1, 5]}
    run = evaluate_robustness(tiny_model(1), tiny_data, **options)
    reference = evaluate_robustness(Random(), tiny_data, **options)
    summary = compare(run, reference)
    assert summary.unseen.corruptions == ("gaussian_noise", "contrast")
    assert summary.seen.corruptions == ("translate",)
    assert set(summary.unseen.relative_flip_rates) == set(SEQUENCE_NAMES) - {"translate"}
    assert set(summary.seen.relative_flip_rates) == {"translate"}
    expected = metrics.corruption_errors({n: run.errors[n] for n in ("gaussian_noise", "contrast")}, reference.errors)
    assert summary.unseen.corruption_errors == pytest.approx(expected, nan_ok=True)
    assert json.loads(json.dumps(summary.to_dict(), allow_nan=False))["seen"]["corruptions"] == ["translate"]
    unhurt = compare(run, dataclasses.replace(run, clean_error=1.0))  # no corruption raises its error above clean
    assert unhurt.unseen.corruption_errors == pytest.approx({"gaussian_noise": 1.0, "contrast": 1.0})
    assert "relative CE contrast" in unhurt.undefined and math.isnan(unhurt.unseen.relative_mce)
    assert unhurt.to_dict()["unseen"]["relative_mce"] is None
    with pytest.raises(ScalerError, match="same data set") as err:
        compare(run, dataclasses.replace(reference, data="cifar10"))
    assert "\n" not in str(err.value)
    with pytest.raises(ScalerError, match="other gaussian_noise images"):
        compare(run, evaluate_robustness(Random(), tiny_data, **{**options, "seed": 2}))


def test_bad_evaluation_input_fails_before_any_work(tiny_data: Dataset) -> None:
    with pytest.raises(UnknownNameError):
        evaluate_robustness(tiny_model(0), tiny_data, corruptions=["fog", "nope"])
    with pytest.raises(ScalerError, match="outside 1..5"):
        evaluate_robustness(tiny_model(0), tiny_data, severities=[0])
    with pytest.raises(ScalerError, match="images must be between 1 and 24"):
        evaluate_robustness(tiny_model(0), tiny_data, images=25)
    with pytest.raises(ScalerError, match="at least 2 frames"):
        evaluate_robustness(tiny_model(0), tiny_data, frames=1)
