"""Does the proxy bench judge the models as the bench trained to the end does?

Reads two bench folders of the same models (``scaler bench --name NAME``, e.g. one at the proxy
fidelity and one trained to the end at the final budget) and prints, per model, the mean validation
accuracy and the verdict against the reference of each, the Spearman and Kendall rank correlation of
the mean accuracies, and every model whose verdict (better, worse, not distinguishable) flips between
the two. Trains nothing: run the two benches first.

    .venv/bin/python benchmarks/proxy_vs_final.py --proxy NAME --final NAME [--results DIR] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys

from scaler.bench import format_proxy_vs_final, proxy_vs_final, read_bench
from scaler.errors import ScalerError


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--proxy", required=True, help="the bench at the proxy fidelity (results/bench/NAME)")
    parser.add_argument("--final", required=True, help="the bench of the same models trained to the end")
    parser.add_argument("--results", help="the results folder (default: ./results or $SCALER_RESULTS)")
    parser.add_argument("--json", action="store_true", help="print the comparison as JSON")
    args = parser.parse_args()
    try:
        comparison = proxy_vs_final(read_bench(args.proxy, args.results), read_bench(args.final, args.results))
    except ScalerError as exc:
        print(f"proxy_vs_final: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    print(json.dumps(comparison, indent=1) if args.json else format_proxy_vs_final(comparison))


if __name__ == "__main__":
    main()
