"""The ``scaler`` command: zoo, inspect, train, search, scale, bench, student, export, robustness, dashboard.

One module per command (``add_parser`` adds its flags, ``run`` does it), ``common`` for the flags
several share. The flags' choices and defaults come from the core's constants and config
dataclasses; each command calls the core and prints. A ScalerError is one line on stderr with its
exit code (2: bad input); nothing in scaler imports this package. Heavy modules are imported inside
the commands' ``run``, so ``scaler zoo`` starts without torch or Optuna.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from scaler.cli import bench, dashboard, export, inspect, robustness, scale, search, student, train, zoo
from scaler.cli.common import Parser
from scaler.errors import ScalerError

COMMANDS = (zoo, inspect, train, search, scale, bench, student, export, robustness, dashboard)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="scaler", description="Neural-architecture search and scaling-law explorer for CNNs.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code = _run(args)
    if "torch.distributed" in sys.modules:  # a command that imported torch may run under torchrun
        from scaler.training.trainer import leave_distributed

        leave_distributed(code)  # under torchrun: exits here
    return code


def _run(args: argparse.Namespace) -> int:
    """Run the command; a ScalerError becomes one line on stderr and its exit code."""
    try:
        return args.func(args)
    except ScalerError as exc:
        message = str(exc)
        if getattr(args, "storage", None):  # never print a storage password, whoever wrote the message
            from scaler.study.storage import redact

            message = redact(message, args.storage)
        print(f"scaler: error: {message}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:  # output piped into head and the like
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("scaler: interrupted", file=sys.stderr)
        return 130
