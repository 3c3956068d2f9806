"""The ``scaler`` command: zoo, inspect, train, search, scale, bench, export, dashboard.

Parses flags (their choices and defaults come from the core's constants and config dataclasses),
calls the core, prints. A ScalerError is one line on stderr with its exit code (2: bad input);
nothing in scaler imports this package. Heavy modules are imported inside the commands, so
``scaler zoo`` starts without torch or Optuna.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from scaler.bench import PRESETS, BenchConfig
from scaler.dsl.values import DEPTH_ROUNDINGS
from scaler.errors import ScalerError
from scaler.export import FORMATS
from scaler.report import fixed, format_comparison, format_spread, format_table, plain, si
from scaler.results.schema import SEARCH_BEST
from scaler.scaling import config as scaling_config
from scaler.scaling.config import ScaleConfig
from scaler.search.config import DEFAULT_CONFIRM, SearchConfig
from scaler.strides import DEFAULT_MIN_FEATURE, STRIDE_POLICIES, adapt_strides, strides_changed
from scaler.training.config import OPTIMIZERS, TrainConfig

if TYPE_CHECKING:
    from scaler.data import DataConfig


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


def cmd_zoo(args: argparse.Namespace) -> int:
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


def cmd_inspect(args: argparse.Namespace) -> int:
    from scaler.dsl import file_trained_for
    from scaler.nn.complexity import complexity
    from scaler.zoo import load_spec

    written = load_spec(args.target, args.model).scale(args.depth, args.width, args.resolution)
    spec = adapt_strides(written, written.resolution, args.min_feature, args.strides)
    changed = strides_changed(written, spec)
    # a saved Spec counts as it was trained (its data's classes and channels), anything else as ImageNet's
    trained = file_trained_for(args.target)
    classes = args.classes or (trained.classes if trained else 1000)
    in_channels = trained.in_channels if trained else 3
    cx = complexity(spec, in_channels=in_channels, num_classes=classes)
    layers = [{
        "layer": f"{lc.part}{sum(1 for x in cx.layers[: lc.index + 1] if x.part == lc.part)}",
        "block": lc.block, "repeats": lc.repeats,
        "output": f"{lc.shape_out.c}x{lc.shape_out.h}x{lc.shape_out.w}",
        "params": lc.params, "macs": lc.macs, "acts": lc.acts,
    } for lc in cx.layers]
    if args.json:
        print(json.dumps({"name": spec.name, "family": spec.family, "resolution": cx.resolution,
                          "width": spec.width, "depth": spec.depth, "params": cx.params, "macs": cx.macs,
                          "acts": cx.acts, "classes": classes, "in_channels": in_channels,
                          "trained_for": trained.data if trained else None, "layers": layers,
                          "strides": args.strides, "strides_changed": changed, "dsl": spec.text()}, indent=1))
        return 0
    print(f"{spec.name} ({spec.family}) at {cx.resolution} px, width x{spec.width:g}, depth x{spec.depth:g}: "
          f"{cx.params:,} params, {si(cx.macs)} MACs, {si(cx.acts)} activations")
    if trained:
        print(f"counted as trained on {trained.data}: {in_channels} input channel{'s' if in_channels > 1 else ''}, "
              f"{classes} classes (--classes N counts another classifier)")
    if changed:
        print(f"strides adapted to {cx.resolution} px (last feature map >= {args.min_feature} px): {', '.join(changed)}"
              f"; --strides as-written shows the model as written")
    print(format_table(layers, [
        ("layer", "layer", plain), ("block", "block", plain), ("repeats", "r", plain),
        ("output", "output", plain), ("params", "params", si), ("macs", "MACs", si),
        ("acts", "acts", si),
    ]))
    return 0


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    """A model to work on: zoo name or DSL file, optionally widened or deepened."""
    parser.add_argument("target", help="a zoo name (efficientnet-b0) or a DSL file")
    parser.add_argument("--model", help="which model of a DSL file that defines several (default: the last)")
    parser.add_argument("--width", type=positive_float, default=1.0, help="width multiplier")
    parser.add_argument("--depth", type=positive_float, default=1.0, help="depth multiplier")


def add_data_arguments(parser: argparse.ArgumentParser, resolution_help: str) -> None:
    """Flags that choose and cut the data set (shared by train, search and scale)."""
    parser.add_argument("--data", default="fashion-mnist",
                        help="fashion-mnist (default), cifar10, cifar100, imagefolder:PATH, synthetic[:k=v,...]")
    parser.add_argument("--data-dir", help="folder holding the data set files (else $SCALER_DATA, Debian's copy)")
    parser.add_argument("--train-size", type=positive_int, help="train on this many images (default: all)")
    parser.add_argument("--val-size", type=positive_int, default=5000, help="validation images carved from train")
    parser.add_argument("--resolution", type=positive_int, help=resolution_help)
    parser.add_argument("--device", default="auto",
                        help="auto (cuda if available), cpu, cuda, cuda:N (e.g. one search worker per GPU)")
    parser.add_argument("--seed", type=int, default=0, help="seed for data split, init and order")
    parser.add_argument("--results", help="results folder (default: $SCALER_RESULTS or ./results)")


def data_config(args: argparse.Namespace) -> DataConfig:
    from scaler.data import DataConfig, resolve_device

    local_rank = int(os.environ.get("LOCAL_RANK", "0"))  # under torchrun: this process's GPU
    return DataConfig(name=args.data, data_dir=args.data_dir, train_size=args.train_size, val_size=args.val_size,
                      resolution=args.resolution, seed=args.seed, device=str(resolve_device(args.device, local_rank)))


def cmd_train(args: argparse.Namespace) -> int:
    import dataclasses

    from scaler.data import load_data
    from scaler.results import save_run
    from scaler.training.fit import fit
    from scaler.training.trainer import distributed_context
    from scaler.zoo import load_spec

    written = load_spec(args.target, args.model).scale(args.depth, args.width)
    cfg = train_config(args, ema=args.ema)
    data_cfg = data_config(args)
    if not args.no_save:
        from scaler.results import check_writable

        check_writable(args.results)  # a read-only or full results folder: exit 1 now, not after training
    data = load_data(data_cfg)
    ctx = distributed_context()
    spec = adapt_strides(written.scale(resolution=data.resolution), data.resolution, args.min_feature, args.strides)
    if strides_changed(written, spec) and ctx.is_main and not args.json:
        print(f"strides adapted to {data.resolution} px: {', '.join(strides_changed(written, spec))}", file=sys.stderr)
    record, model = fit(spec, data, cfg, progress=not args.json and ctx.is_main, evaluate_test=True)
    record["data"] = dataclasses.asdict(data_cfg)
    if not ctx.is_main:
        return 0
    path = None
    if not args.no_save:
        state = {k: v.detach().cpu() for k, v in getattr(model, "module", model).state_dict().items()}
        path = save_run(record, "train", args.results, state_dict=state)
    if args.json:
        print(json.dumps({**record, "path": str(path) if path else None}, indent=1))
    else:
        if record["status"] != "ok":
            print(f"{spec.name}: training diverged (NaN/inf loss) after {record['epochs_run']:.2f} epochs")
        else:
            print(f"{spec.name} on {data.name} at {data.resolution} px: val acc {record['val_acc']:.4f}, "
                  f"test acc {record['test_acc']:.4f}, {record['params']:,} params, {si(record['macs'])} MACs, "
                  f"{record['latency_ms']:.2f} ms/image, {record['train_time_s']:.0f} s on {record['device']}")
        if path:
            print(f"saved {path}")
    return 0 if record["status"] == "ok" else 1


def train_config(args: argparse.Namespace, **extra: object) -> TrainConfig:
    """The trainer's config from the training flags (add_train_arguments) and the data flags' seed and device."""
    return TrainConfig(epochs=args.epochs, batch_size=args.batch_size, optimizer=args.optimizer, lr=args.lr,
                       device=args.device, seed=args.seed, **extra)


def add_stride_arguments(parser: argparse.ArgumentParser) -> None:
    """The resolution-aware stride rule (scaler.strides) for models trained below their resolution."""
    parser.add_argument("--strides", choices=STRIDE_POLICIES, default=STRIDE_POLICIES[0],
                        help="adapt (default): earliest strided layers become stride 1 until the last feature "
                             "map is --min-feature px; as-written: train the strides as the DSL has them")
    parser.add_argument("--min-feature", type=positive_int, default=DEFAULT_MIN_FEATURE,
                        help=f"smallest last feature map of --strides adapt (default {DEFAULT_MIN_FEATURE} px)")


def add_train_arguments(parser: argparse.ArgumentParser, epochs: int) -> None:
    """Training fidelity flags (shared by train, search and scale)."""
    parser.add_argument("--epochs", type=positive_int, default=epochs)
    parser.add_argument("--batch-size", type=positive_int, default=TrainConfig.batch_size)
    parser.add_argument("--lr", type=positive_float, help="peak learning rate (default: 0.1 x batch/128 for SGD)")
    parser.add_argument("--optimizer", choices=OPTIMIZERS, default=TrainConfig.optimizer)


def add_jobs_argument(parser: argparse.ArgumentParser, shared: str) -> None:
    """``--jobs``: training processes on this machine (scaler.training.parallel)."""
    parser.add_argument("--jobs", type=positive_int,
                        help=f"training processes on this machine, the {shared} shared between them (default: "
                             f"$SCALER_JOBS, else one per CPU core up to 4, 1 on a GPU; 1 makes a search's seed "
                             f"reproduce exactly)")


def cmd_search(args: argparse.Namespace) -> int:
    import signal

    from scaler.data import load_data
    from scaler.results import check_writable, default_storage
    from scaler.search import SearchConfig, SearchInterrupted, run_search
    from scaler.study.storage import open_storage
    from scaler.training.parallel import default_jobs

    args.storage = args.storage or os.environ.get("SCALER_STORAGE") or None  # keeps a password out of argv
    cfg = SearchConfig(
        space=args.space, objective=args.objective, target_macs=args.target_macs, w=args.w, max_macs=args.max_macs,
        max_params=args.max_params, pareto_metric=args.pareto_metric, sampler=args.sampler, pruner=args.pruner,
        trials=args.trials, timeout=args.timeout, width=args.width, prefilter=args.prefilter, proxy=args.proxy,
        study=args.study, storage=args.storage, seed=args.seed, strides=args.strides, min_feature=args.min_feature,
        confirm=min(DEFAULT_CONFIRM, args.trials) if args.confirm is None else args.confirm, seeds=args.seeds,
        jobs=args.jobs or default_jobs(args.device))
    train_cfg = train_config(args, reports_per_epoch=2)
    check_writable(args.results)  # a read-only or full results folder: exit 1 now, not after training
    storage = open_storage(cfg.storage or default_storage(args.results))  # fail fast, before loading data
    data = load_data(data_config(args))
    with _sigterm_as_interrupt() as caught:
        try:
            result = run_search(cfg, data, train_cfg, args.results, progress=not args.json,
                                log=lambda m: print(m, file=sys.stderr), storage=storage)
        except SearchInterrupted as stop:
            s = stop.result.stats
            print(f"scaler: interrupted: {s['finished']}/{s['budget']} trials finished"
                  + (f", trial {stop.requeued} failed and queued again" if stop.requeued is not None else "")
                  + "; the same command resumes the study", file=sys.stderr)
            show_search(stop.result, cfg, args, len(data.x_val))
            return 128 + caught.get("signum", int(signal.SIGINT))
    return show_search(result, cfg, args, len(data.x_val))


class _sigterm_as_interrupt:
    """While a search runs, SIGTERM (``kill``, a batch scheduler's stop) ends it like Ctrl-C: the trial in
    flight is failed and queued again, a summary is printed. The context value records the signal."""

    def __enter__(self) -> dict:
        import signal
        import threading

        self.caught: dict = {}
        self.previous = None
        if threading.current_thread() is threading.main_thread():
            def stop(signum: int, frame: object) -> None:
                self.caught["signum"] = signum
                raise KeyboardInterrupt

            self.previous = signal.signal(signal.SIGTERM, stop)
        return self.caught

    def __exit__(self, *exc: object) -> None:
        import signal

        if self.previous is not None:
            signal.signal(signal.SIGTERM, self.previous)


def show_search(result: object, cfg: object, args: argparse.Namespace, n_val: int) -> int:
    """Print a search's summary: top trials, Pareto front, baseline, and its confirmation with seeds or,
    without one, the noise of a one-seed comparison on ``n_val`` validation images (or JSON with --json)."""
    from scaler.stats import binomial_halfwidth

    if args.json:
        print(json.dumps({"study": result.study_name, "storage": result.storage, "target_macs": result.target_macs,
                          "baseline": result.baseline, "reference": result.reference, "pareto": result.pareto,
                          "trials": result.rows, "stats": result.stats, "confirmed": result.confirmed,
                          "out_dir": str(result.out_dir)}, indent=1))
        return 0
    columns = [("trial", "trial", plain), ("value", "objective", fixed(4)), ("val_acc", "val acc", fixed(4)),
               ("params", "params", si), ("macs", "MACs", si), ("latency_ms", "ms/img", fixed(2)),
               ("reference", "note", plain)]
    print(f"\nstudy {result.study_name} ({result.storage}), MACs target {si(result.target_macs)} "
          f"({result.stats['target_source']}); top trials:")
    print(format_table(result.rows[:10], columns))
    if result.pareto:
        print("\nPareto front (val acc vs " + cfg.pareto_metric + "):")
        print(format_table(sorted(result.pareto, key=lambda r: r["macs"]), columns))
    if result.baseline is None:
        print("\nno completed trial yet: nothing saved as a baseline")
        return 1
    b, ref = result.baseline, result.reference
    print(f"\nbaseline: trial {b['trial']}, val acc {b['val_acc']:.4f}, {si(b['macs'])} MACs, {si(b['params'])} params")
    if ref:
        print(f"reference {ref['reference']} at the same fidelity: val acc {ref['val_acc']:.4f}, {si(ref['macs'])} MACs "
              f"-> baseline {100 * (b['val_acc'] - ref['val_acc']):+.2f} points at {b['macs'] / ref['macs']:.2f}x the MACs")
    if result.confirmed:
        print(format_confirmation(result.confirmed))
    elif ref and b["trial"] != ref["trial"]:
        print(f"one seed each: each val acc is ±{binomial_halfwidth(b['val_acc'], n_val):.4f} on {n_val} validation "
              f"images alone (95%), and another seed moves a proxy run about as much again: not confirmed "
              f"(--confirm K --seeds S trains the best K and the reference with S seeds and gives a verdict)")
    print(f"saved {result.out_dir / SEARCH_BEST}")
    return 0


def format_confirmation(confirmed: dict) -> str:
    """The confirmed candidates: mean ± std over seeds, and each against the reference with its interval."""
    def versus(e: dict) -> str:
        c = e["vs_reference"]
        if e["trial"] == confirmed["reference_trial"]:
            return "reference"
        if c is None:
            return "-"
        return format_comparison(c["diff"], c["low"], c["high"], c["verdict"])

    rows = [{**e, "mark": "baseline" if e["trial"] == confirmed["baseline_trial"] else "",
             "val_s": format_spread(e["val"]["mean"], e["val"]["std"]),
             "test_s": format_spread(e["test"]["mean"], e["test"]["std"]), "vs": versus(e)}
            for e in confirmed["entries"]]
    table = format_table(rows, [("trial", "trial", plain), ("mark", "", plain), ("macs", "MACs", si),
                                ("val_s", "val acc", plain), ("test_s", "test acc", plain),
                                ("vs", "val acc vs reference, paired (95% CI)", plain)])
    base = next(e for e in confirmed["entries"] if e["trial"] == confirmed["baseline_trial"])
    verdict = base["vs_reference"]["verdict"] if base["vs_reference"] and base["vs_reference"]["n"] > 1 else None
    line = (f"confirmed baseline: trial {base['trial']}, val acc {format_spread(base['val']['mean'], base['val']['std'])}, "
            f"test acc {format_spread(base['test']['mean'], base['test']['std'])} over {len(confirmed['seeds'])} seeds"
            + (f"; against the reference: {verdict}" if verdict else ""))
    return f"\nconfirmed with seeds {', '.join(map(str, confirmed['seeds']))}:\n{table}\n{line}"


def cmd_scale(args: argparse.Namespace) -> int:
    from scaler.results import check_writable
    from scaler.scaling import ScaleConfig, format_report, run_scale

    args.storage = args.storage or os.environ.get("SCALER_STORAGE") or None  # keeps a password out of argv
    cfg = ScaleConfig(
        phi=args.phi, base=args.base, alpha=args.alpha, beta=args.beta, gamma=args.gamma, grid=args.grid,
        step=args.step, alpha_range=args.alpha_range, beta_range=args.beta_range, gamma_range=args.gamma_range,
        tol=args.tol, macs_tol=args.macs_tol, width=args.width, ladder=args.ladder, train=args.train,
        compare=args.compare, ratios=args.ratios, bootstrap=args.bootstrap, study=args.study, storage=args.storage,
        seed=args.seed, depth_round=args.depth_round, seeds=args.seeds, strides=args.strides,
        min_feature=args.min_feature, jobs=args.jobs)
    train_cfg = train_config(args)
    check_writable(args.results)  # a read-only or full results folder: exit 1 now, not after training
    result = run_scale(cfg, data_config(args), train_cfg, args.results, log=lambda m: print(m, file=sys.stderr))
    print(json.dumps(result, indent=1) if args.json else format_report(result, full_ladder=args.ladder))
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    """Train zoo models and the found family on the user's data, S seeds each; print the table."""
    from scaler.bench import Bench, BenchConfig, format_bench
    from scaler.results import check_writable
    from scaler.training.parallel import default_jobs

    models = tuple(m.strip() for m in args.models.split(",") if m.strip()) if args.models else None
    cfg = BenchConfig(name=args.name, models=models, preset=args.preset, family=not args.no_family,
                      phis=tuple(args.phis), seeds=args.seeds, width=args.width, strides=args.strides,
                      min_feature=args.min_feature, reference=args.reference,
                      jobs=args.jobs or default_jobs(args.device))
    train_cfg = train_config(args)  # each cell sets its own seed
    check_writable(args.results)
    bench = Bench(cfg, data_config(args), train_cfg, args.results, log=lambda m: print(m, file=sys.stderr))
    summary = bench.run()
    print(json.dumps(summary, indent=1) if args.json else format_bench(summary))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Write a trained run's module as ONNX or TorchScript."""
    from pathlib import Path

    from scaler.export import export, export_format, find_run, load_run

    target = Path(args.target)
    fmt = export_format(target, args.format)  # bad input is refused before anything is loaded or written
    run = load_run(find_run(args.run, args.results))
    path = export(run, target, fmt)
    print(f"exported {run.path.name} as {fmt} to {path} (input {run.metadata['input']}; output logits)")
    return 0


def cmd_dashboard(args: argparse.Namespace) -> int:
    """Serve the dashboard on the results folder and storage given (read-only) until told to stop."""
    from scaler.dashboard.serve import serve

    return serve(args.results, args.storage, args.port, args.address)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="scaler", description="Neural-architecture search and scaling-law explorer for CNNs.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    zoo = sub.add_parser("zoo", help="every known architecture: params, MACs, published accuracy")
    zoo.add_argument("--family", help="only this family (resnet, efficientnet, ...)")
    zoo.add_argument("--json", action="store_true", help="machine-readable JSON on stdout")
    zoo.set_defaults(func=cmd_zoo)

    inspect = sub.add_parser("inspect", help="one model's params, MACs and activations per stage")
    add_target_arguments(inspect)
    inspect.add_argument("--resolution", type=positive_int, help="input resolution in pixels")
    inspect.add_argument("--classes", type=positive_int,
                         help="classifier outputs (default: those the file was trained for, else 1000)")
    add_stride_arguments(inspect)
    inspect.add_argument("--json", action="store_true", help="machine-readable JSON on stdout")
    inspect.set_defaults(func=cmd_inspect)

    train = sub.add_parser("train", help="train one architecture (zoo name or DSL file)")
    add_target_arguments(train)
    add_data_arguments(train, "input resolution (default: the data set's own)")
    add_train_arguments(train, epochs=10)
    add_stride_arguments(train)
    train.add_argument("--ema", type=float, help="keep an EMA of the weights with this decay (e.g. 0.999)")
    train.add_argument("--no-save", action="store_true", help="do not write a run folder")
    train.add_argument("--json", action="store_true", help="machine-readable JSON on stdout")
    train.set_defaults(func=cmd_train)

    search = sub.add_parser("search", help="architecture search over a DSL space -> a baseline")
    search.add_argument("--space", default="mbconv", help="a search space: zoo name (mbconv) or DSL file")
    search.add_argument("--objective", choices=("reward", "constraint", "pareto"), default="reward",
                        help="reward: ACC*(MACs/T)^w (MnasNet); constraint: ACC under --max-macs/--max-params; "
                             "pareto: ACC vs MACs (NSGA-II)")
    search.add_argument("--target-macs", type=float, help="T of the reward (default: B0's MACs at search fidelity)")
    search.add_argument("--w", type=float, default=-0.07, help="reward exponent (default -0.07)")
    search.add_argument("--max-macs", type=float, help="MACs limit: the constraint of --objective constraint; with "
                                                        "reward/pareto a guard (bigger candidates are pruned unbuilt)")
    search.add_argument("--max-params", type=float, help="parameter limit: the constraint of --objective constraint; "
                                                          "with reward/pareto a guard, like --max-macs")
    search.add_argument("--pareto-metric", choices=("macs", "latency"), default="macs")
    search.add_argument("--sampler", choices=("tpe", "random", "nsga2", "grid"), default="tpe")
    search.add_argument("--pruner", choices=("hyperband", "median", "none"), default="hyperband")
    search.add_argument("--trials", type=positive_int, default=16, help="finished trials the study should have")
    search.add_argument("--timeout", type=positive_float, help="stop starting trials after this many seconds")
    search.add_argument("--width", type=positive_float, default=0.5, help="proxy width multiplier of every candidate")
    search.add_argument("--prefilter", type=int, default=0,
                        help="score K random candidates by a zero-cost proxy, train the best first")
    search.add_argument("--proxy", choices=("synflow", "naswot", "params"), default="synflow")
    search.add_argument("--study", help="study name (resumes when it exists)")
    search.add_argument("--storage", help="Optuna storage URL, e.g. postgresql://user@host/db for many workers "
                                          "(default: $SCALER_STORAGE, else sqlite:///results/studies.db)")
    search.add_argument("--confirm", type=int, help=f"train the best K candidates and the reference again with "
                                                    f"--seeds seeds (default {DEFAULT_CONFIRM}, at most --trials; 0: off)")
    add_jobs_argument(search, "trials and confirmations")
    search.add_argument("--seeds", type=positive_int, default=SearchConfig.seeds,
                        help=f"seeds per confirmed candidate, the trial's own among them (default {SearchConfig.seeds})")
    add_stride_arguments(search)
    add_data_arguments(search, "search resolution (default: the data set's own)")
    search.set_defaults(train_size=10000)
    add_train_arguments(search, epochs=2)
    search.add_argument("--json", action="store_true", help="machine-readable JSON on stdout")
    search.set_defaults(func=cmd_search)

    scale = sub.add_parser("scale", help="compound scaling: alpha/beta/gamma grid at phi=1, the model at --phi, laws")
    scale.add_argument("--phi", type=float, help="compound coefficient of the model to generate (any real >= 0)")
    scale.add_argument("--base", help="latest (the latest search's best), a zoo name or a DSL file "
                                      "(default: latest if a search exists, else efficientnet-b0)")
    for name, what in (("alpha", "depth"), ("beta", "width"), ("gamma", "resolution")):
        scale.add_argument(f"--{name}", type=positive_float, help=f"{what} coefficient (all three skip the grid)")
    scale.add_argument("--grid", action="store_true", help="run (or resume) the grid search even if coefficients exist")
    scale.add_argument("--step", type=positive_float, help=f"grid step (default {scaling_config.DEFAULT_STEP:g})")
    lo, hi = scaling_config.DEFAULT_RANGE
    for name in ("alpha", "beta", "gamma"):
        scale.add_argument(f"--{name}-range", metavar="LO:HI", help=f"grid range of {name} (default {lo:g}:{hi:g})")
    scale.add_argument("--tol", type=float,
                       help=f"keep |alpha*beta^2*gamma^2 - 2| <= TOL (default {scaling_config.DEFAULT_TOL:g})")
    scale.add_argument("--macs-tol", type=float, help=f"and counted MACs within this fraction of 2x "
                                                      f"(default {scaling_config.DEFAULT_MACS_TOL:g})")
    scale.add_argument("--depth-round", choices=DEPTH_ROUNDINGS, default=ScaleConfig.depth_round,
                       help="repeats of derived models: round (nearest, default: MACs follow the law) or ceil "
                            "(EfficientNet's rule; published B1..L2 always use it)")
    scale.add_argument("--width", type=positive_float, help=f"proxy width of trained models (default: the search's, "
                                                            f"else {scaling_config.DEFAULT_PROXY_WIDTH:g})")
    scale.add_argument("--ladder", action="store_true", help="print phi=1..7 and the published B1..L2 side by side")
    scale.add_argument("--train", action="store_true", help="train the generated model (all rungs with --ladder)")
    scale.add_argument("--compare", action="store_true", help="depth/width/resolution/compound at matched MACs + laws")
    ratios = ",".join(f"{r:g}" for r in scaling_config.DEFAULT_RATIOS)
    scale.add_argument("--ratios", default=ratios, help=f"MAC ratios of --compare (default {ratios})")
    scale.add_argument("--bootstrap", type=int, default=ScaleConfig.bootstrap,
                       help=f"bootstrap samples of the law fits (default {ScaleConfig.bootstrap})")
    add_jobs_argument(scale, "grid points and comparison cells")
    scale.add_argument("--seeds", type=positive_int, default=ScaleConfig.seeds,
                       help="trainer seeds (--seed and the next) of every --compare cell and of the grid's best "
                            f"{scaling_config.GRID_CONFIRM} points: mean ± std and paired verdicts "
                            f"(default {ScaleConfig.seeds})")
    add_stride_arguments(scale)
    scale.add_argument("--study", help="grid study name (default scale-<base>; resumes when it exists)")
    scale.add_argument("--storage", help="Optuna storage URL (default: sqlite:///results/studies.db)")
    add_data_arguments(scale, "training resolution of the base (default: the search's, else the data set's own)")
    scale.set_defaults(train_size=10000)
    add_train_arguments(scale, epochs=2)
    scale.add_argument("--json", action="store_true", help="machine-readable JSON on stdout")
    scale.set_defaults(func=cmd_scale)

    bench = sub.add_parser("bench", help="zoo models and the found family on your data, S seeds each: the frontier")
    bench.add_argument("--models", help="comma-separated zoo names (default: the preset's)")
    bench.add_argument("--preset", choices=tuple(PRESETS), default=BenchConfig.preset,
                       help=f"model set: {'; '.join(f'{k}: {len(v)} models' for k, v in PRESETS.items())}")
    bench.add_argument("--no-family", action="store_true", help="leave out the latest search's baseline and rungs")
    bench.add_argument("--phis", type=positive_int, nargs="+", default=list(BenchConfig.phis),
                       help="rungs of the found family (those scaler scale wrote)")
    bench.add_argument("--seeds", type=positive_int, default=BenchConfig.seeds, help="seeds per model")
    add_jobs_argument(bench, "cells")
    bench.add_argument("--width", type=positive_float, default=BenchConfig.width, help="proxy width of every model")
    add_stride_arguments(bench)
    bench.add_argument("--reference", help="compare every model with this one (default: the found baseline)")
    bench.add_argument("--name", default=BenchConfig.name, help="results/bench/<name>/ (resumes when it exists)")
    add_data_arguments(bench, "training resolution (default: the data set's own)")
    bench.set_defaults(train_size=10000)
    add_train_arguments(bench, epochs=2)
    bench.add_argument("--json", action="store_true", help="machine-readable JSON on stdout")
    bench.set_defaults(func=cmd_bench)

    export = sub.add_parser("export", help="a trained run's weights as an ONNX or TorchScript file to deploy")
    export.add_argument("target", help="the file to write (.onnx, .pt)")
    export.add_argument("--run", required=True, help="a run folder, or its id under results/runs")
    export.add_argument("--format", choices=FORMATS, help="onnx or torchscript (default: from the target's suffix)")
    export.add_argument("--results", help="results folder (default: $SCALER_RESULTS or ./results)")
    export.set_defaults(func=cmd_export)

    dashboard = sub.add_parser("dashboard", help="the Streamlit dashboard on results/ and a storage (reads only)")
    dashboard.add_argument("--storage", help="Optuna storage URL, e.g. the workers' PostgreSQL "
                                             "(default: $SCALER_STORAGE, else sqlite:///results/studies.db)")
    dashboard.add_argument("--results", help="results folder (default: $SCALER_RESULTS or ./results)")
    dashboard.add_argument("--port", type=positive_int, default=8501)
    dashboard.add_argument("--address", default="127.0.0.1", help="listen address (default: loopback only)")
    dashboard.set_defaults(func=cmd_dashboard)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
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
