"""The zoo against independent oracles: torchvision and timm modules, published MACs, FlopCounterMode."""

from __future__ import annotations

import csv

import pytest
import torch
import torchvision
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from scaler.dsl import Spec
from scaler.nn.build import build
from scaler.nn.complexity import complexity
from scaler.zoo import REFERENCE_DIR, fashion_mnist_published, get_model, library, published, self_training_published

# zoo name -> torchvision builder name (GoogLeNet and Inception-v3 without auxiliary heads).
TORCHVISION = {
    "alexnet": "alexnet", "vgg11": "vgg11", "vgg13": "vgg13", "vgg16": "vgg16", "vgg19": "vgg19",
    "googlenet": "googlenet", "inception-v3": "inception_v3", "resnet18": "resnet18",
    "resnet34": "resnet34", "resnet50": "resnet50", "resnet101": "resnet101", "resnet152": "resnet152",
    "wide-resnet50-2": "wide_resnet50_2", "wide-resnet101-2": "wide_resnet101_2",
    "resnext50-32x4d": "resnext50_32x4d", "densenet121": "densenet121", "densenet161": "densenet161",
    "densenet169": "densenet169", "densenet201": "densenet201", "mobilenet-v2": "mobilenet_v2",
    "mnasnet-1.0": "mnasnet1_0", **{f"efficientnet-b{i}": f"efficientnet_b{i}" for i in range(8)},
}
# Architectures torchvision does not ship, checked against timm's implementations.
TIMM = {
    "bit-r50x1": "resnetv2_50x1_bit", "bit-r101x1": "resnetv2_101x1_bit", "bit-r50x3": "resnetv2_50x3_bit",
    "bit-r101x3": "resnetv2_101x3_bit", "bit-r152x2": "resnetv2_152x2_bit", "bit-r152x4": "resnetv2_152x4_bit",
    "efficientnet-b8": "tf_efficientnet_b8", "efficientnet-l2": "tf_efficientnet_l2",
}
SPECS = sorted(name for name, model in library().items() if isinstance(model, Spec))


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_zoo_covers_the_issue_list() -> None:
    expected = set(TORCHVISION) | set(TIMM) | {"densenet264", "bit-r152x1"}
    assert expected <= set(SPECS)


@pytest.mark.parametrize("name", sorted(TORCHVISION))
def test_params_equal_torchvision(name: str) -> None:
    kwargs = {"aux_logits": False, "init_weights": False} if TORCHVISION[name] in ("googlenet", "inception_v3") else {}
    with torch.device("meta"):
        reference = torchvision.models.get_model(TORCHVISION[name], **kwargs)
    spec = get_model(name)
    assert n_params(build(spec, device="meta")) == n_params(reference)
    assert complexity(spec).params == n_params(reference)


@pytest.mark.parametrize("name", sorted(TORCHVISION))
def test_macs_match_torchvision_published_gflops(name: str) -> None:
    ops = torchvision.models.get_model_weights(TORCHVISION[name]).DEFAULT.meta["_ops"]
    spec = get_model(name)
    if name.startswith("efficientnet"):  # torchvision counts these at its evaluation crop size
        weights = torchvision.models.get_model_weights(TORCHVISION[name]).DEFAULT
        spec = spec.scale(resolution=weights.transforms().crop_size[0])
    assert complexity(spec).macs / 1e9 == pytest.approx(ops, rel=0.01)


@pytest.mark.parametrize("name", sorted(TIMM))
def test_params_equal_timm(name: str) -> None:
    timm = pytest.importorskip("timm")
    with torch.device("meta"):
        reference = timm.create_model(TIMM[name], pretrained=False)
    spec = get_model(name)
    assert complexity(spec).params == n_params(reference) == n_params(build(spec, device="meta"))


def _paper_table() -> list[dict]:
    with open(REFERENCE_DIR / "efficientnet_coefficients.csv", newline="") as f:
        return [row for row in csv.DictReader(f) if row["published_gmacs"]]


@pytest.mark.parametrize("row", _paper_table(), ids=lambda r: r["model"])
def test_efficientnet_matches_paper_table(row: dict) -> None:
    spec = get_model(row["model"])
    assert (spec.width, spec.depth, spec.resolution) == (float(row["width"]), float(row["depth"]), int(row["resolution"]))
    cx = complexity(spec)
    assert cx.macs / 1e9 == pytest.approx(float(row["published_gmacs"]), rel=0.05)
    assert cx.params / 1e6 == pytest.approx(float(row["published_params_m"]), rel=0.05)


def measured(spec: Spec, num_classes: int = 1000) -> tuple[int, int]:
    """Multiply-adds (FlopCounterMode / 2) and conv/linear output elements of a forward pass on meta."""
    net = build(spec, num_classes=num_classes, device="meta").eval()
    outputs = []
    hooks = [m.register_forward_hook(lambda m, i, o: outputs.append(o.numel()))
             for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    x = torch.empty(1, 3, spec.resolution, spec.resolution, device="meta")
    with FlopCounterMode(display=False) as counter:
        net(x)
    for h in hooks:
        h.remove()
    return counter.get_total_flops() // 2, sum(outputs)


@pytest.mark.parametrize("name", SPECS)
def test_analytic_counts_equal_built_module(name: str) -> None:
    spec = get_model(name)
    cx = complexity(spec)
    assert cx.params == n_params(build(spec, device="meta"))
    assert (cx.macs, cx.acts) == measured(spec)


def test_counts_hold_off_the_native_resolution_and_width() -> None:
    spec = get_model("efficientnet-b0").scale(depth=0.5, width=0.5, resolution=64)
    cx = complexity(spec, num_classes=10)
    assert cx.params == n_params(build(spec, num_classes=10, device="meta"))
    assert (cx.macs, cx.acts) == measured(spec, num_classes=10)


def test_l2_builds_on_meta_without_memory() -> None:
    net = build(get_model("efficientnet-l2"), device="meta")
    assert all(p.is_meta for p in net.parameters())
    assert n_params(net) == 480_309_308


@pytest.mark.parametrize("name", ["alexnet", "vgg11", "googlenet", "inception-v3", "resnet18", "resnext50-32x4d",
                                  "densenet121", "bit-r50x1", "mobilenet-v2", "mnasnet-1.0", "efficientnet-b0"])
def test_real_forward_backward(name: str) -> None:
    torch.manual_seed(0)
    spec = get_model(name).scale(width=0.25, depth=0.34, resolution=96)
    net = build(spec, num_classes=10).train()
    x = torch.randn(2, 3, spec.resolution, spec.resolution)
    out = net(x)
    assert out.shape == (2, 10)
    out.sum().backward()
    assert all(p.grad is not None for p in net.parameters())


def test_published_rows_join_zoo_models() -> None:
    rows = published()
    assert rows["efficientnet-b0"].top1 == 77.1
    assert rows["resnet50"].source
    assert set(rows) <= set(SPECS)


def test_fashion_mnist_published_rows() -> None:
    rows = {r.model: r for r in fashion_mnist_published()}
    assert rows["2 Conv+pooling"].test_acc == 0.876
    assert rows["WRN40-4 8.9M params"].test_acc == 0.967 and rows["WRN40-4 8.9M params"].params == 8_900_000
    assert rows["DenseNet-BC 768K params"].params == 768_000
    assert rows["ResNet18"].test_acc == 0.949 and "rotation" in rows["ResNet18"].preprocessing
    assert rows["Human Performance"].test_acc == 0.835 and rows["Human Performance"].params is None
    assert rows["SVC (C=10, kernel rbf)"].test_acc == 0.897 and "1708.07747" in rows["SVC (C=10, kernel rbf)"].source
    assert all(r.source for r in rows.values()) and len(rows) == 16
    accs = [r.test_acc for r in fashion_mnist_published()]
    assert accs == sorted(accs, reverse=True)  # best first


def test_self_training_published_rows() -> None:
    rows = {r.data: r for r in self_training_published()}
    assert set(rows) == {"svhn", "cifar10"}
    svhn, cifar = rows["svhn"], rows["cifar10"]
    assert (svhn.baseline_acc, svhn.acc) == (0.979, 0.986) and "google-research/noisystudent" in svhn.source
    assert svhn.labelled == 73_257 and svhn.unlabelled == 531_131  # SVHN's train split labelled, its extra split the pool
    assert cifar.labelled == 4000 and cifar.labelled + cifar.unlabelled == 50_000 and "1804.09170" in cifar.source
    assert (round(1 - cifar.baseline_acc, 4), round(1 - cifar.acc, 4)) == (0.2026, 0.1778)  # the published errors
    assert all(r.gain > 0 for r in rows.values())



@pytest.mark.parametrize("name", ["efficientnet-b0", "resnet18", "resnet50"])
def test_residual_blocks_start_as_their_shortcut(name: str) -> None:
    from scaler.nn.layers import MBConvBlock, Residual

    torch.manual_seed(0)
    net = build(get_model(name), num_classes=10).eval()
    plain = [m for m in net.modules() if (isinstance(m, MBConvBlock) and m.use_residual)
             or (isinstance(m, Residual) and isinstance(m.shortcut, nn.Identity))]
    assert len(plain) >= 3
    for block in plain:  # the branch adds exactly zero: the block passes a non-negative input through
        x = torch.rand(2, next(m for m in block.modules() if isinstance(m, nn.Conv2d)).in_channels, 8, 8)
        assert torch.equal(block(x), x), type(block).__name__
