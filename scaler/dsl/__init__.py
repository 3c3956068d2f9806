"""The architecture DSL: text <-> Space (choices open) / Spec (fixed), and the block configs.

dsl owns the block types (one frozen dataclass per kind, in ``blocks``), the model settings, the
parser and the writer, and the ``Registry`` in which ``scaler.nn`` keeps one counter and one builder
per block type. It is plain data and imports no torch (nor anything of scaler but ``scaler.errors``).
Imports run one way: parser -> model -> writer -> blocks, and registry -> blocks.
"""

from scaler.dsl.blocks import BLOCK_TYPES, Block, Layer
from scaler.dsl.errors import DSLError
from scaler.dsl.model import BlockInstance, Model, Space, Spec, round_channels, scale_repeats
from scaler.dsl.params import Categorical, IntRange, Tied
from scaler.dsl.parser import parse_file, parse_spec, parse_text, require_spec
from scaler.dsl.trained import TrainedFor, file_trained_for, read_trained_for

__all__ = [
    "BLOCK_TYPES", "Block", "BlockInstance", "Categorical", "DSLError", "IntRange", "Layer", "Model", "Space", "Spec",
    "Tied", "TrainedFor", "file_trained_for", "parse_file", "parse_spec", "parse_text", "read_trained_for",
    "require_spec", "round_channels", "scale_repeats",
]
