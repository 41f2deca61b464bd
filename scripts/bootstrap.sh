#!/usr/bin/env bash
# Creates .venv with the pinned Python dependencies plus this project (editable), and
# node_modules with the pinned AWS CDK CLI and Node.js (package-lock.json), each once per change
# of its requirement files. Safe to run every time.
#   scripts/bootstrap.sh          both
#   scripts/bootstrap.sh python   .venv only (what cdk.json's app needs while the CLI is running)
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-all}"

python_env() {
  local python="${PYTHON:-python3}"
  local stamp
  stamp=".venv/.installed-$(cat requirements.txt requirements-dev.txt pyproject.toml | sha256sum | cut -c1-16)"
  if [ -f "$stamp" ]; then
    return 0
  fi
  if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
  fi
  pip_install --upgrade pip
  pip_install -r requirements-dev.txt
  pip_install --no-deps -e .
  rm -f .venv/.installed-*
  touch "$stamp"
}

pip_install() {
  # Quiet; on failure pip's own output is shown (minus notices about optional local mirrors).
  local status=0
  .venv/bin/python -m pip install --quiet --disable-pip-version-check "$@" >.venv/pip.log 2>&1 || status=$?
  if [ "$status" -ne 0 ]; then
    grep -v "^WARNING: Location '" .venv/pip.log >&2 || true
  fi
  return "$status"
}

node_env() {
  local stamp
  stamp="node_modules/.installed-$(cat package.json package-lock.json scripts/pyodide/package-lock.json | sha256sum | cut -c1-16)"
  if [ -f "$stamp" ]; then
    return 0
  fi
  if ! command -v npm >/dev/null 2>&1; then
    echo "npm not found: install Node.js 20.17 or later (it brings npm); the project pins its own Node.js 24 and CDK CLI" >&2
    return 1
  fi
  # npm ci installs exactly the lock file; the "node" package's install step fetches its platform build.
  npm ci --no-audit --no-fund --loglevel=error >&2
  # Pyodide (CPython of the Lambda runtime's version, as WebAssembly) byte-compiles the Lambda assets
  # at synth time. Without it synthesis still works, ships source only and says so.
  if ! (cd scripts/pyodide && npm ci --no-audit --no-fund --silent >/dev/null 2>&1); then
    echo "warning: npm could not install scripts/pyodide: Lambda assets will ship without bytecode" >&2
  fi
  touch "$stamp"
}

case "$what" in
  python) python_env ;;
  node) node_env ;;
  all) python_env && node_env ;;
  *) echo "usage: scripts/bootstrap.sh [python|node|all]" >&2; exit 2 ;;
esac
