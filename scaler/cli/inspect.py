"""``scaler inspect``: one model's params, MACs and activations, layer by layer."""

from __future__ import annotations

import argparse
import json

from scaler.cli.common import add_json_argument, add_stride_arguments, add_target_arguments, positive_int
from scaler.report import format_table, plain, si
from scaler.strides import adapt_strides, strides_changed


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("inspect", help="one model's params, MACs and activations per stage")
    add_target_arguments(parser)
    parser.add_argument("--resolution", type=positive_int, help="input resolution in pixels")
    parser.add_argument("--classes", type=positive_int, default=1000, help="classifier outputs")
    add_stride_arguments(parser)
    add_json_argument(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from scaler.nn.complexity import complexity
    from scaler.zoo import load_spec

    written = load_spec(args.target, args.model).scale(args.depth, args.width, args.resolution)
    spec = adapt_strides(written, written.resolution, args.min_feature, args.strides)
    changed = strides_changed(written, spec)
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
                          "acts": cx.acts, "layers": layers, "strides": args.strides, "strides_changed": changed,
                          "dsl": spec.text()}, indent=1))
        return 0
    print(f"{spec.name} ({spec.family}) at {cx.resolution} px, width x{spec.width:g}, depth x{spec.depth:g}: "
          f"{cx.params:,} params, {si(cx.macs)} MACs, {si(cx.acts)} activations")
    if changed:
        print(f"strides adapted to {cx.resolution} px (last feature map >= {args.min_feature} px): {', '.join(changed)}"
              f"; --strides as-written shows the model as written")
    print(format_table(layers, [
        ("layer", "layer", plain), ("block", "block", plain), ("repeats", "r", plain),
        ("output", "output", plain), ("params", "params", si), ("macs", "MACs", si),
        ("acts", "acts", si),
    ]))
    return 0
