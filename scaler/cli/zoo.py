"""``scaler zoo``: every known architecture with its params, MACs and published accuracy."""

from __future__ import annotations

import argparse
import json

from scaler.cli.common import add_json_argument
from scaler.report import format_table, plain, si


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("zoo", help="every known architecture: params, MACs, published accuracy")
    parser.add_argument("--family", help="only this family (resnet, efficientnet, ...)")
    add_json_argument(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from scaler.zoo import zoo_table

    rows = zoo_table(args.family)
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    print(format_table(rows, [
        ("name", "name", plain), ("family", "family", plain), ("resolution", "res", plain),
        ("params", "params", si), ("macs", "MACs", si), ("acts", "acts", si),
        ("top1", "top-1", plain),
    ]))
    print("MACs are multiply-adds (the EfficientNet paper's and torchvision's 'FLOPs'); top-1 is the "
          "published ImageNet figure (see 'scaler zoo --json' for its source).")
    return 0
