"""``scaler export``: a trained run's weights as an ONNX or TorchScript file to deploy."""

from __future__ import annotations

import argparse

from scaler.cli.common import add_results_argument
from scaler.export import FORMATS


def add_parser(sub: argparse._SubParsersAction) -> None:
    export = sub.add_parser("export", help="a trained run's weights as an ONNX or TorchScript file to deploy")
    export.add_argument("target", help="the file to write (.onnx, .pt)")
    export.add_argument("--run", required=True, help="a run folder, or its id under results/runs")
    export.add_argument("--format", choices=FORMATS, help="onnx or torchscript (default: from the target's suffix)")
    add_results_argument(export)
    export.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Write a trained run's module as ONNX or TorchScript."""
    from pathlib import Path

    from scaler.export import export, export_format, find_run, load_run

    target = Path(args.target)
    fmt = export_format(target, args.format)  # bad input is refused before anything is loaded or written
    run = load_run(find_run(args.run, args.results))
    path = export(run, target, fmt)
    print(f"exported {run.path.name} as {fmt} to {path} (input {run.metadata['input']}; output logits)")
    return 0
