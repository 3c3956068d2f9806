"""``scaler dashboard``: the Streamlit dashboard on a results folder and a storage (reads only)."""

from __future__ import annotations

import argparse

from scaler.cli.common import add_results_argument, positive_int


def add_parser(sub: argparse._SubParsersAction) -> None:
    dashboard = sub.add_parser("dashboard", help="the Streamlit dashboard on results/ and a storage (reads only)")
    dashboard.add_argument("--storage", help="Optuna storage URL, e.g. the workers' PostgreSQL "
                                             "(default: $SCALER_STORAGE, else sqlite:///results/studies.db)")
    add_results_argument(dashboard)
    dashboard.add_argument("--port", type=positive_int, default=8501)
    dashboard.add_argument("--address", default="127.0.0.1", help="listen address (default: loopback only)")
    dashboard.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Serve the dashboard on the results folder and storage given (read-only) until told to stop."""
    from scaler.dashboard.serve import serve

    return serve(args.results, args.storage, args.port, args.address)
