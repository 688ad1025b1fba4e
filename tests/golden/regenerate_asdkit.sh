#!/usr/bin/env bash
# Regenerate tests/golden/asdkit.npz from ASDKit's own backends. Not part of `make test`.
#
#   git clone https://github.com/TakuyaFujimura/dcase-asd-toolkit /tmp/dcase-asd-toolkit
#   tests/golden/regenerate_asdkit.sh /tmp/dcase-asd-toolkit
#
# The backends run in their own virtual environment ($REFENV, default /tmp/asdbench-asdkitenv), never in .venv,
# with only what asdkit/backends imports: numpy, scikit-learn, imbalanced-learn. ASDKit pins scikit-learn 1.6.1,
# imbalanced-learn 0.13.0 and numpy 1.24.3 (requirements.txt); where an index offers only newer ones, the
# versions used are written to asdkit_provenance.json. What the backends depend on is the same in every
# scikit-learn >= 1.4: KMeans's default n_init "auto" (one k-means++ start) and its Lloyd iterations.
set -euo pipefail
CHECKOUT=${1:?usage: regenerate_asdkit.sh PATH_TO_DCASE_ASD_TOOLKIT_CHECKOUT}
EXPECTED_COMMIT=ed27d82f2a22c2d7a654d22369e16ed238e4f75e  # "updated loss name"
HERE=$(cd "$(dirname "$0")" && pwd)
REFENV=${REFENV:-/tmp/asdbench-asdkitenv}

commit=$(git -C "$CHECKOUT" rev-parse HEAD)
case "$commit" in
    "$EXPECTED_COMMIT") ;;
    *) echo "error: $CHECKOUT is at $commit; the golden file is made from $EXPECTED_COMMIT" >&2; exit 1 ;;
esac
if [ ! -x "$REFENV/bin/python" ]; then
    python3.11 -m venv "$REFENV"
    "$REFENV/bin/pip" install --quiet "numpy<2.3" scikit-learn imbalanced-learn
fi
"$REFENV/bin/python" "$HERE/make_asdkit_reference.py" "$CHECKOUT" "$HERE"
