#!/usr/bin/env bash
# Regenerate tests/golden/asdkit.npz from ASDKit's own backends and SpecAug. Not part of `make test`.
#
#   git clone https://github.com/TakuyaFujimura/dcase-asd-toolkit /tmp/dcase-asd-toolkit
#   tests/golden/regenerate_asdkit.sh /tmp/dcase-asd-toolkit
#
# The backends run in their own virtual environment ($REFENV, default /tmp/asdbench-asdkitenv), never in .venv,
# with only what asdkit/backends and asdkit/augmentations import: numpy, scikit-learn, imbalanced-learn, torch and
# torchaudio. torchaudio is ASDKit's pin, 2.1.1, installed without its dependencies on the CPU torch 2.13.0 (ASDKit
# pins torch 2.1.1): SpecAug uses its TimeMasking and FrequencyMasking, pure Python, and its native libraries,
# built for torch 2.1.1 and CUDA, are moved aside (as regenerate.sh does for the paper's reference). An environment
# made by an earlier version of this script lacks torch: remove it first. ASDKit pins scikit-learn 1.6.1,
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
    "$REFENV/bin/pip" install --quiet "numpy<2.3" scikit-learn imbalanced-learn torch==2.13.0
    "$REFENV/bin/pip" install --quiet --no-deps torchaudio==2.1.1
    native=$("$REFENV/bin/python" -c "import importlib.util, pathlib; print(pathlib.Path(importlib.util.find_spec('torchaudio').origin).parent / 'lib')")
    mkdir -p "$REFENV/torchaudio-native-aside"
    mv "$native"/*.so "$REFENV/torchaudio-native-aside/"
fi
"$REFENV/bin/python" "$HERE/make_asdkit_reference.py" "$CHECKOUT" "$HERE"
