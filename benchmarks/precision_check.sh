#!/usr/bin/env bash
# bf16 against fp32 on the same seeds (leaderboard/precision.toml), for the GPU measurement issue 11 asks for.
# Prints the per-machine table (mean (std) over 5 seeds), then the paired comparison of the two rows.
# About 10 runs of the demo preset's main system: minutes on one GPU, far longer on a CPU.
#   benchmarks/precision_check.sh [OUT_DIR]        (default runs/precision; ASDBENCH names the executable)
set -euo pipefail
cd "$(dirname "$0")/.."
ASDBENCH=${ASDBENCH:-.venv/bin/asdbench}
OUT=${1:-runs/precision}
"$ASDBENCH" synth demo-output/data --preset demo --seed 0
"$ASDBENCH" grid leaderboard/precision.toml --out "$OUT"
"$ASDBENCH" leaderboard leaderboard/precision.toml --out "$OUT"
"$ASDBENCH" leaderboard leaderboard/precision.toml --out "$OUT" --compare fp32 bf16
