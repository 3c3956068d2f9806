#!/usr/bin/env bash
# Sets up everything scaler needs on a fresh Debian machine: Fashion-MNIST from Debian's
# packages, a virtualenv in .venv with scaler and its test tools. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
[ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || need_apt+=(dataset-fashion-mnist)
# Debian's chromium: the dashboard's real-browser test drives it with Playwright (tests/test_dashboard_browser.py).
command -v chromium >/dev/null || need_apt+=(chromium)
# Debian's PostgreSQL server: the multi-worker tests (tests/test_workers.py) and benchmarks/workers.py start a
# private throwaway cluster on loopback from its binaries (/usr/lib/postgresql/*/bin); its default cluster is not used.
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || need_apt+=(postgresql)
if [ ${#need_apt[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "setup: installing ${need_apt[*]} from Debian's packages"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "setup: warning: cannot install ${need_apt[*]} (needs root and apt-get); set SCALER_DATA or --data-dir" >&2
  fi
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
# pip (not uv/poetry): it takes the locally served torch builds (ARCHITECTURE.md, "Facts about the machines").
.venv/bin/python -m pip install -q --upgrade pip
# constraints.txt: the tested set of versions (scripts/constraints.sh rewrites it).
.venv/bin/python -m pip install -q -c constraints.txt -e '.[test,export]'
echo "setup: ready (.venv)"
