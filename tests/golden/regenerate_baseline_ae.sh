#!/usr/bin/env bash
# Regenerate tests/golden/baseline_ae.npz from the DCASE Task 2 autoencoder baseline's own code. Not part of
# `make test`.
#
#   git clone https://github.com/nttcslab/dcase2023_task2_baseline_ae /tmp/dcase2023_task2_baseline_ae
#   tests/golden/regenerate_baseline_ae.sh /tmp/dcase2023_task2_baseline_ae
#
# The baseline runs in its own virtual environment ($REFENV, default /tmp/asdbench-baselineenv), never in .venv,
# with its requirements.txt (scipy, librosa, matplotlib, tqdm, seaborn, fasteners, PyYAML, unpinned there) and
# torch. It pins torch==2.6.0+cu118 for its docker image; where that is not installable, torch 2.13.0 (CPU) is
# used, as here: the modules called (nn.Linear, BatchNorm1d, torch.inverse, matmul) are the same. The versions used
# are written to baseline_ae_provenance.json. The script writes `baseline.log` into the checkout (the baseline's
# logging does) and changes no file of it.
set -euo pipefail
CHECKOUT=${1:?usage: regenerate_baseline_ae.sh PATH_TO_DCASE2023_TASK2_BASELINE_AE_CHECKOUT}
EXPECTED_COMMIT=9b64dc42276a64f65b7cbf2761d3c9ec525cff94  # "Added contribution guidelines and PR template"
HERE=$(cd "$(dirname "$0")" && pwd)
REFENV=${REFENV:-/tmp/asdbench-baselineenv}

commit=$(git -C "$CHECKOUT" rev-parse HEAD)
case "$commit" in
    "$EXPECTED_COMMIT") ;;
    *) echo "error: $CHECKOUT is at $commit; the golden file is made from $EXPECTED_COMMIT" >&2; exit 1 ;;
esac
if [ ! -x "$REFENV/bin/python" ]; then
    python3.11 -m venv "$REFENV"
    "$REFENV/bin/pip" install --quiet torch==2.13.0 scipy librosa matplotlib tqdm seaborn fasteners PyYAML
fi
"$REFENV/bin/python" "$HERE/make_baseline_ae_reference.py" "$CHECKOUT" "$HERE"
