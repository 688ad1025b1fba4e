"""Break asdbench on purpose, one way at a time, and show that the regression gate fails on each.

Each break patches one component in this process, reruns the gate grid (leaderboard/gate.toml) into a store of its
own, runs.gate-break-NAME, and checks the result against the committed leaderboard/gate.json, as .ci/run does:

- ``zero-main-loss``: the sub-cluster AdaCos loss is multiplied by zero, so the main loss no longer trains;
- ``shuffle-labels``: every training clip gets the class of another, at random;
- ``negate-backend``: the k-means-target backend scores backwards (normal clips most anomalous);
- ``drop-subspace-head``: the subspace loss returns zero, as if its heads were gone.

    python leaderboard/gate_breaks.py [BREAK ...] [--tolerance POINTS]   # every break by default

It exits 1 if the gate passed on any break, naming it. It needs the gate's data (``make gate-breaks`` makes it).
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from unittest import mock

import numpy as np
import torch

import asdbench.store.models
from asdbench.cli.main import main
from asdbench.data.labels import ClassLabels
from asdbench_methods.backends import TargetKMeansBackend
from asdbench_methods.losses import SubClusterAdaCos, SubspaceLoss

ROOT = Path(__file__).resolve().parent.parent
GATE, COMMITTED = ROOT / "leaderboard" / "gate.toml", ROOT / "leaderboard" / "gate.json"


def _zero_main_loss() -> contextlib.AbstractContextManager:
    forward = SubClusterAdaCos.forward
    return mock.patch.object(SubClusterAdaCos, "forward", lambda self, *args: 0 * forward(self, *args))


def _shuffle_labels() -> contextlib.AbstractContextManager:
    build = asdbench.store.models.build_labels

    def shuffled(*args, **kwargs) -> ClassLabels:
        labels = build(*args, **kwargs)
        return ClassLabels(np.random.default_rng(0).permutation(labels.indices), labels.names)

    return mock.patch.object(asdbench.store.models, "build_labels", shuffled)


def _negate_backend() -> contextlib.AbstractContextManager:
    score = TargetKMeansBackend.score
    return mock.patch.object(TargetKMeansBackend, "score", lambda self, embeddings: -score(self, embeddings))


def _drop_subspace_head() -> contextlib.AbstractContextManager:
    def nothing(self, branches, targets) -> torch.Tensor:
        return 0 * sum(z.sum() for z in branches)  # zero, but still a function of the network's output

    return mock.patch.object(SubspaceLoss, "forward", nothing)


BREAKS: dict[str, Callable[[], contextlib.AbstractContextManager]] = {
    "zero-main-loss": _zero_main_loss,
    "shuffle-labels": _shuffle_labels,
    "negate-backend": _negate_backend,
    "drop-subspace-head": _drop_subspace_head,
}


def gate_fails_on(name: str, tolerance: float) -> bool:
    """Run the gate grid with break ``name`` in place; True if the check against gate.json then fails."""
    store = ROOT / "runs" / f"gate-break-{name}"
    shutil.rmtree(store, ignore_errors=True)
    print(f"\n=== break: {name} ===", flush=True)
    with BREAKS[name]():
        if main(["grid", str(GATE), "--out", str(store)]) != 0:
            raise SystemExit(f"gate_breaks: the gate grid itself failed under break {name}")
    return main(["leaderboard", str(GATE), "--out", str(store), "--check", str(COMMITTED),
                 "--tolerance", str(tolerance)]) != 0


def main_breaks(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("breaks", nargs="*", metavar="BREAK", help=f"any of: {', '.join(BREAKS)} (default: all)")
    parser.add_argument("--tolerance", type=float, required=True, help="as the gate's --tolerance")
    args = parser.parse_args(argv)
    breaks = args.breaks or list(BREAKS)
    if unknown := [name for name in breaks if name not in BREAKS]:
        parser.error(f"unknown break {', '.join(unknown)}; breaks: {', '.join(BREAKS)}")
    missed = [name for name in breaks if not gate_fails_on(name, args.tolerance)]
    print()
    for name in breaks:
        print(f"{name}: {'missed by the gate' if name in missed else 'caught by the gate'}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main_breaks())
