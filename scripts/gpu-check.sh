#!/usr/bin/env bash
# The GPU path, checked: every CUDA path of scaler run as a user runs it, one PASS/FAIL line per check
# (docs/gpu-check.md). `bash scripts/gpu-check.sh` on a GPU; `--device cpu` runs the same checks on the
# CPU at tiny sizes. Exit code 1 when any check failed. Uses .venv's Python where there is one, else
# python3, with this repository's scaler first on the path.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="$root/.venv/bin/python"
[ -x "$python" ] || python="$(command -v python3)"
export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}"
exec "$python" "$root/scripts/gpu_check.py" "$@"
