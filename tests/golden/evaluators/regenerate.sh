#!/usr/bin/env bash
# Regenerate tests/golden/evaluators/: our inputs (make_inputs.py for 2023/2024, make_earlier_inputs.py for 2020-2022)
# and the figures the official evaluators report on them (run_official.py, run_earlier.py), for
# tests/test_evaluator_report.py. Not part of `make test`.
#
#   git clone https://github.com/nttcslab/dcase2023_task2_evaluator /tmp/dcase2023_task2_evaluator
#   git -C /tmp/dcase2023_task2_evaluator checkout 3aa8a9fe09a9a55d9dccb74fd4f17ba9791fb5ea
#   git clone https://github.com/nttcslab/dcase2024_task2_evaluator /tmp/dcase2024_task2_evaluator
#   git -C /tmp/dcase2024_task2_evaluator checkout b5d17f63769bf4372a5412a7ede1f814c9590047
#   git clone https://github.com/y-kawagu/dcase2020_task2_evaluator /tmp/dcase2020_task2_evaluator
#   git -C /tmp/dcase2020_task2_evaluator checkout 3e5464fe3091cc647015a84475eb89c3232459b6
#   git clone https://github.com/y-kawagu/dcase2021_task2_evaluator /tmp/dcase2021_task2_evaluator
#   git -C /tmp/dcase2021_task2_evaluator checkout 178746837e5ffe46f8c8bfc6498e7d538b25bc41
#   git clone https://github.com/Kota-Dohi/dcase2022_evaluator /tmp/dcase2022_evaluator
#   git -C /tmp/dcase2022_evaluator checkout de8719b7d35280ff3a39487c9d1003413eef7818
#   tests/golden/evaluators/regenerate.sh /tmp/dcase202{0,1,3,4}_task2_evaluator /tmp/dcase2022_evaluator
#
# The evaluators run in their own virtual environment ($EVALENV, default /tmp/asdbench-evalenv), never in .venv,
# with the libraries they import: SciPy at the 2023/2024 evaluators' requirements.txt pin (1.10.1), and numpy, pandas
# and scikit-learn, which they leave unpinned (the 2020-2022 ones pin nothing), at the releases of mid-2023, when the
# 2023 evaluator was published. Only the evaluators' figures are written here, as JSON; their code and ground truth
# stay out of the repository (the 2023/2024 licence forbids redistribution; the 2020 evaluator has no licence; the
# 2021 and 2022 ones are MIT, but nothing of theirs is needed here). Measured 2026-12-01: about 10 s for 2023 and
# 2024, plus a minute to build $EVALENV; 2026-12-10: 10 s more for 2020-2022.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
EVALENV=${EVALENV:-/tmp/asdbench-evalenv}
declare -A COMMITS=(
    [dcase2023_task2_evaluator.py]=3aa8a9fe09a9a55d9dccb74fd4f17ba9791fb5ea
    [dcase2024_task2_evaluator.py]=b5d17f63769bf4372a5412a7ede1f814c9590047
    [evaluator.py]=3e5464fe3091cc647015a84475eb89c3232459b6
    [dcase2021_task2_evaluator.py]=178746837e5ffe46f8c8bfc6498e7d538b25bc41
    [dcase2022_task2_evaluator.py]=de8719b7d35280ff3a39487c9d1003413eef7818
)
[ $# -ge 1 ] || { echo "usage: $0 EVALUATOR_CHECKOUT..." >&2; exit 2; }

if [ ! -x "$EVALENV/bin/python" ]; then
    python3.11 -m venv "$EVALENV"
    "$EVALENV/bin/pip" install --quiet numpy==1.24.4 pandas==2.0.3 scikit-learn==1.3.2 scipy==1.10.1
fi
rm -rf "$HERE/ground_truth" "$HERE/systems" "$HERE/dcase2020" "$HERE/dcase2021" "$HERE/dcase2022"
"$EVALENV/bin/python" "$HERE/make_inputs.py" "$HERE"
"$EVALENV/bin/python" "$HERE/make_earlier_inputs.py" "$HERE"
for checkout in "$@"; do
    checkout=$(cd "$checkout" && pwd)  # the runners run the evaluator from a scratch folder
    script=""
    for candidate in "$checkout"/dcase20*_task2_evaluator.py "$checkout"/evaluator.py; do
        if [ -f "$candidate" ]; then script=$(basename "$candidate"); break; fi
    done
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
    if [ "$script" = evaluator.py ]; then year=2020; else year=${script:5:4}; fi
    if [ "$year" -ge 2023 ]; then
        "$EVALENV/bin/python" "$HERE/run_official.py" "$checkout" "$HERE/ground_truth" "$HERE/systems" \
            "$HERE/expected_dcase$year.json"
    else
        "$EVALENV/bin/python" "$HERE/run_earlier.py" "$checkout" "$HERE/dcase$year" "$HERE/dcase$year/systems" \
            "$HERE/expected_dcase$year.json"
    fi
    echo "wrote $HERE/expected_dcase$year.json"
done
