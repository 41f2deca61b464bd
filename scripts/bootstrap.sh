#!/usr/bin/env bash
# Creates .venv and installs the pinned dependencies plus this project (editable), once per
# change of the requirement files. Safe to run every time.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
stamp=".venv/.installed-$(cat requirements.txt requirements-dev.txt pyproject.toml scripts/pyodide/package-lock.json | sha256sum | cut -c1-16)"
if [ -f "$stamp" ]; then
  exit 0
fi
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
pip_install() {
  # Quiet; on failure pip's own output is shown (minus notices about optional local mirrors).
  local status=0
  .venv/bin/python -m pip install --quiet --disable-pip-version-check "$@" >.venv/pip.log 2>&1 || status=$?
  if [ "$status" -ne 0 ]; then
    grep -v "^WARNING: Location '" .venv/pip.log >&2 || true
  fi
  return "$status"
}
pip_install --upgrade pip
pip_install -r requirements-dev.txt
pip_install --no-deps -e .
# Pyodide (CPython of the Lambda runtime's version, as WebAssembly) byte-compiles the Lambda assets at
# synth time. Without it synthesis still works, ships source only and says so.
if ! (cd scripts/pyodide && npm ci --no-audit --no-fund --silent >/dev/null 2>&1); then
  echo "warning: npm could not install scripts/pyodide: Lambda assets will ship without bytecode" >&2
fi
rm -f .venv/.installed-*
touch "$stamp"
