"""``scaler dashboard``: the Streamlit server as a child process that never outlives the command.

A supervisor or a container stop ends ``scaler dashboard`` with SIGTERM (then SIGKILL). The server
is a separate process (``streamlit run``), so the command forwards SIGTERM, SIGINT and SIGHUP to it
and waits until it has stopped (killing it after ``STOP_GRACE_S``), and on Linux the kernel sends the
server SIGTERM should the command die without a word (SIGKILL): the port is free once the command is
gone.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

from scaler.results import default_storage, results_root
from scaler.study.storage import mask_url

#: Seconds the server has to stop after a forwarded signal before it is killed.
STOP_GRACE_S = 10.0
_FORWARDED = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGINT", "SIGHUP") if hasattr(signal, name))
_LINUX = sys.platform.startswith("linux")


def serve(results: str | None, storage: str | None, port: int, address: str) -> int:
    """Run ``streamlit run app.py`` on ``results`` and ``storage`` (read-only) until it stops or this
    process is told to stop; the server's exit status (128 + n for a server ended by signal n)."""
    env = {**os.environ, "SCALER_RESULTS": str(results_root(results).resolve()),
           "SCALER_STORAGE": storage or os.environ.get("SCALER_STORAGE") or default_storage(results)}
    app = Path(__file__).resolve().parent / "app.py"
    cmd = [sys.executable, "-m", "streamlit", "run", str(app), "--server.headless", "true",
           "--server.port", str(port), "--server.address", address, "--browser.gatherUsageStats", "false"]
    print(f"scaler dashboard on http://{address}:{port}, storage {mask_url(env['SCALER_STORAGE'])} "
          f"(Ctrl-C stops it)", file=sys.stderr)
    parent = os.getpid()
    proc = subprocess.Popen(cmd, env=env, preexec_fn=(lambda: _end_with(parent)) if _LINUX else None)
    stop_at: list[float] = []

    def forward(signum: int, frame: FrameType | None) -> None:
        if not stop_at:
            stop_at.append(time.monotonic() + STOP_GRACE_S)
        proc.send_signal(signum)  # nothing, once the server has been reaped

    previous = {sig: signal.signal(sig, forward) for sig in _FORWARDED}
    try:
        while True:
            try:
                code = proc.wait(timeout=0.5)
                break
            except subprocess.TimeoutExpired:
                if stop_at and time.monotonic() > stop_at[0]:
                    proc.kill()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 128 - code if code < 0 else code


def _end_with(parent: int) -> None:
    """In the server's process, before streamlit starts: have the kernel send it SIGTERM when
    ``parent`` dies (Linux's PR_SET_PDEATHSIG)."""
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the request was made
        os.kill(os.getpid(), signal.SIGTERM)
