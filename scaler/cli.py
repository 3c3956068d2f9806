"""The ``scaler`` command: zoo, inspect (and the commands that build on them)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Callable, Sequence

from scaler.errors import ScalerError


class _Parser(argparse.ArgumentParser):
    """argparse whose usage errors are one line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def format_table(rows: list[dict], columns: list[tuple[str, str, Callable[[object], str]]]) -> str:
    """A plain text table: (key, header, formatter) per column, numbers right-aligned."""
    cells = [[header for _, header, _ in columns]]
    cells += [[fmt(row[key]) for key, _, fmt in columns] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    lines = []
    for r in cells:
        lines.append("  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
    return "\n".join(lines)


def _si(v: object) -> str:
    """A count with a K/M/G suffix and three significant digits."""
    if v is None:
        return "-"
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(v) >= scale:
            return f"{v / scale:.3g}{suffix}"
    return str(v)


def _plain(v: object) -> str:
    return "-" if v is None else str(v)


def cmd_zoo(args: argparse.Namespace) -> int:
    from scaler.zoo import zoo_table

    rows = zoo_table(args.family)
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    print(format_table(rows, [
        ("name", "name", _plain), ("family", "family", _plain), ("resolution", "res", _plain),
        ("params", "params", _si), ("macs", "MACs", _si), ("acts", "acts", _si),
        ("top1", "top-1", _plain),
    ]))
    print("MACs are multiply-adds (the EfficientNet paper's and torchvision's 'FLOPs'); top-1 is the "
          "published ImageNet figure (see 'scaler zoo --json' for its source).")
    return 0


def cmd_inspect(args: argparse.Namespace) -> int:
    from scaler.complexity import complexity
    from scaler.zoo import load_spec

    spec = load_spec(args.target, args.model).scale(args.depth, args.width, args.resolution)
    cx = complexity(spec, num_classes=args.classes)
    layers = [{
        "layer": f"{lc.part}{sum(1 for x in cx.layers[: lc.index + 1] if x.part == lc.part)}",
        "block": lc.block, "repeats": lc.repeats,
        "output": f"{lc.shape_out.c}x{lc.shape_out.h}x{lc.shape_out.w}",
        "params": lc.params, "macs": lc.macs, "acts": lc.acts,
    } for lc in cx.layers]
    if args.json:
        print(json.dumps({"name": spec.name, "family": spec.family, "resolution": cx.resolution,
                          "width": spec.width, "depth": spec.depth, "params": cx.params, "macs": cx.macs,
                          "acts": cx.acts, "layers": layers, "dsl": spec.text()}, indent=1))
        return 0
    print(f"{spec.name} ({spec.family}) at {cx.resolution} px, width x{spec.width:g}, depth x{spec.depth:g}: "
          f"{cx.params:,} params, {cx.macs / 1e9:.3f} G MACs, {cx.acts / 1e6:.2f} M activations")
    print(format_table(layers, [
        ("layer", "layer", _plain), ("block", "block", _plain), ("repeats", "r", _plain),
        ("output", "output", _plain), ("params", "params", _si), ("macs", "MACs", _si),
        ("acts", "acts", _si),
    ]))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="scaler", description="Neural-architecture search and scaling-law explorer for CNNs.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    zoo = sub.add_parser("zoo", help="every known architecture: params, MACs, published accuracy")
    zoo.add_argument("--family", help="only this family (resnet, efficientnet, ...)")
    zoo.add_argument("--json", action="store_true", help="machine-readable JSON on stdout")
    zoo.set_defaults(func=cmd_zoo)

    inspect = sub.add_parser("inspect", help="one model's params, MACs and activations per stage")
    inspect.add_argument("target", help="a zoo name (efficientnet-b0) or a DSL file")
    inspect.add_argument("--model", help="which model of a DSL file that defines several (default: the last)")
    inspect.add_argument("--width", type=positive_float, default=1.0, help="width multiplier")
    inspect.add_argument("--depth", type=positive_float, default=1.0, help="depth multiplier")
    inspect.add_argument("--resolution", type=positive_int, help="input resolution in pixels")
    inspect.add_argument("--classes", type=positive_int, default=1000, help="classifier outputs")
    inspect.add_argument("--json", action="store_true", help="machine-readable JSON on stdout")
    inspect.set_defaults(func=cmd_inspect)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ScalerError as exc:
        print(f"scaler: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:  # output piped into head and the like
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("scaler: interrupted", file=sys.stderr)
        return 130
