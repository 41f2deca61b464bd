#!/usr/bin/env bash
# cdk.json's app: synthesizes with the project's .venv, so no virtual environment needs to be
# activated (the venv is created or refreshed first if its requirement files changed).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh python
exec .venv/bin/python app.py
