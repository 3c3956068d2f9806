"""What the commands share: the parser class, value types, and the flags several commands take
(a model to work on, the data and its cut, the trainer, the stride rule, ``--jobs``, the proxy fidelity
and its named budgets)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

from scaler.strides import DEFAULT_MIN_FEATURE, STRIDE_POLICIES
from scaler.training.config import OPTIMIZERS, TrainConfig
from scaler.training.fidelity import BUDGETS, DEFAULT_BUDGET, PROXY, check_base_resolution

if TYPE_CHECKING:
    from scaler.data import DataConfig


class Parser(argparse.ArgumentParser):
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


ALL = "all"
"""``--train-size all``: every training image the validation split leaves."""


def train_size(text: str) -> int | str:
    """``--train-size``: a whole number of at least 1, or ``all``."""
    return ALL if text.strip().lower() == ALL else positive_int(text)


class Explicit(argparse._StoreAction):
    """A flag whose being given is recorded (in ``args.given``): it then beats ``--budget``'s value."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: object,
                 option_string: str | None = None) -> None:
        super().__call__(parser, namespace, values, option_string)
        namespace.given = {*getattr(namespace, "given", ()), self.dest}


def add_json_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="machine-readable JSON on stdout")


def add_results_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--results", help="results folder (default: $SCALER_RESULTS or ./results)")


def storage_from_env(args: argparse.Namespace) -> None:
    """``--storage``, else ``$SCALER_STORAGE`` (which keeps a password out of argv), else None."""
    args.storage = args.storage or os.environ.get("SCALER_STORAGE") or None


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    """A model to work on: zoo name or DSL file, optionally widened or deepened."""
    parser.add_argument("target", help="a zoo name (efficientnet-b0) or a DSL file")
    parser.add_argument("--model", help="which model of a DSL file that defines several (default: the last)")
    parser.add_argument("--width", type=positive_float, default=1.0, help="width multiplier")
    parser.add_argument("--depth", type=positive_float, default=1.0, help="depth multiplier")


def add_data_arguments(parser: argparse.ArgumentParser, resolution_help: str, train_cap: int | None = None,
                       resolution_flags: tuple[str, ...] = ("--resolution",)) -> None:
    """Flags that choose and cut the data set (shared by train, search, scale and bench); ``train_cap``:
    at most this many training images unless --train-size says (None: all). Sizes not given are caps
    (``scaler.data.fit_sizes``): a small data set is used whole. ``resolution_flags``: the names of the
    training resolution's flag (dest ``resolution``)."""
    parser.add_argument("--data", default="fashion-mnist",
                        help="fashion-mnist (default), cifar10, cifar100, imagefolder:PATH, synthetic[:k=v,...]")
    parser.add_argument("--data-dir", help="folder holding the data set files (else $SCALER_DATA, Debian's copy)")
    parser.add_argument("--train-size", type=train_size, action=Explicit,
                        help="train on this many images, or all (default: " + (
                            "all" if train_cap is None else f"{train_cap}, or all a smaller data set has)"))
    parser.add_argument("--val-size", type=positive_int,
                        help="validation images carved from train (default: 5000, or a third of a smaller data set)")
    parser.set_defaults(train_cap=train_cap)
    parser.add_argument(*resolution_flags, dest="resolution", metavar="R", type=positive_int, help=resolution_help)
    parser.add_argument("--device", default=TrainConfig.device,
                        help="auto (cuda if available), cpu, cuda, cuda:N (e.g. one search worker per GPU)")
    parser.add_argument("--seed", type=int, default=TrainConfig.seed, help="seed for data split, init and order")
    add_results_argument(parser)


def data_config(args: argparse.Namespace) -> DataConfig:
    """The data flags as a DataConfig whose sizes fit the data set (``fit_sizes``); what a small data set
    made of the default sizes is said on stderr."""
    from scaler.data import DataConfig, fit_sizes, resolve_device

    local_rank = int(os.environ.get("LOCAL_RANK", "0"))  # under torchrun: this process's GPU
    every = args.train_size == ALL
    asked = DataConfig(name=args.data, data_dir=args.data_dir,
                       train_size=None if every else args.train_size or args.train_cap,
                       val_size=args.val_size or DataConfig.val_size, resolution=args.resolution, seed=args.seed,
                       device=str(resolve_device(args.device, local_rank)))
    cfg, images = fit_sizes(asked, train_given=args.train_size is not None, val_given=args.val_size is not None)
    if cfg != asked and local_rank == 0:
        train = "the rest" if cfg.train_size is None else cfg.train_size
        print(f"data: {cfg.name} has {images} training images: {train} to train on, {cfg.val_size} to validate "
              f"(--train-size, --val-size)", file=sys.stderr)
    return cfg


def check_base(args: argparse.Namespace) -> int | None:
    """Refuse a bad --base-resolution (``check_base_resolution``) before any work; the data's native
    resolution (None: an image folder's, any)."""
    from scaler.data import DataConfig, native_resolution

    native = native_resolution(DataConfig(name=args.data, data_dir=args.data_dir))
    check_base_resolution(args.resolution, native, args.data)
    return native


def base_data_config(args: argparse.Namespace) -> DataConfig:
    """``data_config`` for search, scale and bench, where the resolution is the base's: --base-resolution
    (checked: ``check_base``), else the budget's fraction of the data's native resolution (``study``:
    half), else None (the data's own; scale: the search's)."""
    import dataclasses

    native = check_base(args)
    cfg = data_config(args)
    if cfg.resolution is None:
        cfg = dataclasses.replace(cfg, resolution=BUDGETS[args.budget].base_resolution(native))
    return cfg


def apply_budget(args: argparse.Namespace) -> None:
    """``--budget``'s width, epochs and training images where their flags were not given (a flag given
    beats the budget). scale's --width default None (the search's width) yields only to a budget given."""
    budget, given = BUDGETS[args.budget], getattr(args, "given", set())
    if "epochs" not in given:
        args.epochs = budget.epochs
    if "train_size" not in given:
        args.train_cap = budget.train_size
    if "width" not in given and (args.width is not None or "budget" in given):
        args.width = budget.width


def train_config(args: argparse.Namespace, **extra: object) -> TrainConfig:
    """The trainer's config from the training flags (add_train_arguments) and the data flags' seed and device."""
    return TrainConfig(epochs=args.epochs, batch_size=args.batch_size, optimizer=args.optimizer, lr=args.lr,
                       device=args.device, seed=args.seed, **extra)


def add_stride_arguments(parser: argparse.ArgumentParser) -> None:
    """The resolution-aware stride rule (scaler.strides) for models trained below their resolution."""
    parser.add_argument("--strides", choices=STRIDE_POLICIES, default=STRIDE_POLICIES[0],
                        help="adapt (default): earliest strided layers become stride 1 until the last feature "
                             "map is --min-feature px, decided once for the base at its training resolution and "
                             "kept by every model grown from it; adapt-each: decided again at each grown model's "
                             "own resolution; as-written: train the strides as the DSL has them")
    parser.add_argument("--min-feature", type=positive_int, default=DEFAULT_MIN_FEATURE,
                        help=f"smallest last feature map of --strides adapt (default {DEFAULT_MIN_FEATURE} px)")


def add_train_arguments(parser: argparse.ArgumentParser, epochs: int) -> None:
    """Training fidelity flags (shared by train, search, scale and bench)."""
    parser.add_argument("--epochs", type=positive_int, default=epochs, action=Explicit)
    parser.add_argument("--batch-size", type=positive_int, default=TrainConfig.batch_size)
    parser.add_argument("--lr", type=positive_float, help="peak learning rate (default: 0.1 x batch/128 for SGD)")
    parser.add_argument("--optimizer", choices=OPTIMIZERS, default=TrainConfig.optimizer)


def add_fidelity_arguments(parser: argparse.ArgumentParser, resolution_help: str, shared: str) -> None:
    """The proxy fidelity's flags that search, scale and bench share, with ``ProxyFidelity``'s defaults
    (``--budget``, ``--jobs``, the stride rule, the data cut and the base's resolution, the trainer), and
    ``--json``; ``shared``: what ``--jobs`` processes share between them."""
    parser.add_argument("--budget", choices=tuple(BUDGETS), default=DEFAULT_BUDGET, action=Explicit,
                        help="named fidelity: " + "; ".join(
                            f"{name}: width {b.width:g}, {b.epochs} epochs, "
                            + ("all" if b.train_size is None else f"{b.train_size:,}") + " training images"
                            + ("" if b.base_fraction == 1 else f", the base at {b.base_fraction:g}x the native "
                                                               f"resolution") for name, b in BUDGETS.items())
                        + f" (default {DEFAULT_BUDGET}); --width, --epochs, --train-size, --base-resolution beat it")
    add_jobs_argument(parser, shared)
    add_stride_arguments(parser)
    add_data_arguments(parser, resolution_help, train_cap=PROXY.train_size,
                       resolution_flags=("--base-resolution", "--resolution"))
    add_train_arguments(parser, epochs=PROXY.epochs)
    add_json_argument(parser)


def add_jobs_argument(parser: argparse.ArgumentParser, shared: str) -> None:
    """``--jobs``: training processes on this machine (scaler.training.parallel)."""
    parser.add_argument("--jobs", type=positive_int,
                        help=f"training processes on this machine, the {shared} shared between them (default: "
                             f"$SCALER_JOBS, else one per CPU core up to 4, 1 on a GPU; 1 makes a search's seed "
                             f"reproduce exactly)")
