"""The files of training and run directories (see asdbench.run), named and read without torch: what the
store needs to tell a run's state, so that `asdbench status` and `asdbench leaderboard` start fast."""

from __future__ import annotations

from pathlib import Path

import numpy as np

TRAINING_SPEC = "training.json"
TRAINED = "trained.json"
SPEC = "spec.json"
RESULTS = "results.json"
EMBEDDINGS = "embeddings"


def embeddings_path(training_dir: Path, epoch: int) -> Path:
    return training_dir / EMBEDDINGS / f"epoch_{epoch:03d}.npz"


def missing_embeddings(training_dir: Path, epochs: list[int]) -> list[int]:
    return [epoch for epoch in epochs if not embeddings_path(training_dir, epoch).exists()]


def training_complete(training_dir: Path, epochs: list[int]) -> bool:
    """Whether the training is finished and has the embeddings of ``epochs``: then scoring needs no model."""
    return (training_dir / TRAINED).exists() and not missing_embeddings(training_dir, epochs)


def trained_embeddings(training_dir: Path, epoch: int) -> dict[str, np.ndarray]:
    """A finished training's embeddings at ``epoch``, keyed ``<split>.<machine>.<train|test>``."""
    with np.load(embeddings_path(training_dir, epoch)) as stored:
        return {key: stored[key] for key in stored.files}
