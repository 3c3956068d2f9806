"""Tests of scaler.dsl: round trips of the zoo, extends, search spaces, Spec.blocks(), channel
rounding and located error messages."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from scaler.dsl import (
    Categorical,
    DSLError,
    IntRange,
    Space,
    Spec,
    Tied,
    parse_file,
    parse_spec,
    parse_text,
    require_spec,
    round_channels,
    scale_repeats,
)
from scaler.dsl.blocks import Basic, Bottleneck, Conv, Dense, Linear, MaxPool, MBConv
from scaler.errors import ScalerError

ROOT = Path(__file__).resolve().parents[1]
ARCH_FILES = sorted((ROOT / "search_spaces").glob("*.arch"))


def _zoo() -> dict[str, object]:
    models: dict[str, object] = {}
    for path in ARCH_FILES:
        for name, model in parse_file(path).items():
            assert name not in models, f"{name} is defined in two files"
            models[name] = model
    return models


ZOO = _zoo()
ZOO_SPECS = {name: m for name, m in ZOO.items() if isinstance(m, Spec)}


def roundtrip(model):
    """Parse ``model.text()`` back and check it is equal (type included) and writes the same text."""
    text = model.text()
    back = parse_text(text)
    assert list(back) == [model.name]
    again = back[model.name]
    assert type(again) is type(model)
    assert again == model, text
    assert again.text() == text
    return again


def col_of(line: str, needle: str) -> int:
    """The 1-based column where ``needle`` starts in ``line``."""
    assert needle in line
    return line.index(needle) + 1


# ----------------------------------------------------------------------------- round trips


def test_zoo_is_not_empty():
    assert len(ARCH_FILES) >= 5
    for name in ("efficientnet-b0", "efficientnet-l2", "resnet50", "googlenet", "inception-v3", "vgg16",
                 "densenet121", "mobilenet-v2", "alexnet", "bit-r50x1"):
        assert name in ZOO


@pytest.mark.parametrize("name", sorted(ZOO))
def test_zoo_model_round_trips(name):
    roundtrip(ZOO[name])


@pytest.mark.parametrize("name", sorted(ZOO_SPECS))
def test_scaled_zoo_spec_round_trips(name):
    spec = ZOO_SPECS[name]
    scaled = spec.scale(1.3, 1.15, 257)
    assert scaled.depth == pytest.approx(spec.depth * 1.3)
    assert scaled.width == pytest.approx(spec.width * 1.15)
    assert scaled.resolution == 257
    roundtrip(scaled)
    # Awkward floats (0.1 + 0.2 style) must survive as well.
    roundtrip(scaled.scale(1.1, 1.2, name="odd-" + name).scale(0.7, 1 / 3))


def test_scale_compounds_and_renames():
    b0 = ZOO["efficientnet-b0"]
    s = b0.scale(depth=2.0, width=1.5).scale(depth=1.5, width=2.0, resolution=300, name="big")
    assert (s.depth, s.width, s.resolution, s.name) == (3.0, 3.0, 300, "big")
    assert s.layers == b0.layers
    assert b0.scale() == b0
    with pytest.raises(ScalerError):
        b0.scale(depth=0)
    with pytest.raises(ScalerError):
        b0.scale(width=-1.0)


def test_efficientnet_ladder_is_b0_scaled():
    b0 = ZOO["efficientnet-b0"]
    assert ZOO["efficientnet-b1"] == b0.scale(depth=1.1, resolution=240, name="efficientnet-b1")
    b4 = dataclasses.replace(b0.scale(1.8, 1.4, 380, name="efficientnet-b4"), dropout=0.4)
    assert ZOO["efficientnet-b4"] == b4


def test_round_trip_keeps_whole_file():
    for path in ARCH_FILES:
        models = parse_file(path)
        text = "\n".join(m.text() for m in models.values())
        again = parse_text(text, source=str(path))
        assert again == models
        assert all(m.source == str(path) for m in again.values())


# ----------------------------------------------------------------------------- extends

BASE = """\
model base
  family fam
  resolution 128
  act silu
  stem  conv c16 s2
  stage basic c32 r2
  head  gpool
  head  fc

model child extends base
  resolution 160
  dropout 0.1

model child2 extends base
  stage basic c64
  head  fc
  width 2

model grandchild extends child
  act relu6
"""


def test_extends_overrides_settings_and_inherits_layers():
    models = parse_text(BASE)
    base, child = models["base"], models["child"]
    assert isinstance(child, Spec)
    assert child.layers == base.layers
    assert (child.family, child.resolution, child.act, child.dropout) == ("fam", 160, "silu", 0.1)
    assert base.resolution == 128 and base.dropout == 0.0
    grand = models["grandchild"]
    assert grand.layers == base.layers
    assert (grand.family, grand.resolution, grand.act, grand.dropout) == ("fam", 160, "relu6", 0.1)


def test_extends_layer_lines_replace_all_layers():
    child2 = parse_text(BASE)["child2"]
    assert [(layer.part, type(layer.block)) for layer in child2.layers] == [("stage", Basic), ("head", Linear)]
    assert child2.layers[0].block.channels == 64
    # Inherited settings stay; a setting after the layer lines still counts.
    assert (child2.family, child2.resolution, child2.act, child2.width) == ("fam", 128, "silu", 2.0)


def test_extends_from_library_and_round_trip():
    models = parse_text("model wide extends resnet18\n  width 2\n", library=ZOO)
    wide = models["wide"]
    assert wide == ZOO["resnet18"].scale(width=2, name="wide")
    roundtrip(wide)
    # Only the file's own models are returned, not the library.
    assert list(models) == ["wide"]


def test_extends_inherits_choices():
    text = """\
model s
  choice k {3,5}
  stage mbconv c16 k$k
  head  fc
model t extends s
  choice k {5,7}
model u extends s
  stage mbconv c8 k$k r{1,2}
  head  fc
"""
    models = parse_text(text)
    assert isinstance(models["t"], Space)
    assert models["t"].params() == {"k": Categorical((5, 7))}
    assert models["u"].params() == {"k": Categorical((3, 5)), "stage1.repeats": Categorical((1, 2))}
    for model in models.values():
        roundtrip(model)


def test_extends_redeclared_choice_replaces_layers():
    # Inherited layers that are replaced do not constrain a choice declared again.
    text = """\
model s
  choice k {3,5}
  stage mbconv c16 k$k
  head  fc
model t extends s
  choice k {1x7,5}
  stage conv c16 k$k
  head  fc
"""
    t = parse_text(text)["t"]
    assert t.params() == {"k": Categorical(((1, 7), 5))}
    roundtrip(t)


def test_extends_unknown_base_is_located():
    text = "model a\n  head fc\nmodel b extends nosuch\n  width 2\n"
    with pytest.raises(DSLError) as info:
        parse_text(text, source="x.arch")
    e = info.value
    assert (e.source, e.line, e.col) == ("x.arch", 3, col_of("model b extends nosuch", "nosuch"))
    assert "unknown base model 'nosuch'" in e.message


def test_extends_a_later_model_is_unknown():
    text = "model b extends a\n  width 2\nmodel a\n  head fc\n"
    with pytest.raises(DSLError, match="unknown base model 'a'") as info:
        parse_text(text)
    assert (info.value.line, info.value.col) == (1, 17)


# ----------------------------------------------------------------------------- spaces

SPACE = """\
model tiny
  width {0.5,1.0}
  choice kernel {3,5}
  stem  conv c[16..64/8] k3 s2
  stage mbconv c16 k$kernel r[1..4]
  stage mbconv c24 k{3,5} s2
  stage mbconv c40 k$kernel s2 e{3,6}
  head  gpool
  head  fc
"""

SPACE_PARAMS = {
    "width": Categorical((0.5, 1.0)),
    "kernel": Categorical((3, 5)),
    "stem1.channels": IntRange(16, 64, 8),
    "stage1.repeats": IntRange(1, 4),
    "stage2.kernel": Categorical((3, 5)),
    "stage3.expand": Categorical((3.0, 6.0)),
}


def test_space_parses_with_open_choices():
    space = parse_text(SPACE)["tiny"]
    assert isinstance(space, Space)
    assert space.width == Categorical((0.5, 1.0))
    assert space.layers[0].block.channels == IntRange(16, 64, 8)
    assert space.layers[0].block.channels.values == (16, 24, 32, 40, 48, 56, 64)
    assert space.layers[1].block.kernel == Tied("kernel")
    assert space.layers[1].repeats == IntRange(1, 4)
    assert space.layers[3].block.kernel == Tied("kernel")
    assert space.choices == (("kernel", Categorical((3, 5))),)
    roundtrip(space)


def test_space_params_names():
    space = parse_text(SPACE)["tiny"]
    params = space.params()
    assert params == SPACE_PARAMS
    # Settings first, then layers in order; a tied choice is listed once, at its first use.
    assert list(params) == ["width", "stem1.channels", "kernel", "stage1.repeats", "stage2.kernel",
                            "stage3.expand"]


def test_space_fix_ties_choices():
    space = parse_text(SPACE)["tiny"]
    values = {"width": 0.5, "kernel": 5, "stem1.channels": 40, "stage1.repeats": 3, "stage2.kernel": 3,
              "stage3.expand": 6.0}
    spec = space.fix(values, name="tiny-fixed")
    assert isinstance(spec, Spec)
    assert spec.name == "tiny-fixed"
    assert spec.layers[1].block.kernel == spec.layers[3].block.kernel == 5
    assert spec.choices == ()
    expected = parse_spec("""\
model tiny-fixed
  width 0.5
  stem  conv c40 k3 s2
  stage mbconv c16 k5 r3
  stage mbconv c24 k3 s2
  stage mbconv c40 k5 s2 e6
  head  gpool
  head  fc
""")
    assert spec == expected
    roundtrip(spec)
    assert space.fix(values).name == "tiny"


def test_space_fix_missing_value_names_it():
    space = parse_text(SPACE)["tiny"]
    values = {"width": 0.5, "kernel": 5, "stem1.channels": 40, "stage2.kernel": 3, "stage3.expand": 6.0}
    with pytest.raises(ScalerError, match=r"stage1\.repeats") as info:
        space.fix(values)
    assert "kernel" not in str(info.value).split("no value for", 1)[1]


def test_space_sample_with_optuna():
    optuna = pytest.importorskip("optuna")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = parse_text(SPACE)["tiny"]
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen_kernels = set()
    for _ in range(25):
        trial = study.ask()
        spec = space.sample(trial)
        assert isinstance(spec, Spec)
        assert set(trial.params) == set(SPACE_PARAMS)
        assert spec == space.fix(trial.params)
        assert spec.width in (0.5, 1.0)
        assert spec.layers[0].block.channels in range(16, 65, 8)
        assert spec.layers[1].repeats in (1, 2, 3, 4)
        assert spec.layers[1].block.kernel == spec.layers[3].block.kernel == trial.params["kernel"]
        assert spec.layers[3].block.expand in (3.0, 6.0)
        seen_kernels.add(spec.layers[1].block.kernel)
        roundtrip(spec)
        study.tell(trial, 0.0)
    assert seen_kernels == {3, 5}


def test_kernel_pairs_sample_by_index():
    optuna = pytest.importorskip("optuna")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = parse_text("model p\n  stage conv c16 k{3,1x7}\n  head fc\n")["p"]
    assert space.params() == {"stage1.kernel": Categorical((3, (1, 7)))}
    roundtrip(space)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    kernels = set()
    for _ in range(20):
        trial = study.ask()
        spec = space.sample(trial)
        index = trial.params["stage1.kernel"]
        assert index in (0, 1)  # optuna holds the index, not the tuple
        assert spec.layers[0].block.kernel == (3, (1, 7))[index]
        kernels.add(spec.layers[0].block.kernel)
        roundtrip(spec)
        study.tell(trial, 0.0)
    assert kernels == {3, (1, 7)}


def test_space_sample_with_any_trial_object():
    class Fixed:
        def __init__(self):
            self.calls = []

        def suggest_categorical(self, name, choices):
            self.calls.append((name, list(choices)))
            return choices[-1]

        def suggest_int(self, name, low, high, step=1):
            self.calls.append((name, low, high, step))
            return high

    space = parse_text(SPACE)["tiny"]
    trial = Fixed()
    spec = space.sample(trial)
    assert ("stem1.channels", 16, 64, 8) in trial.calls
    assert ("kernel", [3, 5]) in trial.calls
    assert spec.layers[0].block.channels == 64 and spec.layers[1].repeats == 4
    assert spec.width == 1.0 and spec.layers[3].block.kernel == 5


def test_declared_choice_may_hold_zero():
    text = """\
model z
  choice se {0,0.25}
  choice pad [0..2]
  dropout $se
  stage mbconv c16 se$se
  stage maxpool p$pad
  head  fc
"""
    space = parse_text(text)["z"]
    assert space.params() == {"se": Categorical((0, 0.25)), "pad": IntRange(0, 2)}
    spec = space.fix({"se": 0.25, "pad": 1})
    assert (spec.dropout, spec.layers[0].block.se, spec.layers[1].block.padding) == (0.25, 0.25, 1)
    roundtrip(space)
    # A use whose kind does not accept a declared value is an error at that use.
    with pytest.raises(DSLError, match="at least 1") as info:
        parse_text("model z\n  choice n {0,8}\n  stage conv c$n\n  head fc\n")
    assert (info.value.line, info.value.col) == (3, col_of("  stage conv c$n", "c$n"))


def test_require_spec_on_space_names_open_choices():
    space = parse_text(SPACE, source="tiny.arch")["tiny"]
    with pytest.raises(DSLError) as info:
        require_spec(space)
    e = info.value
    assert (e.source, e.line) == ("tiny.arch", 0)
    assert "search space" in e.message
    assert "open choices: width, stem1.channels, kernel, stage1.repeats and 2 more" in e.message
    assert str(e) == f"tiny.arch: {e.message}" and len(str(e).splitlines()) == 1
    small = parse_text("model s\n  choice k {3,5}\n  stage mbconv c8 k$k r{1,2}\n  head fc\n")["s"]
    with pytest.raises(DSLError, match=r"open choices: k, stage1\.repeats\)"):
        require_spec(small)
    with pytest.raises(DSLError, match="open choices"):
        parse_spec(SPACE)
    spec = ZOO["resnet18"]
    assert require_spec(spec) is spec


# ----------------------------------------------------------------------------- Spec.blocks()

BLOCKS = """\
model net
  act silu
  dropout 0.3
  drop_path 0.2
  stem  conv c32 k3 s2 r2
  stem  maxpool
  stage mbconv c16 k3 s2 e6 r3
  stage maxpool k2 s2 r2
  stage basic c24 s2 r2 act=relu
  stage bottleneck c100 b40 g4
  stage conv c8 r2
  head  conv c1280 k1
  head  gpool
  head  fc c100 act=relu
  head  fc c50 d0.5
  head  fc
"""


def kinds(blocks):
    return [type(b.block).__name__ for b in blocks]


def test_blocks_unroll_with_stride_on_first_repeat():
    spec = parse_spec(BLOCKS)
    blocks = spec.blocks()
    assert kinds(blocks) == ["Conv", "Conv", "MaxPool", "MBConv", "MBConv", "MBConv", "MaxPool", "MaxPool",
                             "Basic", "Basic", "Bottleneck", "Conv", "Conv", "Conv", "GlobalPool", "Linear",
                             "Linear", "Linear"]
    assert [b.layer for b in blocks] == [0, 0, 1, 2, 2, 2, 3, 3, 4, 4, 5, 6, 6, 7, 8, 9, 10, 11]
    assert [b.part for b in blocks][:3] == ["stem"] * 3 and blocks[-1].part == "head"
    assert [b.block.stride for b in blocks if isinstance(b.block, MBConv)] == [2, 1, 1]
    assert [b.block.stride for b in blocks if isinstance(b.block, Basic)] == [2, 1]
    assert [b.block.stride for b in blocks[:2]] == [2, 1]
    # Everything but the stride is the same on every repeat.
    mb = [b.block for b in blocks if isinstance(b.block, MBConv)]
    assert mb[1] == mb[2] == dataclasses.replace(mb[0], stride=1)
    assert mb[0].expand == 6.0 and mb[0].kernel == 3


def test_blocks_fill_model_defaults():
    blocks = parse_spec(BLOCKS).blocks()
    mb = next(b.block for b in blocks if isinstance(b.block, MBConv))
    basic = next(b.block for b in blocks if isinstance(b.block, Basic))
    conv = blocks[0].block
    assert mb.act == "silu" and basic.act == "relu"
    assert conv.act == "silu" and conv.norm == "bn"


def test_depth_multiplier_ceils_only_depth_scalable_stages():
    spec = parse_spec(BLOCKS).scale(depth=1.5)
    blocks = spec.blocks()

    def count(layer: int) -> int:
        return sum(1 for b in blocks if b.layer == layer)

    assert count(0) == 2  # stem conv r2: stem is never deeper
    assert count(1) == 1  # stem maxpool
    assert count(2) == 5  # ceil(1.5 * 3)
    assert count(3) == 2  # a pool is not depth-scalable
    assert count(4) == 3  # ceil(1.5 * 2)
    assert count(5) == 2  # ceil(1.5 * 1)
    assert count(6) == 3  # a stage conv is depth-scalable
    assert count(7) == 1  # head conv is never deeper
    assert [b.block.stride for b in blocks if isinstance(b.block, MBConv)] == [2, 1, 1, 1, 1]
    # Ceil, not round: 1.1 * 3 = 3.3 -> 4 and 1.1 * 2 = 2.2 -> 3.
    blocks = parse_spec(BLOCKS).scale(depth=1.1).blocks()
    assert sum(isinstance(b.block, MBConv) for b in blocks) == 4
    assert sum(isinstance(b.block, Basic) for b in blocks) == 3


def test_efficientnet_b7_repeats():
    blocks = ZOO["efficientnet-b7"].blocks()  # depth 3.1 over repeats 1, 2, 2, 3, 3, 4, 1
    per_layer = [sum(1 for b in blocks if b.layer == i) for i in range(1, 8)]
    assert per_layer == [4, 7, 7, 10, 10, 13, 4]
    assert sum(isinstance(b.block, MBConv) for b in blocks) == 55


def test_width_multiplier_rounds_channels():
    spec = parse_spec(BLOCKS)
    plain = spec.blocks()
    # Width 1.0 leaves every width as written, even when not a multiple of 8.
    assert plain[10].block == Bottleneck(channels=100, width=40, stride=1, groups=4, act="silu")
    assert plain[15].block.channels == 100 and plain[16].block.channels == 50
    wide = spec.scale(width=2.0).blocks()
    assert wide[0].block.channels == 64
    assert wide[3].block.channels == 32
    assert wide[8].block.channels == 48
    assert (wide[10].block.channels, wide[10].block.width, wide[10].block.groups) == (200, 80, 4)
    assert wide[12].block.channels == 16
    assert wide[13].block.channels == 2560
    assert (wide[15].block.channels, wide[16].block.channels) == (200, 104)  # 100 -> 200, 50 -> 100 -> 104
    assert wide[-1].block.channels is None
    # Kernel, stride and other non-channel options are untouched.
    assert (wide[3].block.kernel, wide[3].block.expand) == (3, 6.0)
    odd = spec.scale(width=1.1).blocks()
    assert [b.block.channels for b in odd if isinstance(b.block, (Conv, MBConv, Basic))] == [
        round_channels(c, 1.1) for c in (32, 32, 16, 16, 16, 24, 24, 8, 8, 1280)]
    assert odd[0].block.channels == 32 and odd[10].block.width == 48 and odd[10].block.channels == 112


def test_efficientnet_b4_widths():
    blocks = ZOO["efficientnet-b4"].blocks()
    widths = []
    for b in blocks:
        c = getattr(b.block, "channels", None)
        if c is not None and (not widths or widths[-1] != c):
            widths.append(c)
    # The published B4 widths (timm / torchvision efficientnet_b4).
    assert widths == [48, 24, 32, 56, 112, 160, 272, 448, 1792]


def test_dense_growth_scales():
    spec = parse_spec("model d\n  width 2\n  stage dense growth32 b128 r2\n  stage transition\n  head fc\n")
    blocks = spec.blocks()
    assert blocks[0].block == Dense(growth=64, width=256, act="relu")
    assert blocks[2].block.channels is None


def test_drop_path_rises_linearly_over_residual_blocks():
    blocks = parse_spec(BLOCKS).blocks()
    residual = [b for b in blocks if isinstance(b.block, (MBConv, Basic, Bottleneck))]
    assert len(residual) == 6
    assert [b.drop_path for b in residual] == pytest.approx([0.2 * i / 6 for i in range(6)])
    assert residual[0].drop_path == 0.0
    assert all(b.drop_path == 0.0 for b in blocks if b not in residual)
    deeper = parse_spec(BLOCKS).scale(depth=2.0).blocks()
    rates = [b.drop_path for b in deeper if isinstance(b.block, (MBConv, Basic, Bottleneck))]
    assert len(rates) == 12 and rates == sorted(rates) and rates[0] == 0.0
    assert rates[-1] == pytest.approx(0.2 * 11 / 12)
    assert all(b.drop_path == 0.0 for b in ZOO["resnet50"].blocks())


def test_classifier_gets_model_dropout():
    blocks = parse_spec(BLOCKS).blocks()
    fcs = [b.block for b in blocks if isinstance(b.block, Linear)]
    assert [fc.dropout for fc in fcs] == [0.0, 0.5, 0.3]
    assert [fc.act for fc in fcs] == ["relu", "none", "none"]
    assert ZOO["efficientnet-b7"].blocks()[-1].block.dropout == 0.5
    assert ZOO["resnet18"].blocks()[-1].block.dropout == 0.0


def test_pool_options():
    blocks = parse_spec(BLOCKS).blocks()
    assert blocks[2].block == MaxPool(kernel=3, stride=2, padding=0, ceil=False)
    assert ZOO["googlenet"].blocks()[1].block == MaxPool(kernel=3, stride=2, padding=0, ceil=True)


# ----------------------------------------------------------------------------- round_channels


@pytest.mark.parametrize("channels, width, divisor, expected", [
    (32, 1.1, 8, 32),        # 35.2 -> 32 (>= 90%)
    (1280, 4.3, 8, 5504),    # 5504 is a multiple of 8
    (16, 0.25, 8, 8),        # 4 -> never below the divisor
    (24, 1.4, 8, 32),        # 33.6 -> 32
    (10, 1.1, 8, 16),        # 11 -> 8 is below 90% of 11 -> 16
    (143, 0.25, 8, 40),      # 35.75 -> 32 is below 90% of 35.75 -> 40
    (32, 1.4, 8, 48),        # 44.8 -> 48 (rounds half up)
    (40, 1.1, 8, 48),        # 44 -> 48
    (320, 2.0, 8, 640),
    (13, 1.0, 8, 13),        # width 1: left as is
    (100, 1.0, 8, 100),
    (100, 1.1, 4, 112),      # 110 -> 112 with divisor 4 (rounds half up)
    (100, 1.1, 16, 112),     # 110 -> 112
    (1, 0.1, 8, 8),
])
def test_round_channels_golden(channels, width, divisor, expected):
    assert round_channels(channels, width, divisor) == expected
    assert isinstance(round_channels(channels, width, divisor), int)


def test_round_channels_rule():
    for channels in range(1, 400, 7):
        for width in (0.25, 0.5, 0.75, 1.1, 1.2, 1.4, 1.6, 1.8, 2.0, 3.1, 4.3):
            scaled = channels * width
            got = round_channels(channels, width)
            assert got % 8 == 0 and got >= 8
            assert got >= 0.9 * scaled
            assert got <= max(8, scaled + 4) + 8


def test_divisor_setting_is_used():
    spec = parse_spec("model d\n  width 1.1\n  divisor 16\n  stage conv c100\n  head fc\n")
    assert spec.blocks()[0].block.channels == 112
    roundtrip(spec)


@pytest.mark.parametrize("repeats, depth, ceil, nearest", [
    (1, 1.2, 2, 1),      # EfficientNet's B1/B2 stage 1: ceil doubles a one-block stage
    (4, 1.2, 5, 5),      # 4.8
    (3, 1.2, 4, 4),      # 3.6
    (2, 1.2, 3, 2),      # 2.4
    (2, 1.25, 3, 3),     # 2.5 rounds half up
    (1, 0.5, 1, 1),      # never below one block
    (3, 0.5, 2, 2),      # 1.5
    (4, 3.1, 13, 12),    # B7: 12.4
    (3, 1.0, 3, 3),
])
def test_scale_repeats_golden(repeats, depth, ceil, nearest):
    assert scale_repeats(repeats, depth, "ceil") == ceil
    assert scale_repeats(repeats, depth, "round") == nearest


def test_depth_round_setting_is_used_and_written():
    text = "model d\n  depth 1.2\n  stage conv c8 r1\n  stage conv c8 r2\n  head fc\n"
    ceil, nearest = parse_spec(text), parse_spec(text.replace("depth 1.2", "depth 1.2\n  depth_round round"))
    assert ceil.depth_round == "ceil" and nearest.depth_round == "round"
    assert [len([b for b in s.blocks() if b.part == "stage"]) for s in (ceil, nearest)] == [5, 3]
    assert "depth_round" not in ceil.text() and "depth_round round" in nearest.text()
    roundtrip(nearest)


# ----------------------------------------------------------------------------- errors


def _error(text: str, source: str = "t.arch") -> DSLError:
    with pytest.raises(DSLError) as info:
        parse_text(text, source=source)
    return info.value


def layer_text(line: str) -> str:
    return "model m\n" + line + "\n  head  fc\n"


# (text, line number, needle whose column is expected (None: column 1; an int: that column), phrase)
ERROR_CASES = {
    "unknown block type": (layer_text("  stage foo c8"), 2, "foo", "unknown block type 'foo'"),
    "unknown option": (layer_text("  stage basic c8 se0.25"), 2, "se0.25", "unknown option 'se' for basic"),
    "unknown option long form": (layer_text("  stage conv c8 zz=3"), 2, "zz=3", "unknown option 'zz' for conv"),
    "unknown option far right": (layer_text("  stage  bottleneck c256 b64 g32 s2 act=relu   zz=1  # comment"), 2,
                                 "zz=1", "unknown option 'zz' for bottleneck"),
    "option twice": (layer_text("  stage conv c8 k3 k=5"), 2, "k=5", "option 'k' given twice"),
    "repeats twice": (layer_text("  stage conv c8 r2 r3"), 2, "r3", "option 'r' given twice"),
    "missing required": (layer_text("  stage mbconv k3 s2"), 2, "mbconv", "mbconv needs c (channels)"),
    "missing several": (layer_text("  stage bottleneck s2"), 2, "bottleneck", "needs c (channels), b (width)"),
    "flag with value": (layer_text("  stage conv c8 dw3"), 2, "dw3", "'dw' is a flag and takes no value"),
    "option without value": (layer_text("  stage conv c8 act"), 2, "act", "option 'act' (act) needs a value"),
    "option empty after =": (layer_text("  stage conv c8 k="), 2, "k=", "option 'k' (kernel) needs a value"),
    "repeats without value": (layer_text("  stage conv c8 r"), 2, "r", "'r' (repeats) needs a value"),
    "bad int": (layer_text("  stage mbconv c8 k3.5"), 2, "k3.5", "expected a whole number, got '3.5'"),
    "bad kernel": (layer_text("  stage conv c8 k3.5"), 2, "k3.5", "expected a whole number, got '3.5'"),
    "bad ratio": (layer_text("  stage mbconv c8 se1.5"), 2, "se1.5", "expected a fraction in [0, 1), got '1.5'"),
    "zero int": (layer_text("  stage conv c0"), 2, "c0", "at least 1"),
    "infinite float": (layer_text("  stage mbconv c8 e1e999"), 2, "e1e999", "expected a finite number"),
    "bad act": (layer_text("  stage conv c8 act=swish"), 2, "act=swish", "unknown activation 'swish'"),
    "bad norm": (layer_text("  stage conv c8 norm=ln"), 2, "norm=ln", "unknown norm 'ln'"),
    "bad depth rounding": ("model m\n  depth_round floor\n  head fc\n", 2, "floor", "unknown depth rounding 'floor'"),
    "unclosed brace": (layer_text("  stage conv c8 k{3,5 s2"), 2, "{", "unclosed '{': expected '}'"),
    "unclosed bracket": (layer_text("  stage conv c[8..16 s2"), 2, "[", "unclosed '['"),
    "stray brace": (layer_text("  stage conv c8 k3}"), 2, "}", "unexpected '}'"),
    "stray bracket": (layer_text("  stage conv c8] k3"), 2, "]", "unexpected ']'"),
    "unknown choice": (layer_text("  stage conv c8 k$kern"), 2, "k$kern", "unknown choice $kern"),
    "repeated value": (layer_text("  stage conv c8 k{3,5,3}"), 2, "k{3,5,3}", "repeated value in '{3,5,3}'"),
    "repeated pair value": (layer_text("  stage conv c8 k{3,3x3}"), 2, "k{3,3x3}", "repeated value"),
    "empty choice": (layer_text("  stage conv c8 k{}"), 2, "k{}", "expected values separated by commas"),
    "empty item": (layer_text("  stage conv c8 k{3,,5}"), 2, "k{3,,5}", "expected values separated by commas"),
    "repeated declared value": ("model m\n  choice k {3,5,3}\n  head fc\n", 2, "{3,5,3}", "repeated value"),
    "bad declared value": ("model m\n  choice k {3,+}\n  head fc\n", 2, "{3,+}", "expected a number or a name"),
    "bad choice statement": ("model m\n  choice K {3,5}\n  head fc\n", 2, "choice", "expected 'choice NAME"),
    "declared scalar": ("model m\n  choice k 3\n  head fc\n", 2, "3", "expected {a,b,...} or [low..high]"),
    "choice redeclared after use": ("model m\n  choice k {3,5}\n  stage mbconv c8 k$k\n  choice k {3,relu}\n  head fc\n",
                                    4, "{3,relu}", "choice $k is used by 'k': expected a whole number, got 'relu'"),
    "inherited choice redeclared": ("model s\n  choice k {3,5}\n  stage mbconv c8 k$k\n  head fc\n"
                                    "model t extends s\n  choice k {1x7,5}\n", 6, "{1x7,5}", "choice $k is used by 'k'"),
    "redeclared range too low": ("model m\n  choice n [1..3]\n  width $n\n  stage conv c8 r$n\n  choice n [0..3]\n"
                                 "  head fc\n", 5, "[0..3]", "choice $n is used by"),
    "empty range": (layer_text("  stage conv c8 r[4..1]"), 2, "r[4..1]", "empty or uneven range '[4..1]'"),
    "uneven range": (layer_text("  stage conv c8 r[1..6/4]"), 2, "r[1..6/4]", "empty or uneven range '[1..6/4]'"),
    "zero step": (layer_text("  stage conv c[8..16/0]"), 2, "c[8..16/0]", "empty or uneven range"),
    "float range": (layer_text("  stage mbconv c8 e[1..4]"), 2, "e[1..4]", "expected an integer range"),
    "range below 1": (layer_text("  stage conv c[0..8]"), 2, "c[0..8]", "at least 1"),
    "indented first": ("  stage conv c8\nmodel m\n  head fc\n", 1, "stage", "expected 'model NAME' at the start"),
    "top-level not model": ("model m\n  head fc\nstage conv c8\n", 3, None, "expected 'model NAME', got 'stage'"),
    "model without name": ("model\n", 1, 7, "expected a model name"),  # where the name would go
    "setting without value": ("model a\n  width\n  head fc\n", 2, 9, "expected one value after 'width'"),
    "bad model name": ("model Net\n  head fc\n", 1, "Net", "expected a model name"),
    "junk after name": ("model a b\n  head fc\n", 1, "b", "expected 'extends BASE'"),
    "duplicate model": ("model a\n  head fc\n\nmodel a\n  head fc\n", 4, "a", "model 'a' is defined twice"),
    "no layers": ("model a\n  width 2\nmodel b\n  head fc\n", 1, None, "model 'a' has no layers"),
    "no layers at end": ("model b\n  head fc\nmodel a\n  width 2\n", 3, None, "model 'a' has no layers"),
    "no classifier": ("model a\n  stage conv c8\n", 1, None, "model 'a' must end with the classifier 'head fc'"),
    "classifier with c": ("model a\n  head gpool\n  head fc c10\n", 1, None, "must end with the classifier"),
    "classifier not last": ("model a\n  head fc\n  head gpool\n", 1, None, "must end with the classifier"),
    "unknown statement": ("model a\n  layer conv c8\n  head fc\n", 2, "layer", "unknown statement 'layer'"),
    "setting two values": ("model a\n  width 1 2\n  head fc\n", 2, "2", "expected one value after 'width'"),
    "setting bad value": ("model a\n  resolution 2.5\n  head fc\n", 2, "2.5", "expected a whole number"),
    "setting bad word": ("model a\n  act mish\n  head fc\n", 2, "mish", "unknown activation 'mish'"),
    "no model": ("# nothing here\n\n", 1, None, "no model defined"),
}


def _needle_line(text: str, line: int) -> str:
    return text.splitlines()[line - 1]


@pytest.mark.parametrize("case", sorted(ERROR_CASES))
def test_error_is_located(case):
    text, line, needle, phrase = ERROR_CASES[case]
    e = _error(text)
    where = _needle_line(text, line)
    col = 1 if needle is None else needle if isinstance(needle, int) else col_of(where, needle)
    assert (e.source, e.line, e.col) == ("t.arch", line, col), e
    assert phrase in e.message, e
    assert str(e) == f"t.arch:{line}:{col}: {e.message}"
    assert len(str(e).splitlines()) == 1


def test_error_columns_count_from_one_and_tabs_indent():
    e = _error("model m\n\tstage foo\n  head fc\n")
    assert (e.line, e.col) == (2, 8)
    e = _error("model m\n  stage conv c8   k3   k3   # again\n  head fc\n")
    assert (e.line, e.col) == (2, 24)


def test_comments_and_blank_lines_are_ignored():
    text = "# header\n\nmodel m   # trailing\n\n  # inner\n  stage conv c8 k{3,5}  # k{,}\n\n  head fc\n"
    space = parse_text(text)["m"]
    assert space.params() == {"stage1.kernel": Categorical((3, 5))}
    # Spaces inside a choice are allowed.
    assert parse_text("model m\n  stage conv c8 k{3, 5}\n  head fc\n")["m"] == space


def test_line_endings_and_tabs_do_not_matter():
    for path in ARCH_FILES:
        text = path.read_text(encoding="utf-8")
        models = parse_text(text)
        assert parse_text(text.replace("\n", "\r\n")) == models
        assert parse_text(text.replace("  ", "\t")) == models
        assert parse_text(text.rstrip("\n")) == models


def test_error_is_a_scaler_error():
    e = _error("model\n")
    assert isinstance(e, ScalerError) and e.exit_code == 2


def test_parse_file_reports_its_path(tmp_path):
    path = tmp_path / "bad.arch"
    path.write_text("model m\n  stage conv c8\n  stage conv c8 k{3\n  head fc\n", encoding="utf-8")
    with pytest.raises(DSLError) as info:
        parse_file(path)
    e = info.value
    assert (e.source, e.line, e.col) == (str(path), 3, col_of("  stage conv c8 k{3", "{"))
    assert str(e).startswith(f"{path}:3:{e.col}: unclosed")
    assert len(str(e).splitlines()) == 1


def test_parse_file_missing(tmp_path):
    path = tmp_path / "nowhere" / "missing.arch"
    with pytest.raises(DSLError) as info:
        parse_file(path)
    e = info.value
    assert e.source == str(path)
    assert str(path) in str(e) and "no such file" in str(e)
    assert len(str(e).splitlines()) == 1


def test_parse_file_not_utf8(tmp_path):
    path = tmp_path / "binary.arch"
    path.write_bytes(b"model m\n  head fc \xff\xfe\n")
    with pytest.raises(DSLError, match="cannot read") as info:
        parse_file(path)
    assert info.value.source == str(path)


def test_parse_file_with_library(tmp_path):
    path = tmp_path / "mine.arch"
    path.write_text("model mine extends efficientnet-b0\n  width 0.5\n", encoding="utf-8")
    mine = parse_file(path, library=ZOO)["mine"]
    assert mine == ZOO["efficientnet-b0"].scale(width=0.5, name="mine")
    assert mine.source == str(path)


def test_parse_spec_takes_the_last_model():
    spec = parse_spec("model a\n  head fc\nmodel b\n  width 2\n  head fc\n")
    assert spec.name == "b" and spec.width == 2.0


def test_located_error_string_format():
    e = DSLError("boom", "f.arch", 3, 7)
    assert str(e) == "f.arch:3:7: boom"
    assert (e.message, e.source, e.line, e.col) == ("boom", "f.arch", 3, 7)
    assert str(DSLError("no such file", "x.arch")) == "x.arch: no such file"
