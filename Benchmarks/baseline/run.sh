#!/usr/bin/env bash
# Issue 5, row 7: StreetSense next to the baselines users would write (paho-mqtt consumer live, pandas offline).
# Creates or updates the virtual environment .build/baseline-venv with the pinned PyPI packages of
# requirements.txt, then runs bench.py with it. Usage (from the repository root):
#   Benchmarks/baseline/run.sh --streetsense .build/release/streetsense [--sensors 20000 --duration 30m]
#   Benchmarks/baseline/run.sh --streetsense .build/debug/streetsense --smoke
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${BASELINE_VENV:-.build/baseline-venv}"
command -v python3 >/dev/null || { echo "python3 is needed for the baselines (Debian: python3 python3-venv)"; exit 1; }
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv" || { rm -rf "$venv"; echo "cannot create $venv (Debian: apt-get install python3-venv)"; exit 1; }
fi
# Reinstalls only when the pins changed since the last install.
if ! cmp -s "$here/requirements.txt" "$venv/.baseline-requirements.txt"; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
  cp "$here/requirements.txt" "$venv/.baseline-requirements.txt"
fi
exec "$venv/bin/python" "$here/bench.py" "$@"
