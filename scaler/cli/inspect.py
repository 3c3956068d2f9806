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
    parser.add_argument("--classes", type=positive_int,
                        help="classifier outputs (default: those the file was trained for, else 1000)")
    add_stride_arguments(parser)
    add_json_argument(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
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
