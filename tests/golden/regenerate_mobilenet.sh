#!/usr/bin/env bash
# Regenerate tests/golden/mobilenet_baseline.npz from the DCASE 2021/2022 Task 2 MobileNetV2 baselines' own code.
# Not part of `make test`.
#
#   git clone https://github.com/y-kawagu/dcase2021_task2_baseline_mobile_net_v2 /tmp/dcase2021_task2_baseline_mobile_net_v2
#   git clone https://github.com/Kota-Dohi/dcase2022_task2_baseline_mobile_net_v2 /tmp/dcase2022_task2_baseline_mobile_net_v2
#   tests/golden/regenerate_mobilenet.sh /tmp/dcase2021_task2_baseline_mobile_net_v2 /tmp/dcase2022_task2_baseline_mobile_net_v2
#
# The baselines run in their own virtual environment ($REFENV, default /tmp/asdbench-mobilenetenv), never in .venv:
# the 2022 requirements.txt's TensorFlow/Keras 2.8.0 and librosa 0.9.1, which need Python 3.9 (pyenv's 3.9.18 here;
# $PYTHON39 names another), with the pins pip needs to resolve them offline (docs/mobilenet-baseline.md, "What the
# golden test needs"). The versions used are written to mobilenet_baseline_provenance.json. Nothing in the
# checkouts is changed; the baselines' logging writes baseline.log into a temporary folder.
set -euo pipefail
CHECKOUT_2021=${1:?usage: regenerate_mobilenet.sh PATH_TO_2021_CHECKOUT PATH_TO_2022_CHECKOUT}
CHECKOUT_2022=${2:?usage: regenerate_mobilenet.sh PATH_TO_2021_CHECKOUT PATH_TO_2022_CHECKOUT}
HERE=$(cd "$(dirname "$0")" && pwd)
REFENV=${REFENV:-/tmp/asdbench-mobilenetenv}
PYTHON39=${PYTHON39:-$HOME/.pyenv/versions/3.9.18/bin/python3.9}

check_commit() {
    local commit
    commit=$(git -C "$1" rev-parse HEAD)
    if [ "$commit" != "$2" ]; then
        echo "error: $1 is at $commit; the golden file is made from $2" >&2
        exit 1
    fi
}
check_commit "$CHECKOUT_2021" e2bb4f7f85113a938ee7ab6119c68ea61770e285  # "Update README.md", 2021-06-09
check_commit "$CHECKOUT_2022" aaf3932705600dd7c484d6c6da70a9957d4cbf23  # "Update README.md", 2022-12-07
if [ ! -x "$REFENV/bin/python" ]; then
    "$PYTHON39" -m venv "$REFENV"
    "$REFENV/bin/pip" install --quiet tensorflow-cpu==2.8.0 keras==2.8.0 "protobuf<3.20" numpy==1.21.5 \
        librosa==0.9.1 scipy==1.8.0 scikit-learn==1.0.2 numba==0.56.4 llvmlite==0.39.1 PyYAML
fi
"$REFENV/bin/python" "$HERE/make_mobilenet_reference.py" "$CHECKOUT_2021" "$CHECKOUT_2022" "$HERE"
