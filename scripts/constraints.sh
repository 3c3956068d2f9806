#!/usr/bin/env bash
# Rewrites constraints.txt, the tested set of versions that scripts/setup.sh (and so .ci/run)
# installs, so that two fresh machines get the same packages.
#
#   bash scripts/constraints.sh            # freeze .venv as it is (run the suite in it first)
#   bash scripts/constraints.sh --newest   # a throwaway venv with the newest versions pyproject.toml's
#                                          # bounds allow; the suite runs in it; frozen only if it passes
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.venv
if [ "${1:-}" = "--newest" ]; then
  venv=.venv-newest
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip
  "$venv/bin/python" -m pip install -q -e '.[test,export]'
  SCALER_NO_SKIPS=1 "$venv/bin/python" -m pytest
fi
[ -x "$venv/bin/python" ] || { echo "constraints: no $venv; run bash scripts/setup.sh first" >&2; exit 2; }

tmp=$(mktemp constraints.txt.XXXXXX)
{
  echo "# The tested set of versions: scripts/setup.sh installs scaler with pip's -c constraints.txt."
  echo "# Written by scripts/constraints.sh from an environment that passed the suite ($(date -u +%Y-%m-%d))."
  "$venv/bin/python" -m pip freeze --exclude-editable | LC_ALL=C sort -f
} > "$tmp"
mv "$tmp" constraints.txt
[ "$venv" = .venv ] || rm -rf "$venv"
echo "constraints: wrote constraints.txt ($(grep -vc '^#' constraints.txt) packages)"
