#!/usr/bin/env bash
# Regenerate tests/golden/evaluators/: our inputs (make_inputs.py) and the figures the official evaluators report on
# them (run_official.py), for tests/test_evaluator_report.py. Not part of `make test`.
#
#   git clone https://github.com/nttcslab/dcase2023_task2_evaluator /tmp/dcase2023_task2_evaluator
#   git -C /tmp/dcase2023_task2_evaluator checkout 3aa8a9fe09a9a55d9dccb74fd4f17ba9791fb5ea
#   git clone https://github.com/nttcslab/dcase2024_task2_evaluator /tmp/dcase2024_task2_evaluator
#   git -C /tmp/dcase2024_task2_evaluator checkout b5d17f63769bf4372a5412a7ede1f814c9590047
#   tests/golden/evaluators/regenerate.sh /tmp/dcase2023_task2_evaluator /tmp/dcase2024_task2_evaluator
#
# The evaluators run in their own virtual environment ($EVALENV, default /tmp/asdbench-evalenv), never in .venv,
# with the libraries they import: SciPy at their requirements.txt pin (1.10.1), and numpy, pandas and
# scikit-learn, which they leave unpinned, at the releases of mid-2023, when the 2023 evaluator was published.
# Only the evaluators' figures are written here, as JSON; their code and ground truth stay out of the repository
# (their licence forbids redistribution). Measured 2026-12-01: about 10 s, plus a minute to build $EVALENV.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
EVALENV=${EVALENV:-/tmp/asdbench-evalenv}
declare -A COMMITS=(
    [dcase2023_task2_evaluator.py]=3aa8a9fe09a9a55d9dccb74fd4f17ba9791fb5ea
    [dcase2024_task2_evaluator.py]=b5d17f63769bf4372a5412a7ede1f814c9590047
)
[ $# -ge 1 ] || { echo "usage: $0 EVALUATOR_CHECKOUT..." >&2; exit 2; }

if [ ! -x "$EVALENV/bin/python" ]; then
    python3.11 -m venv "$EVALENV"
    "$EVALENV/bin/pip" install --quiet numpy==1.24.4 pandas==2.0.3 scikit-learn==1.3.2 scipy==1.10.1
fi
rm -rf "$HERE/ground_truth" "$HERE/systems"
"$EVALENV/bin/python" "$HERE/make_inputs.py" "$HERE"
for checkout in "$@"; do
    script=$(cd "$checkout" && ls dcase20*_task2_evaluator.py)
    expected=${COMMITS[$script]:-}
    if [ -z "$expected" ]; then
        echo "error: no pinned commit for $script: check its code against docs/metrics.md, then add it to COMMITS" >&2
        exit 1
    fi
    commit=$(git -C "$checkout" rev-parse HEAD)
    if [ "$commit" != "$expected" ]; then
        echo "error: $checkout is at $commit; the golden figures are made from $expected" >&2
        exit 1
    fi
    year=${script:5:4}
    "$EVALENV/bin/python" "$HERE/run_official.py" "$checkout" "$HERE/ground_truth" "$HERE/systems" \
        "$HERE/expected_dcase$year.json"
    echo "wrote $HERE/expected_dcase$year.json"
done
