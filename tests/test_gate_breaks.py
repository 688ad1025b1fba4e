"""leaderboard/gate_breaks.py breaks what it says it breaks, and nothing stays broken after it.

Whether the gate then fails is shown by running it (`make gate-breaks`: minutes, so not part of the suite; the
docs/performance.md records which cells caught each break)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import asdbench.store.models
from asdbench_methods import factories

SCRIPT = Path(__file__).resolve().parent.parent / "leaderboard" / "gate_breaks.py"


@pytest.fixture(scope="module")
def gate_breaks():
    spec = importlib.util.spec_from_file_location("gate_breaks", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _batch():
    generator = torch.Generator().manual_seed(0)
    branches = [torch.randn(8, 4, generator=generator, requires_grad=True) for _ in range(2)]
    return branches, torch.eye(3)[torch.arange(8) % 3]


@pytest.mark.parametrize("loss, name", [(factories.scac, "zero-main-loss"), (factories.subspace, "drop-subspace-head")])
def test_the_loss_breaks_give_a_zero_loss_that_trains_nothing(gate_breaks, loss, name):
    module = loss([4, 4], 3, subclusters=2)
    branches, targets = _batch()
    honest = module(branches, targets)
    with gate_breaks.BREAKS[name]():
        broken = module(branches, targets)
        broken.backward()
    assert honest.item() > 0 and broken.item() == 0
    assert all(torch.count_nonzero(z.grad) == 0 for z in branches)
    assert module(branches, targets).item() == pytest.approx(honest.item())  # restored


def test_the_label_break_gives_the_clips_each_others_classes(gate_breaks):
    train = pd.DataFrame({"dataset": "d", "split": "dev", "machine": "m", "section": "00", "domain": "source",
                          "path": list("abcdefgh"),
                          "attribute_string": [f"spd_{i % 4}" for i in range(8)]})
    honest = asdbench.store.models.build_labels(train, "attributes")
    with gate_breaks.BREAKS["shuffle-labels"]():
        shuffled = asdbench.store.models.build_labels(train, "attributes")
    assert shuffled.names == honest.names and sorted(shuffled.indices) == sorted(honest.indices)
    assert (shuffled.indices != honest.indices).any()
    assert (asdbench.store.models.build_labels(train, "attributes").indices == honest.indices).all()  # restored


def test_the_backend_break_scores_backwards(gate_breaks):
    embeddings = np.random.default_rng(0).normal(size=(40, 4))
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    backend = factories.kmeans_target(clusters=3)
    backend.fit(embeddings, np.array(["source"] * 36 + ["target"] * 4))
    with gate_breaks.BREAKS["negate-backend"]():
        broken = backend.score(embeddings)
    np.testing.assert_array_equal(broken, -backend.score(embeddings))
