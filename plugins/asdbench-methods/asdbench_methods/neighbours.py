"""Row normalisation and nearest-neighbour distances shared by the backends (numpy only)."""

from __future__ import annotations

import numpy as np


def unit_rows(embeddings: np.ndarray) -> np.ndarray:
    """Each row L2-normalised, in float64 (an all-zero row stays zero)."""
    embeddings = np.asarray(embeddings, dtype=np.float64)
    norms = np.linalg.norm(embeddings, axis=1, keepdims=True)
    return embeddings / np.maximum(norms, np.finfo(np.float64).tiny)


def mean_nearest_distances(queries: np.ndarray, bank: np.ndarray, k: int) -> np.ndarray:
    """Mean Euclidean distance of each query row to its ``k`` nearest rows of ``bank``."""
    squared = (queries**2).sum(1)[:, None] + (bank**2).sum(1)[None, :] - 2.0 * queries @ bank.T
    nearest = np.partition(np.sqrt(np.maximum(squared, 0.0)), k - 1, axis=1)[:, :k]
    return nearest.mean(axis=1)
