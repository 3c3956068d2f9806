"""The architecture DSL: text <-> Space (choices open) / Spec (fixed)."""

from scaler.dsl.blocks import BLOCK_TYPES, Block
from scaler.dsl.errors import DSLError
from scaler.dsl.model import BlockInstance, Layer, Model, Space, Spec, round_channels, scale_repeats
from scaler.dsl.params import Categorical, IntRange, Tied
from scaler.dsl.parser import parse_file, parse_spec, parse_text, require_spec
from scaler.dsl.writer import write_model

__all__ = [
    "BLOCK_TYPES", "Block", "BlockInstance", "Categorical", "DSLError", "IntRange", "Layer", "Model",
    "Space", "Spec", "Tied", "parse_file", "parse_spec", "parse_text", "require_spec", "round_channels", "scale_repeats",
    "write_model",
]
