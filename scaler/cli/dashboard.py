"""``scaler dashboard``: the Streamlit dashboard on a results folder and a storage (reads only)."""

from __future__ import annotations

import argparse
import os
import sys

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
    """Start ``streamlit run app.py`` on the results folder and storage given (read-only)."""
    import subprocess
    from pathlib import Path

    from scaler.results import default_storage, results_root

    app = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"
    env = {**os.environ, "SCALER_RESULTS": str(results_root(args.results).resolve()),
           "SCALER_STORAGE": args.storage or os.environ.get("SCALER_STORAGE") or default_storage(args.results)}
    cmd = [sys.executable, "-m", "streamlit", "run", str(app), "--server.headless", "true",
           "--server.port", str(args.port), "--server.address", args.address, "--browser.gatherUsageStats", "false"]
    from scaler.dashboard.data import redact_url

    print(f"scaler dashboard on http://{args.address}:{args.port}, storage {redact_url(env['SCALER_STORAGE'])} "
          f"(Ctrl-C stops it)", file=sys.stderr)
    return subprocess.call(cmd, env=env)
