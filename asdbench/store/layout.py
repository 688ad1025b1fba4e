"""The files of training and run directories (see asdbench.store.stages), named and read without torch: what the
store needs to tell a run's state, so that `asdbench status` and `asdbench leaderboard` start fast."""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from asdbench.data.units import EMBEDDING_KEYS
from asdbench.files.atomic import atomic_path
from asdbench.files.damaged import DamagedFile, set_aside

TRAINING_SPEC = "training.json"
TRAINED = "trained.json"
TRAINED_CLASSES = "classes"
"""The field of ``trained.json`` that holds the class names a training's model (or each of its models, by name)
trained on, in index order: what a backend registered with ``unit_class=True`` is told its unit's class from."""
SPEC = "spec.json"
RESULTS = "results.json"
CODE_FILE = "code.json"
"""In a training directory, each of its scorings, each pseudo-label table and each feature space: the fingerprint of the code that made
it (asdbench.store.codeprint), written before any of it is computed."""
DATA_FILE = "data.json"
"""In a training directory: the fingerprint of the data it is made on (asdbench.store.datacheck; null for a dataset
type that has none), written before it trains."""
EMBEDDINGS = "embeddings"
EMBEDDING_KEYS_ENTRY = "embedding_keys"
"""The entry of an embeddings file that holds the version of its keys (asdbench.data.units.EMBEDDING_KEYS)."""
PSEUDOLABELS = "pseudolabels"
"""The store's folder of pseudo-label tables, ``pseudolabels/<hash>`` (asdbench.store.pseudolabels)."""
FEATURESPACES = "featurespaces"
"""The store's folder of feature-space embeddings, ``featurespaces/<hash>``, which pseudo-label tables of any
reducer and clusterer share (asdbench.store.featurespaces)."""
FEATURESPACE_FILE = "featurespace.json"
"""In a pseudo-label table: ``{"featurespace": <hash>}``, the feature-space embeddings it clustered."""
HASH = re.compile(r"[0-9a-f]{16}")
"""A directory named by a hash (asdbench.spec.identity.spec_hash): a training, a scoring, a pseudo-label table, a
feature space."""


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
    """A finished training's embeddings at ``epoch``, keyed by :func:`asdbench.data.units.embedding_key`. A damaged
    file, or one whose keys are of another version than :data:`~asdbench.data.units.EMBEDDING_KEYS`, is set aside
    (the training computes it again from its checkpoint when next claimed) and raises :class:`DamagedFile`."""
    path = embeddings_path(training_dir, epoch)
    try:
        with np.load(path, allow_pickle=False) as stored:  # no code runs from a data file
            arrays = {key: stored[key] for key in stored.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:  # numpy's errors for a damaged file
        set_aside(path, f"{type(exc).__name__}: {exc}")
        raise DamagedFile(f"{path} was damaged and is set aside; run again to compute it again") from None
    version = arrays.pop(EMBEDDING_KEYS_ENTRY, None)
    if version is None or version.shape != () or not np.issubdtype(version.dtype, np.integer) \
            or int(version) != EMBEDDING_KEYS:
        found = "no version (1: <split>.<machine>.<subset>, before sections)" if version is None else f"{version}"
        set_aside(path, f"its embedding keys are of version {found}, not {EMBEDDING_KEYS} "
                        "(<split>.<machine>.<section>.<subset>)")
        raise DamagedFile(f"{path} was written with other embedding keys and is set aside; run again to compute it "
                          "again from its checkpoint") from None
    return arrays


def write_embeddings(training_dir: Path, epoch: int, arrays: Mapping[str, np.ndarray]) -> None:
    """A training's embeddings at ``epoch``, keyed by unit and subset, with the version of their keys."""
    with atomic_path(embeddings_path(training_dir, epoch)) as temporary:
        with open(temporary, "wb") as handle:
            np.savez(handle, **arrays, **{EMBEDDING_KEYS_ENTRY: np.array(EMBEDDING_KEYS)})
