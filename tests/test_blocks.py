"""Block types are declared once: every DSL kind has exactly one counter and one builder, found by
registry lookup, and the layers that count and build keep to their imports."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from typing import ClassVar

import pytest

from scaler.dsl.blocks import BLOCK_TYPES, Block, MBConv, Split
from scaler.dsl.registry import Registry
from scaler.nn.complexity import counter
from scaler.nn.layers import builder

ALL_TYPES = frozenset(BLOCK_TYPES.values()) | {Split}


@dataclass(frozen=True)
class Unregistered:
    """A block-like config no layer implements (not a Block, so it stays out of BLOCK_TYPES)."""

    kind: ClassVar[str] = "unregistered"


@pytest.mark.parametrize("registry", [counter, builder], ids=lambda r: r.role)
def test_every_block_kind_has_one_implementation(registry: Registry) -> None:
    assert registry.types == ALL_TYPES  # one entry per type: a second one is refused (below)


@pytest.mark.parametrize("registry", [counter, builder], ids=lambda r: r.role)
def test_a_second_implementation_is_refused(registry: Registry) -> None:
    block = MBConv(channels=16)
    before = registry.lookup(block)
    with pytest.raises(ValueError, match=f"block kind 'mbconv' has two {registry.role}s"):
        registry(MBConv)(lambda *args: None)
    assert registry.lookup(block) is before


@pytest.mark.parametrize("registry", [counter, builder], ids=lambda r: r.role)
def test_lookup_of_an_unregistered_kind_names_it(registry: Registry) -> None:
    with pytest.raises(LookupError, match=rf"no {registry.role} for block kind 'unregistered' \(Unregistered\): "
                                          rf"register one with @{registry.role}\(Unregistered\)"):
        registry.lookup(Unregistered())


def test_a_kind_is_declared_once() -> None:
    with pytest.raises(TypeError, match="block kind 'mbconv' is declared twice: MBConv and Again"):
        @dataclass(frozen=True)
        class Again(Block):
            kind: ClassVar[str] = "mbconv"
    assert BLOCK_TYPES["mbconv"] is MBConv


@pytest.mark.parametrize("module", ["scaler.dsl", "scaler.nn", "scaler.nn.complexity"])
def test_counting_and_the_dsl_import_no_torch(module: str) -> None:
    code = f"import sys, {module}; assert 'torch' not in sys.modules, [m for m in sys.modules if 'torch' in m]"
    subprocess.run([sys.executable, "-c", code], check=True)
