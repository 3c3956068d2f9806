"""``scaler train``: train one architecture (zoo name or DSL file) and save its run."""

from __future__ import annotations

import argparse
import json
import sys

import scaler.cli.common as common
from scaler.report import si
from scaler.strides import adapt_strides, strides_changed
from scaler.training.config import TrainConfig


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("train", help="train one architecture (zoo name or DSL file)")
    common.add_target_arguments(parser)
    common.add_data_arguments(parser, "input resolution (default: the data set's own)")
    common.add_train_arguments(parser, epochs=TrainConfig.epochs)
    common.add_stride_arguments(parser)
    parser.add_argument("--ema", type=float, help="keep an EMA of the weights with this decay (e.g. 0.999)")
    parser.add_argument("--no-save", action="store_true", help="do not write a run folder")
    common.add_json_argument(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import dataclasses

    from scaler.data import load_data
    from scaler.results import save_run
    from scaler.training.fit import cpu_weights, fit
    from scaler.training.trainer import distributed_context
    from scaler.zoo import load_spec

    written = load_spec(args.target, args.model).scale(args.depth, args.width)
    cfg = common.train_config(args, ema=args.ema)
    data_cfg = common.data_config(args)
    if not args.no_save:
        from scaler.results import check_writable

        check_writable(args.results)  # a read-only or full results folder: exit 1 now, not after training
    data = load_data(data_cfg)
    ctx = distributed_context()
    spec = adapt_strides(written.scale(resolution=data.resolution), data.resolution, args.min_feature, args.strides)
    if strides_changed(written, spec) and ctx.is_main:
        print(f"strides adapted to {data.resolution} px: {', '.join(strides_changed(written, spec))}", file=sys.stderr)
    record, model = fit(spec, data, cfg, progress=ctx.is_main, evaluate_test=True)
    record["data"] = dataclasses.asdict(data_cfg)
    if not ctx.is_main:
        return 0
    path = None
    if not args.no_save:
        path = save_run(record, "train", args.results, state_dict=cpu_weights(model))
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
