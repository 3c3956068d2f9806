"""One implementation per block type, registered with a decorator and looked up by a block's type.

The DSL declares a block type once (its config class in ``blocks``); each layer that implements
block types (``scaler.nn.complexity`` counts them, ``scaler.nn.layers`` builds them) keeps one
Registry, so that an implementation given twice, or asked for and missing, is an error that names
the block instead of a fall-through at the end of an isinstance chain.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from scaler.dsl.blocks import Block, Split

F = TypeVar("F", bound=Callable)
BlockType = type[Block] | type[Split]


class Registry(Generic[F]):
    """Block type -> its implementation in one role (``counter``, ``builder``)."""

    def __init__(self, role: str) -> None:
        self.role = role
        self._by_type: dict[type, F] = {}

    def __call__(self, *types: BlockType) -> Callable[[F], F]:
        """A decorator that registers its function for each of ``types``."""

        def register(fn: F) -> F:
            for cls in types:
                if cls in self._by_type:
                    raise ValueError(f"block kind {cls.kind!r} has two {self.role}s: "
                                     f"{self._by_type[cls].__name__} and {fn.__name__}")
                self._by_type[cls] = fn
            return fn

        return register

    def lookup(self, block: object) -> F:
        """The implementation for ``block``'s exact type; a LookupError naming it if there is none."""
        cls = type(block)
        try:
            return self._by_type[cls]
        except KeyError:
            kind = getattr(cls, "kind", "?")
            raise LookupError(f"no {self.role} for block kind {kind!r} ({cls.__name__}): "
                              f"register one with @{self.role}({cls.__name__})") from None

    @property
    def types(self) -> frozenset[type]:
        """The block types registered so far."""
        return frozenset(self._by_type)
