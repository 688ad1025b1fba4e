#!/usr/bin/env bash
# The GPU path measured in one run (issue 14; what it does: benchmarks/gpu_check.py's docstring). Under 8 minutes
# on one H100/H200, most of it spent generating the dcase2023 synthetic preset once and compiling; prints the
# tables and writes OUT/gpu_check.json (OUT: runs/gpu-check), then runs the BEATs / EAT + LoRA step benchmarks.
# --small: a minute on 2 CPU cores (make test runs it), without those benchmarks.
#   benchmarks/gpu_check.sh [--small] [--out DIR] [--data DIR] [--steps N]   (PYTHON names the interpreter)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
"$PYTHON" benchmarks/gpu_check.py "$@"
# BEATs + LoRA and EAT + LoRA training steps at the published sizes (issue 16): clips/s and peak CUDA memory.
case " $* " in
    *" --small "*) ;;  # on the CPU they take minutes: make bench measures them there
    *) "$PYTHON" -m pytest benchmarks/test_bench_beats.py -q -p no:cacheprovider --benchmark-only \
           --benchmark-columns=mean,stddev,rounds ;;
esac
