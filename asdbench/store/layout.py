"""The files of training and run directories (see asdbench.store.stages), named and read without torch: what the
store needs to tell a run's state, so that `asdbench status` and `asdbench leaderboard` start fast."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from asdbench.files.damaged import DamagedFile, set_aside

TRAINING_SPEC = "training.json"
TRAINED = "trained.json"
SPEC = "spec.json"
RESULTS = "results.json"
CODE_FILE = "code.json"
"""In a training directory, each of its scorings and each pseudo-label table: the fingerprint of the code that made
it (asdbench.store.codeprint), written before any of it is computed."""
DATA_FILE = "data.json"
"""In a training directory: the fingerprint of the data it is made on (asdbench.store.datacheck; null for a dataset
type that has none), written before it trains."""
EMBEDDINGS = "embeddings"
PSEUDOLABELS = "pseudolabels"
"""The store's folder of pseudo-label tables, ``pseudolabels/<hash>`` (asdbench.pseudolabel.labelling)."""
HASH = re.compile(r"[0-9a-f]{16}")
"""A directory named by a hash (asdbench.spec.identity.spec_hash): a training, a scoring, a pseudo-label table."""


def read_json(path: Path) -> dict[str, Any] | None:
    """A run's JSON record, None when absent; :class:`DamagedFile` (the file left in place) when unreadable."""
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DamagedFile(f"{path} is damaged: {exc}") from None
    if not isinstance(data, dict):
        raise DamagedFile(f"{path} is damaged: a JSON {type(data).__name__}, not an object")
    return data


def readable_json(path: Path) -> bool:
    try:
        return read_json(path) is not None
    except DamagedFile:
        return False


def embeddings_path(training_dir: Path, epoch: int) -> Path:
    return training_dir / EMBEDDINGS / f"epoch_{epoch:03d}.npz"


def missing_embeddings(training_dir: Path, epochs: list[int]) -> list[int]:
    return [epoch for epoch in epochs if not embeddings_path(training_dir, epoch).exists()]


def training_complete(training_dir: Path, epochs: list[int]) -> bool:
    """Whether the training is finished and has the embeddings of ``epochs``: then scoring needs no model."""
    return readable_json(training_dir / TRAINED) and not missing_embeddings(training_dir, epochs)


def trained_embeddings(training_dir: Path, epoch: int) -> dict[str, np.ndarray]:
    """A finished training's embeddings at ``epoch``, keyed ``<split>.<machine>.<train|test>``. A damaged file
    is set aside (the training computes it again when next claimed) and raises :class:`DamagedFile`."""
    path = embeddings_path(training_dir, epoch)
    try:
        with np.load(path, allow_pickle=False) as stored:  # no code runs from a data file
            return {key: stored[key] for key in stored.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:  # numpy's errors for a damaged file
        set_aside(path, f"{type(exc).__name__}: {exc}")
        raise DamagedFile(f"{path} was damaged and is set aside; run again to compute it again") from None
