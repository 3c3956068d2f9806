"""Property-based tests of the DSL: any text parses or fails with a located DSLError, mutated zoo
files never crash the parser, and generated Specs and Spaces round trip through their text."""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scaler.dsl import DSLError, Space, Spec, parse_text
from scaler.dsl.blocks import (
    BLOCK_TYPES,
    AdaptivePool,
    AvgPool,
    Basic,
    Bottleneck,
    Conv,
    Dense,
    GlobalPool,
    Inception,
    InceptionA,
    InceptionC,
    InceptionE,
    Layer,
    Linear,
    MaxPool,
    MBConv,
    Norm,
    PreAct,
    Transition,
    fields_by_key,
)
from scaler.dsl.model import SETTINGS
from scaler.dsl.params import Categorical, IntRange, Tied
from scaler.dsl.values import ACTIVATIONS, DEPTH_ROUNDINGS, NORMS

ROOT = Path(__file__).resolve().parents[1]
ZOO_TEXTS = {p.name: p.read_text(encoding="utf-8") for p in sorted((ROOT / "search_spaces").glob("*.arch"))}

PROPS = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)

# ----------------------------------------------------------------------------- helpers


def check_outcome(text: str, source: str = "<fuzz>"):
    """Parse ``text``: it either gives models that round trip, or a well-located DSLError."""
    try:
        models = parse_text(text, source=source)
    except DSLError as e:
        lines = text.splitlines()
        assert e.source == source
        assert 1 <= e.line <= max(1, len(lines)), (e, text)
        line = lines[e.line - 1] if lines else ""
        # 0 only for "a block type is missing" (no token to point at); len + 2 where a missing word would go.
        assert 0 <= e.col <= len(line) + 2, (e, line)
        assert str(e) == f"{source}:{e.line}:{e.col}: {e.message}"
        assert len(str(e).splitlines()) == 1, str(e)
        return None
    assert models
    for name, model in models.items():
        assert isinstance(model, (Spec, Space)) and model.name == name
        back = parse_text(model.text())
        assert back == {name: model}, model.text()
    return models


# ----------------------------------------------------------------------------- random text

DSL_CHARS = "abcdefghiklmnoprstuvwxyz0123456789    \n\n\n{}[],.$=#-x_/"
WORDS = sorted({
    "model", "extends", "stem", "stage", "head", "choice", "conv", "mbconv", "basic", "bottleneck", "maxpool",
    "avgpool", "gpool", "adaptpool", "fc", "norm", "dense", "transition", "inception", "inc3a", "inc3c",
    "preact", "width", "depth", "depth_round", "round", "resolution", "dropout", "drop_path", "act", "family",
    "divisor", "bn_eps",
    "gn_groups", "silu", "relu", "none", "bn", "gn", "dw", "ceil", "noskip", "ws", "nobias", "c", "k", "s",
    "e", "se", "r", "g", "b", "p", "o", "d", "growth", "c1=", "r3=", "pp", "pf", "k5=", "c7=", "3", "5", "16",
    "0", "0.25", "1.5", "1e999", "1e-5", "1x7", "{3,5}", "[1..4]", "[16..64/8]", "$k", "$kernel", "{", "}",
    "[", "]", "=", "#", "\n", "\n  ", " ", "  ",
})
MINI_HEADER = "model m\n  choice k {3,5}\n  choice kernel [1..3]\n"


@PROPS
@given(st.text(alphabet=DSL_CHARS, max_size=200))
def test_random_characters_parse_or_fail_cleanly(text):
    check_outcome(text)


@PROPS
@given(st.text(alphabet=DSL_CHARS, max_size=120))
def test_random_model_bodies_parse_or_fail_cleanly(body):
    # Behind a valid header most of the text reaches the statement and option parsers.
    check_outcome(MINI_HEADER + body + "\n  head fc\n")


@PROPS
@given(st.lists(st.sampled_from(WORDS), max_size=60))
def test_random_word_soup_parses_or_fails_cleanly(words):
    check_outcome(MINI_HEADER + "  " + " ".join(words) + "\n  head fc\n")
    check_outcome("".join(words))


# Grammar-shaped lines: mostly well-formed statements with odd values, so that most examples get past
# the tokenizer into value parsing, choices, extends and the writer.
numbers = st.from_regex(re.compile(r"[0-9]{0,4}(\.[0-9]{0,3})?(e-?[0-9]{1,3})?(x[0-9]{1,2})?"), fullmatch=True)
edge_numbers = st.sampled_from(("0", "00", "0.0", ".5", "5.", "1e999", "9e308", "1e-999", "1e308", "1.5e-7", "1x1",
                                "3x3", "0x3", "1x7", "12345678901234567890"))
scalars = st.one_of(numbers, edge_numbers, st.sampled_from(("relu", "silu", "none", "bn", "gn", "x", "a-b", "inf")))
choice_values = st.one_of(
    scalars,
    edge_numbers,
    st.lists(scalars, min_size=0, max_size=4).map(lambda xs: "{" + ",".join(xs) + "}"),
    st.tuples(st.integers(0, 70), st.integers(0, 70), st.integers(0, 9)).map(lambda t: f"[{t[0]}..{t[1]}/{t[2]}]"),
    st.tuples(st.integers(0, 9), st.integers(0, 9)).map(lambda t: f"[{t[0]}..{t[1]}]"),
    st.sampled_from(("$k", "$kernel", "$nope")),
)
SETTING_KEYS = tuple(SETTINGS)
VALID_VALUES = {
    "int": st.integers(1, 64).map(str),
    "count": st.integers(0, 8).map(str),
    "kernel": st.sampled_from(("1", "3", "5", "1x7", "7x1", "3x3")),
    "float": st.sampled_from(("0.5", "1", "1.0", "6", "2.5e0", "1e-3")),
    "ratio": st.sampled_from(("0", "0.0", "0.25", ".5", "1e-2")),
    "act": st.sampled_from(ACTIVATIONS),
    "norm": st.sampled_from(NORMS),
    "rounding": st.sampled_from(DEPTH_ROUNDINGS),
    "word": st.sampled_from(("resnet", "a-b", "x.1")),
}
OPEN_VALUES = {
    "int": st.sampled_from(("{8,16}", "[8..32/8]", "[1..4]", "$k", "$w")),
    "count": st.sampled_from(("{0,1}", "[0..2]", "$k")),
    "kernel": st.sampled_from(("{3,5}", "{3,1x7}", "[1..7/2]", "$k", "$w")),
    "float": st.sampled_from(("{0.5,1.0}", "{1,6}", "$k")),
    "ratio": st.sampled_from(("{0,0.25}", "{0.5}")),
    "act": st.sampled_from(("{relu,silu}",)),
    "norm": st.sampled_from(("{bn,gn}",)),
    "rounding": st.sampled_from(("{ceil,round}",)),
    "word": st.sampled_from(("{a,b}",)),
}


@st.composite
def option_value(draw, kind: str) -> str:
    """Mostly a valid value of ``kind``, sometimes a choice of them, now and then anything."""
    how = draw(st.integers(0, 9))
    if how < 6:
        return draw(VALID_VALUES[kind])
    if how < 8:
        return draw(OPEN_VALUES[kind])
    return draw(choice_values)


@st.composite
def layer_line(draw) -> str:
    """``PART BLOCK OPTION...`` with every required option and some optional ones, in either form."""
    kind_name = draw(st.sampled_from(sorted(BLOCK_TYPES) + ["foo"]))
    words = [draw(st.sampled_from(("stem ", "stage", "head "))), kind_name]
    keys = fields_by_key(BLOCK_TYPES[kind_name]) if kind_name in BLOCK_TYPES else {}
    chosen = [k for k, f in keys.items() if f.default is dataclasses.MISSING or draw(st.booleans())]
    if draw(st.integers(0, 9)) == 0:
        chosen.append(draw(st.sampled_from(("zz", "r", "c", "k", "dw"))))  # unknown, repeated or misplaced
    if draw(st.booleans()):
        chosen.append("r")
    for key in draw(st.permutations(chosen)):
        kind = keys[key].metadata["kind"] if key in keys else "int"
        if kind == "flag":
            words.append(key + ("" if draw(st.integers(0, 9)) else "3"))
            continue
        value = "" if draw(st.integers(0, 29)) == 0 else draw(option_value(kind))
        short = re.fullmatch(r"[a-z]+", key) and re.match(r"[0-9.{\[$]", value) and draw(st.booleans())
        words.append(key + value if short else f"{key}={value}")
    return "  " + " ".join(words)


statement = st.one_of(
    layer_line(),
    layer_line(),
    layer_line(),
    st.sampled_from(SETTING_KEYS).flatmap(lambda key: option_value(SETTINGS[key][0]).map(lambda v: f"  {key} {v}")),
    st.tuples(st.sampled_from(("k", "kernel", "w")), choice_values).map(lambda t: f"  choice {t[0]} {t[1]}"),
    st.sampled_from(("  head fc", "  head gpool", "model a", "model b extends a", "model c extends b", "",
                     "model d extends zz", "  # comment")),
)


@PROPS
@given(st.lists(statement, max_size=12))
def test_grammar_shaped_lines_parse_or_fail_cleanly(lines):
    check_outcome("model a\n  choice k {3,5}\n  choice w [1..4]\n" + "\n".join(lines) + "\n  head fc\n")


@PROPS
@given(st.sampled_from(SETTING_KEYS), choice_values)
def test_setting_values_parse_or_fail_cleanly(key, value):
    check_outcome(f"model a\n  choice k {{3,5}}\n  choice w [1..4]\n  {key} {value}\n  head fc\n")


@PROPS
@given(choice_values, layer_line(), st.sampled_from(SETTING_KEYS))
def test_declared_choices_parse_or_fail_cleanly(values, line, key):
    # The same declared choice used by a layer line and by a setting.
    check_outcome(f"model a\n  choice k {values}\n  choice w [1..4]\n{line}\n  {key} $k\n  head fc\n")
    check_outcome(f"model a\n  choice k {values}\n  choice w [1..4]\n{line}\n  head fc\n")
    # Declared again after its uses, in the model itself or in one that extends it.
    base = f"model a\n  choice k {{3,5}}\n  choice w [1..4]\n{line}\n"
    check_outcome(base + f"  choice k {values}\n  head fc\n")
    check_outcome(base + f"  head fc\nmodel b extends a\n  choice k {values}\n  choice w {values}\n")


@PROPS
@given(st.text(max_size=60))
def test_any_unicode_parses_or_fails_cleanly(junk):
    check_outcome("model m\n  stage conv c8 " + junk + "\n  head fc\n")


# ----------------------------------------------------------------------------- mutated zoo files

MUTATIONS = ("delete char", "insert char", "replace char", "delete line", "duplicate line", "swap lines")


@st.composite
def mutated_zoo_text(draw):
    text = ZOO_TEXTS[draw(st.sampled_from(sorted(ZOO_TEXTS)))]
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(MUTATIONS))
        if kind.endswith("char"):
            i = draw(st.integers(0, max(0, len(text) - 1)))
            ch = draw(st.sampled_from(DSL_CHARS + "\t\r"))
            if kind == "delete char":
                text = text[:i] + text[i + 1:]
            elif kind == "insert char":
                text = text[:i] + ch + text[i:]
            else:
                text = text[:i] + ch + text[i + 1:]
        else:
            lines = text.split("\n")
            i = draw(st.integers(0, len(lines) - 1))
            if kind == "delete line":
                del lines[i]
            elif kind == "duplicate line":
                lines.insert(i, lines[i])
            else:
                j = draw(st.integers(0, len(lines) - 1))
                lines[i], lines[j] = lines[j], lines[i]
            text = "\n".join(lines)
    return text


@PROPS
@given(mutated_zoo_text())
def test_mutated_zoo_files_parse_or_fail_cleanly(text):
    check_outcome(text, source="zoo.arch")


def test_unmutated_zoo_files_parse():
    for name, text in ZOO_TEXTS.items():
        assert check_outcome(text, source=name)


# ----------------------------------------------------------------------------- generated Specs

channels = st.integers(1, 4096)
small = st.integers(1, 7)
counts = st.integers(0, 5)
acts = st.sampled_from((None,) + ACTIVATIONS)
norms = st.sampled_from((None,) + NORMS)
positive = st.floats(min_value=0.0, exclude_min=True, allow_nan=False, allow_infinity=False)
multipliers = st.floats(min_value=1e-3, max_value=1e3, allow_nan=False)
ratios = st.floats(min_value=0.0, max_value=1.0, exclude_max=True, allow_nan=False)
kernels = st.one_of(
    st.integers(1, 11),
    st.tuples(st.integers(1, 9), st.integers(1, 9)).filter(lambda p: p[0] != p[1]),
)


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


@st.composite
def grouped(draw, n: int) -> int:
    return draw(st.sampled_from(divisors(n)))


@st.composite
def conv(draw):
    c = draw(st.integers(1, 512))
    return Conv(channels=c, kernel=draw(kernels), stride=draw(small), padding=draw(st.none() | counts),
                groups=draw(grouped(c)), depthwise=draw(st.booleans()), weight_std=draw(st.booleans()),
                no_bias=draw(st.booleans()), norm=draw(norms), act=draw(acts))


@st.composite
def bottleneck(draw):
    b = draw(st.integers(1, 512))
    cls = draw(st.sampled_from((Bottleneck, PreAct)))
    extra = {"norm": draw(norms)} if cls is PreAct else {}
    return cls(channels=draw(channels), width=b, stride=draw(small), groups=draw(grouped(b)), act=draw(acts),
               **extra)


def pool(cls):
    return st.builds(cls, kernel=small, stride=small, padding=counts, ceil=st.booleans())


BLOCK_STRATEGIES = st.one_of(
    conv(),
    st.builds(MBConv, channels=channels, kernel=st.sampled_from((1, 3, 5, 7)), stride=small, expand=positive,
              se=ratios, act=acts, noskip=st.booleans()),
    st.builds(Basic, channels=channels, stride=small, act=acts),
    bottleneck(),
    st.builds(Dense, growth=channels, width=channels, act=acts),
    st.builds(Transition, channels=st.none() | channels, act=acts),
    pool(MaxPool),
    pool(AvgPool),
    st.builds(AdaptivePool, out=small),
    st.just(GlobalPool()),
    st.builds(Norm, norm=norms, act=acts),
    st.builds(Linear, channels=channels, dropout=st.none() | ratios, act=st.sampled_from(ACTIVATIONS)),
    st.builds(Inception, c1=channels, r3=channels, c3=channels, r5=channels, c5=channels, pool=channels,
              k5=small),
    st.builds(InceptionA, pool=channels),
    st.builds(InceptionC, c7=channels),
    st.just(InceptionE()),
)

names = st.from_regex(re.compile(r"[a-z0-9][a-z0-9_.-]{0,15}"), fullmatch=True)
words = st.from_regex(re.compile(r"[a-z][a-z0-9_.-]{0,10}"), fullmatch=True)


@st.composite
def specs(draw):
    layers = [Layer(draw(st.sampled_from(("stem", "stage", "head"))), draw(BLOCK_STRATEGIES),
                    draw(st.integers(1, 6)))
              for _ in range(draw(st.integers(0, 8)))]
    layers.append(Layer("head", GlobalPool()))
    layers.append(Layer("head", Linear(dropout=draw(st.none() | ratios), act=draw(st.sampled_from(ACTIVATIONS)))))
    settings_ = {}
    if draw(st.booleans()):
        settings_ = draw(st.fixed_dictionaries({}, optional={
            "family": words, "resolution": st.integers(1, 2000), "width": multipliers, "depth": multipliers,
            "depth_round": st.sampled_from(DEPTH_ROUNDINGS),
            "divisor": st.integers(1, 64), "dropout": ratios, "drop_path": ratios,
            "act": st.sampled_from(ACTIVATIONS), "norm": st.sampled_from(NORMS), "bn_eps": positive,
            "gn_groups": st.integers(1, 64),
        }))
    return Spec(name=draw(names), layers=tuple(layers), **settings_)


@PROPS
@given(specs())
def test_generated_specs_round_trip(spec):
    text = spec.text()
    back = parse_text(text)
    assert back == {spec.name: spec}, text
    assert isinstance(back[spec.name], Spec)
    assert back[spec.name].text() == text


@PROPS
@given(specs(), st.floats(0.1, 4.0), st.floats(0.1, 4.0), st.integers(1, 1000))
def test_generated_specs_scale_and_unroll(spec, depth, width, resolution):
    scaled = spec.scale(depth, width, resolution)
    assert parse_text(scaled.text()) == {spec.name: scaled}
    if scaled.depth > 20:
        return  # very deep networks are not unrolled, to keep the test fast
    blocks = scaled.blocks()
    for index, layer in enumerate(scaled.layers):
        mine = [b for b in blocks if b.layer == index]
        if layer.part == "stage" and layer.block.depth_scalable:
            exact = layer.repeats * scaled.depth
            expected = math.ceil(exact) if scaled.depth_round == "ceil" else max(1, math.floor(exact + 0.5))
            assert len(mine) == expected >= 1
        else:
            assert len(mine) == layer.repeats
        stride = getattr(layer.block, "stride", None)
        if stride is not None:
            assert [b.block.stride for b in mine] == [stride] + [1] * (len(mine) - 1)
    rates = [b.drop_path for b in blocks if isinstance(b.block, (MBConv, Basic, Bottleneck, PreAct))]
    assert rates == sorted(rates) and (not rates or rates[0] == 0.0)
    assert all(0.0 <= r < 1.0 for r in rates)


# ----------------------------------------------------------------------------- generated Spaces


@st.composite
def spaces(draw):
    """A generated Spec with some integer options opened up as choices, some of them tied."""
    spec = draw(specs())
    kernel_choice = Categorical(tuple(draw(st.lists(st.sampled_from((1, 3, 5, 7)), min_size=1, max_size=4,
                                                   unique=True))))
    ratio_choice = Categorical(tuple(draw(st.lists(ratios, min_size=1, max_size=3, unique=True))))
    choices = {"kk": kernel_choice, "rr": ratio_choice}
    layers = []
    for layer in spec.layers:
        block = layer.block
        changes = {}
        if isinstance(block, MBConv) and draw(st.booleans()):
            changes["kernel"] = Tied("kk")
        if getattr(block, "channels", None) is not None and draw(st.booleans()):
            low = draw(st.integers(1, 64))
            step = draw(st.integers(1, 16))
            changes["channels"] = IntRange(low, low + step * draw(st.integers(0, 4)), step)
        if isinstance(block, MBConv) and draw(st.booleans()):
            changes["se"] = draw(st.sampled_from((Tied("rr"), Categorical((0.0, 0.25)))))
        if isinstance(block, MBConv) and draw(st.booleans()):
            changes["expand"] = Categorical(tuple(draw(st.lists(positive, min_size=1, max_size=3, unique=True))))
        repeats = layer.repeats
        if draw(st.booleans()):
            repeats = Categorical(tuple(draw(st.lists(st.integers(1, 5), min_size=1, max_size=3, unique=True))))
        layers.append(Layer(layer.part, dataclasses.replace(block, **changes), repeats))
    width = draw(st.sampled_from((spec.width, Categorical((0.5, 1.0)), Tied("kk"))))
    dropout = draw(st.sampled_from((spec.dropout, Tied("rr"))))
    return Space(name=spec.name, layers=tuple(layers), width=width, dropout=dropout, resolution=spec.resolution,
                 choices=tuple(choices.items()))


@PROPS
@given(spaces(), st.randoms(use_true_random=False))
def test_generated_spaces_round_trip_and_fix(space, rnd):
    back = parse_text(space.text())[space.name]
    params = space.params()
    if not params:
        assert isinstance(back, Spec)  # nothing open: the text is a fixed model
        return
    assert back == space, space.text()
    assert back.params() == params
    values = {name: rnd.choice(param.values) for name, param in params.items()}
    spec = space.fix(values)
    assert isinstance(spec, Spec)
    assert parse_text(spec.text()) == {spec.name: spec}
    if "kk" in values:
        used = [layer.block.kernel for layer, o in zip(spec.layers, space.layers, strict=True)
                if getattr(o.block, "kernel", 0) == Tied("kk")]
        assert all(k == values["kk"] for k in used)
