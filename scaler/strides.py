"""Training below a model's nominal resolution: the stride rule that keeps the last feature map useful.

A net written for 224 px (EfficientNet-B0: total stride 32) shrinks a 28 px Fashion-MNIST image to
a 1x1 map before its head, and a proxy run then measures how the net copes with that, not the net.
The rule (CIFAR versions of ImageNet nets do the same by hand): while the last feature map at the
training resolution is smaller than ``min_feature`` pixels a side, the earliest strided layer, stem
first, becomes stride 1. Branched blocks (inception modules) are left as written. The adapted Spec
is what is trained and saved as DSL text; nominal counts (the zoo, the ladder) use the model as
written. Policy ``as-written`` turns the rule off.

A family (a base and every rung, grid point and comparison cell grown from it) has one set of strides:
the rule is applied once, to the base at the base's training resolution, and every member keeps those
strides at its own resolution (``family_strides``), as EfficientNet keeps B0's strides for B1..B7. A
member's trained MACs then follow its counted ratio alpha * beta^2 * gamma^2; adapting each member at
its own resolution (policy ``adapt-each``, the earlier behaviour, kept for comparison) gives a 37 px
rung of B0 the base's 2x2 last map with the strides as written, so it trains with more downsampling
than the base and costs far less than its ratio. No measurement says ``adapt-each`` is better, so
``adapt`` (the base's strides) is the default. For a single model both adapt at its own resolution.

Imports the DSL and the analytic counter only (no torch).
"""

from __future__ import annotations

import dataclasses

from scaler.dsl import Model, Spec
from scaler.errors import ScalerError
from scaler.nn.complexity import complexity

STRIDE_POLICIES = ("adapt", "as-written", "adapt-each")
#: The smallest last feature map (pixels a side) the ``adapt`` policy trains at; see docs/measurements.md's
#: fidelity benchmark for the measurement behind it.
DEFAULT_MIN_FEATURE = 2


def last_feature_size(spec: Spec, resolution: int) -> int:
    """Side of the feature map that enters the head (the last stem or stage layer's output)."""
    counts = complexity(spec, resolution=resolution)
    body = [layer for layer in counts.layers if layer.part != "head"]
    return body[-1].shape_out.h if body else resolution


def check_policy(policy: str) -> str:
    if policy not in STRIDE_POLICIES:
        raise ScalerError(f"unknown stride policy {policy!r}; use one of {', '.join(STRIDE_POLICIES)}")
    return policy


def adapt_strides(spec: Spec, resolution: int, min_feature: int = DEFAULT_MIN_FEATURE,
                  policy: str = "adapt") -> Spec:
    """``spec`` with its earliest strided layers set to stride 1 until the last feature map at
    ``resolution`` is at least ``min_feature`` a side (or no strided layer is left)."""
    if check_policy(policy) == "as-written":
        return spec
    if min_feature < 1:
        raise ScalerError(f"the smallest feature map must be at least 1 px, got {min_feature}")
    layers = list(spec.layers)

    def big_enough() -> bool:
        try:
            return last_feature_size(dataclasses.replace(spec, layers=tuple(layers)), resolution) >= min_feature
        except ScalerError:  # a map shrank below a kernel on the way: too small, adapt further
            return False

    for i, layer in enumerate(layers):
        if big_enough():
            break
        if layer.part == "head":
            break
        stride = getattr(layer.block, "stride", 1)
        if isinstance(stride, int) and stride > 1:
            layers[i] = dataclasses.replace(layer, block=dataclasses.replace(layer.block, stride=1))
    return dataclasses.replace(spec, layers=tuple(layers))


def family_strides(spec: Spec, base_resolution: int, min_feature: int = DEFAULT_MIN_FEATURE,
                   policy: str = "adapt") -> Spec:
    """``spec``, a member of a family whose base trains at ``base_resolution``, with the strides it trains
    with: under ``adapt`` the base's, the rule applied at ``base_resolution`` (depth and width leave the
    strided layers as they are, so the member's own layers at that resolution decide the same strides as
    the base's); under ``adapt-each`` the rule at the member's own resolution; under ``as-written`` its own."""
    if check_policy(policy) != "adapt":
        return adapt_strides(spec, spec.resolution, min_feature, policy)
    family = adapt_strides(spec.scale(resolution=base_resolution), base_resolution, min_feature, policy)
    return copy_strides(spec, family)


def strides_changed(nominal: Spec, adapted: Spec) -> list[str]:
    """Which layers the rule changed, as ``stage2 s2->s1``, for logs and ``scaler inspect``."""
    changed = []
    for (path, before), (_, after) in zip(nominal.layer_paths(), adapted.layer_paths(), strict=True):
        old, new = getattr(before.block, "stride", None), getattr(after.block, "stride", None)
        if old != new:
            changed.append(f"{path} s{old}->s{new}")
    return changed


def copy_strides(spec: Spec, source: Model) -> Spec:
    """``spec`` with every layer's stride as ``source`` has it (a Space or Spec of the same layers): the
    nominal model behind a trained one (``source`` the search space it came from), or a family member with
    the base's adapted strides."""
    if len(spec.layers) != len(source.layers):
        raise ScalerError(f"{spec.name}: {len(spec.layers)} layers, but the model its strides come from has "
                          f"{len(source.layers)}")
    layers = []
    for layer, original in zip(spec.layers, source.layers, strict=True):
        stride = getattr(original.block, "stride", None)
        if isinstance(stride, int) and getattr(layer.block, "stride", None) != stride:
            layer = dataclasses.replace(layer, block=dataclasses.replace(layer.block, stride=stride))
        layers.append(layer)
    return dataclasses.replace(spec, layers=tuple(layers))
