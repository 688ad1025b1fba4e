#!/usr/bin/env bash
# The GPU path measured in one run (issue 14; what it does: benchmarks/gpu_check.py's docstring). Under 8 minutes
# on one H100/H200, most of it spent generating the dcase2023 synthetic preset once and compiling; prints the
# tables and writes OUT/gpu_check.json (OUT: runs/gpu-check). --small: a minute on 2 CPU cores (make test runs it).
#   benchmarks/gpu_check.sh [--small] [--out DIR] [--data DIR] [--steps N]   (PYTHON names the interpreter)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
exec "$PYTHON" benchmarks/gpu_check.py "$@"
