"""``scaler.student``'s parts: the labelled split and the pool, the teacher's pseudo-labels (eval mode, class
balancing), RandAugment on tensors, the mixed batches and the trainer's batch-source hook."""

from __future__ import annotations

import pytest
import torch

from scaler.data import DataConfig, load_data
from scaler.dsl import parse_text, require_spec
from scaler.errors import ScalerError
from scaler.nn.build import build
from scaler.student.batches import MixedBatches, RandAugment, one_hot
from scaler.student.labels import labelled_split, pseudo_labels, teacher_probs
from scaler.student.noise import OPS, rand_augment

SYNTHETIC = "synthetic:classes=4,size=400,test_size=100,resolution=12,channels=1"
NOISY = """model noisy
  resolution 12
  dropout 0.5
  drop_path 0.5
  stem  conv c8 k3
  stage conv c8 k3 r2
  head  gpool
  head  fc
"""


def test_the_teacher_labels_in_eval_mode_two_passes_agree_exactly() -> None:
    torch.manual_seed(0)
    model = build(require_spec(next(iter(parse_text(NOISY).values()))), num_classes=4, in_channels=1)
    x = torch.randn(64, 1, 12, 12)
    model.train()
    with torch.no_grad():  # the noise is real: in training mode two passes differ
        assert not torch.equal(model(x), model(x))
    first, second = teacher_probs(model, x, batch_size=16), teacher_probs(model, x, batch_size=64)
    assert torch.equal(first, second)
    assert model.training  # its mode is put back
    assert torch.allclose(first.sum(1), torch.ones(64))


def test_class_balancing_gives_the_set_count_per_class() -> None:
    # class 0: 10 confident images, class 1: 3, class 2: one under the threshold, class 3: none
    conf0 = torch.linspace(0.5, 0.95, 10)
    probs = torch.zeros(14, 4)
    probs[:10, 0], probs[:10, 1] = conf0, 1 - conf0
    probs[10:13, 1], probs[10:13, 0] = torch.tensor([0.9, 0.8, 0.7]), torch.tensor([0.1, 0.2, 0.3])
    probs[13] = torch.tensor([0.28, 0.24, 0.29, 0.19])
    hidden = torch.tensor([0] * 10 + [1, 1, 0, 2])
    got = pseudo_labels(probs, threshold=0.3, per_class=5, hidden=hidden)
    labels = got.targets.argmax(1)
    assert torch.bincount(labels, minlength=4).tolist() == [5, 5, 0, 0]
    # the crowded class keeps its most confident images, the sparse one has every image, duplicated
    assert sorted(got.rows[labels == 0].tolist()) == [5, 6, 7, 8, 9]
    assert set(got.rows[labels == 1].tolist()) == {10, 11, 12}
    assert sorted(got.rows[labels == 1].tolist()) == [10, 10, 11, 11, 12]
    assert 13 not in got.rows.tolist() and got.confident == 13
    assert torch.equal(got.targets, probs[got.rows])  # soft: the teacher's distribution
    assert got.pool_acc == pytest.approx(13 / 14) and got.kept_acc == pytest.approx(9 / 10)
    hard = pseudo_labels(probs, threshold=0.3, per_class=5, hard=True)
    assert set(hard.targets.flatten().tolist()) == {0.0, 1.0} and hard.digest != got.digest
    assert pseudo_labels(probs, threshold=0.3).per_class == 13 // 4  # default: the confident over the classes
    with pytest.raises(ScalerError, match="--threshold"):
        pseudo_labels(probs, threshold=0.99)


def test_no_validation_or_test_image_enters_the_pool_and_the_split_is_stratified() -> None:
    data = load_data(DataConfig(name=SYNTHETIC, val_size=100))
    labelled, pool = labelled_split(data.y_train, 0.1, seed=0)
    assert len(set(labelled.tolist()) | set(pool.tolist())) == len(data.x_train) == len(labelled) + len(pool)
    counts = torch.bincount(data.y_train, minlength=4)
    assert torch.bincount(data.y_train[labelled], minlength=4).tolist() == [round(0.1 * c) for c in counts.tolist()]
    held_out = {tuple(img.flatten().tolist()) for img in torch.cat([data.x_val, data.x_test])}
    assert not any(tuple(img.flatten().tolist()) in held_out for img in data.x_train[pool])
    assert torch.equal(labelled_split(data.y_train, 0.1, seed=0)[0], labelled)
    assert not torch.equal(labelled_split(data.y_train, 0.1, seed=1)[0], labelled)
    for bad in (0.0, 1.0, 1.5):
        with pytest.raises(ScalerError, match="--labels"):
            labelled_split(data.y_train, bad, seed=0)


def test_randaugment_is_seeded_changes_images_and_keeps_the_normalisation() -> None:
    x = torch.rand(256, 3, 16, 16)
    mean, std = (0.5, 0.4, 0.3), (0.2, 0.25, 0.3)
    normalised = (x - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)

    def noisy(seed: int, ops: int = 2) -> torch.Tensor:
        return rand_augment(normalised, mean, std, ops, 9, torch.Generator().manual_seed(seed))

    assert torch.equal(noisy(0), noisy(0)) and not torch.equal(noisy(0), noisy(1))
    assert torch.equal(noisy(0, ops=0), normalised)
    changed = (noisy(0) - normalised).abs().flatten(1).amax(1) > 1e-4
    assert changed.float().mean() > 1 - 2 / len(OPS)  # all but images that drew identity twice (or so)
    pixels = noisy(0) * torch.tensor(std).view(1, 3, 1, 1) + torch.tensor(mean).view(1, 3, 1, 1)
    assert pixels.min() >= -1e-5 and pixels.max() <= 1 + 1e-5


def test_mixed_batches_hold_the_ratio_and_the_baseline_passes_as_many_images() -> None:
    x_l, y_l = torch.zeros(20, 1, 4, 4), torch.randint(4, (20,))
    x_u, t_u = torch.ones(90, 1, 4, 4), torch.softmax(torch.randn(90, 4), 1)
    student = MixedBatches(x_l, one_hot(y_l, 4, 0.1), x_u, t_u, ratio=3.0)
    assert student.split(32) == (8, 24) and student.steps_per_epoch(32) == 90 // 24
    batches = list(student.epoch(32, torch.Generator().manual_seed(0)))
    assert len(batches) == 3 and all(len(x) == 32 and x[:8].sum() == 0 and x[8:].min() == 1 for x, _ in batches)
    assert torch.allclose(batches[0][1].sum(1), torch.ones(32))
    baseline = MixedBatches(x_l, one_hot(y_l, 4, 0.1), steps=student.steps_per_epoch(32),
                            noise=RandAugment(2, 9, (0.5,), (0.25,)))
    assert baseline.steps_per_epoch(32) == 3
    assert [len(x) for x, _ in baseline.epoch(32, torch.Generator().manual_seed(0))] == [32] * 3


def test_the_trainer_takes_its_batches_and_loss_from_a_source() -> None:
    from scaler.training.trainer import TrainConfig, train

    data = load_data(DataConfig(name=SYNTHETIC, val_size=100))
    torch.manual_seed(0)
    model = build(require_spec(next(iter(parse_text(NOISY).values()))), num_classes=4, in_channels=1)
    x_u, t_u = data.x_train[:96], torch.full((96, 4), 0.25)
    source = MixedBatches(data.x_train[96:], one_hot(data.y_train[96:], 4, 0.0), x_u, t_u, ratio=1.0)
    result = train(model, data, TrainConfig(epochs=2, batch_size=32, device="cpu"), source=source)
    assert result.status == "ok" and result.history[-1]["step"] == 2 * (96 // 16)
