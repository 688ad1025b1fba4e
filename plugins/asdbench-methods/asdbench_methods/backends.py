"""Backends: anomaly scores of test embeddings from one machine's training embeddings."""

from __future__ import annotations

import numpy as np

from asdbench.errors import AsdbenchError


def _unit_rows(embeddings: np.ndarray) -> np.ndarray:
    embeddings = np.asarray(embeddings, dtype=np.float64)
    norms = np.linalg.norm(embeddings, axis=1, keepdims=True)
    return embeddings / np.maximum(norms, np.finfo(np.float64).tiny)


class KNNBackend:
    """Mean cosine distance to the ``k`` nearest training embeddings (both domains)."""

    def __init__(self, k: int = 1) -> None:
        if k < 1:
            raise AsdbenchError(f"backend 'knn': option k must be at least 1, got {k}")
        self.k = k
        self._train: np.ndarray | None = None

    def fit(self, embeddings: np.ndarray, domains: np.ndarray) -> None:
        if len(embeddings) < self.k:
            raise AsdbenchError(f"backend 'knn': k={self.k} but only {len(embeddings)} training embeddings")
        self._train = _unit_rows(embeddings)

    def score(self, embeddings: np.ndarray) -> np.ndarray:
        if self._train is None:
            raise AsdbenchError("backend 'knn': score() called before fit()")
        distances = 1.0 - _unit_rows(embeddings) @ self._train.T
        nearest = np.partition(distances, self.k - 1, axis=1)[:, : self.k]
        return nearest.mean(axis=1)
