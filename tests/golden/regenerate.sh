#!/usr/bin/env bash
# Regenerate the golden files of tests/test_golden.py from the authors' code. Not part of `make test`.
#
#   git clone https://github.com/TakuyaFujimura/unlabeledasd /tmp/unlabeledasd
#   tests/golden/regenerate.sh /tmp/unlabeledasd
#
# The reference runs in its own virtual environment ($REFENV, default /tmp/asdbench-refenv), never in .venv:
# torch 2.13.0 (CPU), torchaudio 2.11.1 without its native libraries (they link CUDA and fail to load; the
# reference only uses torchaudio.transforms.Spectrogram, which is pure Python), and the libraries its modules,
# PL models, backend, ensemble and evaluator scripts import. Measured 2026-11-30: about 30 s to run.
set -euo pipefail
REFERENCE=${1:?usage: regenerate.sh PATH_TO_UNLABELEDASD_CHECKOUT}
EXPECTED_COMMIT=75797ee3cedcd5dab19b436010e369db46119886
HERE=$(cd "$(dirname "$0")" && pwd)
REFENV=${REFENV:-/tmp/asdbench-refenv}

commit=$(git -C "$REFERENCE" rev-parse HEAD)
if [ "$commit" != "$EXPECTED_COMMIT" ]; then
    echo "error: $REFERENCE is at $commit; the golden files are made from $EXPECTED_COMMIT" >&2
    exit 1
fi
if [ ! -x "$REFENV/bin/python" ]; then
    python3.11 -m venv "$REFENV"
    "$REFENV/bin/pip" install --quiet torch==2.13.0
    "$REFENV/bin/pip" install --quiet --no-deps torchaudio==2.11.1
    "$REFENV/bin/pip" install --quiet "numpy<2.3" scikit-learn scipy pandas omegaconf hydra-core lightning relpath
    native=$("$REFENV/bin/python" -c "import importlib.util, pathlib; print(pathlib.Path(importlib.util.find_spec('torchaudio').origin).parent / 'lib')")
    mkdir -p "$REFENV/torchaudio-native-aside"
    mv "$native"/*.so "$REFENV/torchaudio-native-aside/"
fi
"$REFENV/bin/python" "$HERE/generate.py" "$REFERENCE" "$HERE"
