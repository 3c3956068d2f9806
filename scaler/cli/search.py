"""``scaler search``: architecture search over a DSL space -> a baseline (best.arch)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

import scaler.cli.common as common
from scaler.search.config import (
    DEFAULT_CONFIRM,
    OBJECTIVES,
    PARETO_METRICS,
    PRUNERS,
    SAMPLERS,
    SearchConfig,
)
from scaler.training.fidelity import PROXIES

if TYPE_CHECKING:
    from scaler.search.summary import SearchResult


def add_parser(sub: argparse._SubParsersAction) -> None:
    search = sub.add_parser("search", help="architecture search over a DSL space -> a baseline")
    search.add_argument("--space", default=SearchConfig.space, help="a search space: zoo name (mbconv) or DSL file")
    search.add_argument("--objective", choices=OBJECTIVES, default=SearchConfig.objective,
                        help="reward: ACC*(MACs/T)^w (MnasNet); constraint: ACC under --max-macs/--max-params; "
                             "pareto: ACC vs MACs (NSGA-II)")
    search.add_argument("--target-macs", type=float, help="T of the reward (default: B0's MACs at search fidelity)")
    search.add_argument("--w", type=float, default=SearchConfig.w, help=f"reward exponent (default {SearchConfig.w:g})")
    search.add_argument("--max-macs", type=float, help="MACs limit: the constraint of --objective constraint; with "
                                                        "reward/pareto a guard (bigger candidates are pruned unbuilt)")
    search.add_argument("--max-params", type=float, help="parameter limit: the constraint of --objective constraint; "
                                                          "with reward/pareto a guard, like --max-macs")
    search.add_argument("--pareto-metric", choices=PARETO_METRICS, default=SearchConfig.pareto_metric)
    search.add_argument("--sampler", choices=SAMPLERS, default=SearchConfig.sampler)
    search.add_argument("--pruner", choices=PRUNERS, default=SearchConfig.pruner)
    search.add_argument("--trials", type=common.positive_int, default=SearchConfig.trials,
                        help="finished trials the study should have")
    search.add_argument("--timeout", type=common.positive_float, help="stop starting trials after this many seconds")
    search.add_argument("--width", type=common.positive_float, default=SearchConfig.width, action=common.Explicit,
                        help="proxy width multiplier of every candidate")
    search.add_argument("--prefilter", type=int, default=SearchConfig.prefilter,
                        help="score K random candidates by a zero-cost proxy, train the best first")
    search.add_argument("--proxy", choices=PROXIES, default=SearchConfig.proxy)
    search.add_argument("--study", help="study name (resumes when it exists)")
    search.add_argument("--storage", help="Optuna storage URL, e.g. postgresql://user@host/db for many workers "
                                          "(default: $SCALER_STORAGE, else sqlite:///results/studies.db)")
    search.add_argument("--confirm", type=int, default=SearchConfig.confirm,
                        help=f"train the best K candidates and the reference again with --seeds seeds "
                             f"(default {DEFAULT_CONFIRM}, at most --trials; 0: off)")
    search.add_argument("--seeds", type=common.positive_int, default=SearchConfig.seeds,
                        help=f"seeds per confirmed candidate, the trial's own among them (default {SearchConfig.seeds})")
    common.add_fidelity_arguments(search, "the resolution the search trains at, at most the data's native one "
                                          "(default: the data set's own, or the budget's)", "trials and confirmations")
    search.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import signal

    from scaler.data import load_data
    from scaler.results import check_writable, default_storage
    from scaler.search import SearchInterrupted, run_search
    from scaler.study.storage import open_storage
    common.storage_from_env(args)
    common.apply_budget(args)
    cfg = SearchConfig(
        space=args.space, objective=args.objective, target_macs=args.target_macs, w=args.w, max_macs=args.max_macs,
        max_params=args.max_params, pareto_metric=args.pareto_metric, sampler=args.sampler, pruner=args.pruner,
        trials=args.trials, timeout=args.timeout, width=args.width, prefilter=args.prefilter, proxy=args.proxy,
        study=args.study, storage=args.storage, seed=args.seed, strides=args.strides, min_feature=args.min_feature,
        confirm=args.confirm, seeds=args.seeds, jobs=args.jobs)
    train_cfg = common.train_config(args, reports_per_epoch=2)
    cfg.fidelity.processes(train_cfg.device)  # a bad $SCALER_JOBS is refused before any work
    common.check_base(args)  # a bad --base-resolution too
    check_writable(args.results)  # a read-only or full results folder: exit 1 now, not after training
    storage = open_storage(cfg.storage or default_storage(args.results))  # fail fast, before loading data
    data = load_data(common.base_data_config(args))
    with _sigterm_as_interrupt() as caught:
        try:
            result = run_search(cfg, data, train_cfg, args.results, log=lambda m: print(m, file=sys.stderr),
                                storage=storage)
        except SearchInterrupted as stop:
            s = stop.result.stats
            print(f"scaler: interrupted: {s['finished']}/{s['budget']} trials finished"
                  + (f", trial {stop.requeued} failed and queued again" if stop.requeued is not None else "")
                  + "; the same command resumes the study", file=sys.stderr)
            show(stop.result, cfg, args.json, len(data.x_val))
            return 128 + caught.get("signum", int(signal.SIGINT))
    return show(result, cfg, args.json, len(data.x_val))


def show(result: SearchResult, cfg: SearchConfig, as_json: bool, n_val: int) -> int:
    """Print the search's summary (scaler.search.report); exit code 1 when no trial completed."""
    from scaler.search.report import format_search, search_json

    if as_json:
        print(json.dumps(search_json(result), indent=1))
        return 0
    print(format_search(result, cfg.pareto_metric, n_val))
    return 0 if result.baseline is not None else 1


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
