"""The per-clip statistics of a reconstruction error: what a reconstruction network embeds each clip as.

A reconstruction system (an autoencoder) is not a classifier, but it fits asdbench's contract as one: its network
reconstructs every feature vector of a clip and returns, as the clip's embedding, the statistics of the residual
that its loss and its backends need. The loss averages the first of them (the clip's mean squared error); the
backends fit and score on the rest, so that a backend change rescores stored embeddings without retraining.

The residual of a clip is cut into *rows* of ``block`` values (the DCASE baseline views each 640-d context vector
as 5 rows of 128 mel bins: its ``block_size``). The embedding of a clip, ``block`` = b, is, in this order:

- ``mse``: mean of the squared residual over every value of the clip;
- ``vectors``: how many feature vectors the clip has;
- ``rows``: how many rows of b values (``vectors * vector_dim / b``);
- ``mean``: the mean residual row (b values);
- ``covariance``: the upper triangle, row by row, of the rows' covariance about that mean, divided by ``rows``
  (b (b + 1) / 2 values).

From these a backend rebuilds each domain's covariance of residual rows exactly (pooled within-clip scatter plus
the between-clip scatter of the means) and scores a clip by the Mahalanobis distance of its mean row, or by the
mean distance of its rows (``trace(P (C + m m^T))``), without the rows themselves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from asdbench.api import AsdbenchError

HEAD = 3
"""``mse``, ``vectors``, ``rows``: the values before the mean row."""


def statistics_dim(block: int) -> int:
    """The embedding size of a clip whose residual is cut into rows of ``block`` values."""
    return HEAD + block + block * (block + 1) // 2


def block_of(dim: int, component: str) -> int:
    """The row width ``block`` whose statistics take ``dim`` values; an error naming ``component`` if none does."""
    # dim = 3 + b + b (b + 1) / 2  <=>  b^2 + 3 b + 6 - 2 dim = 0
    block = round((-3 + math.sqrt(9 - 4 * (6 - 2 * dim))) / 2) if dim > HEAD else 0
    if block < 1 or statistics_dim(block) != dim:
        raise AsdbenchError(f"{component}: needs the reconstruction-error statistics of a reconstruction network "
                            f"(such as network 'dcase-ae') as its only branch; got an embedding of {dim} values, which "
                            "no row width gives (3 + b + b (b + 1) / 2 values)")
    return block


@dataclass(frozen=True)
class ErrorStatistics:
    """The statistics of N clips, unpacked (float64)."""

    mse: np.ndarray  # (N,)
    vectors: np.ndarray  # (N,)
    rows: np.ndarray  # (N,)
    mean: np.ndarray  # (N, b)
    covariance: np.ndarray  # (N, b, b), symmetric

    @classmethod
    def unpack(cls, embeddings: np.ndarray, component: str) -> ErrorStatistics:
        embeddings = np.asarray(embeddings, dtype=np.float64)
        if embeddings.ndim != 2:
            raise AsdbenchError(f"{component}: expected embeddings (N, D), got shape {embeddings.shape}")
        block = block_of(embeddings.shape[1], component)
        upper = np.triu_indices(block)
        covariance = np.zeros((len(embeddings), block, block))
        covariance[:, upper[0], upper[1]] = embeddings[:, HEAD + block :]
        covariance[:, upper[1], upper[0]] = embeddings[:, HEAD + block :]
        return cls(embeddings[:, 0], embeddings[:, 1], embeddings[:, 2], embeddings[:, HEAD : HEAD + block],
                   covariance)

    def __len__(self) -> int:
        return len(self.mse)

    def select(self, mask: np.ndarray) -> ErrorStatistics:
        return ErrorStatistics(self.mse[mask], self.vectors[mask], self.rows[mask], self.mean[mask],
                               self.covariance[mask])

    def pooled_scatter(self) -> np.ndarray:
        """The scatter matrix of every row of these clips about their common mean row: sum (r - mu)(r - mu)^T."""
        rows = self.rows[:, None, None]
        mu = (self.rows[:, None] * self.mean).sum(axis=0) / self.rows.sum()
        offsets = self.mean - mu
        return (rows * self.covariance).sum(axis=0) + (rows * offsets[:, :, None] * offsets[:, None, :]).sum(axis=0)


def pack(residuals: np.ndarray, block: int) -> np.ndarray:
    """``(N, V, D)`` residuals -> ``(N, statistics_dim(block))``: the statistics as a reconstruction network embeds
    them, computed in numpy (for ``plugins --check``'s input to the backends, and to test the networks)."""
    residuals = np.asarray(residuals, dtype=np.float64)
    count, vectors = residuals.shape[:2]
    rows = residuals.reshape(count, -1, block)
    mean = rows.mean(axis=1)
    centred = rows - mean[:, None]
    covariance = np.einsum("nri,nrj->nij", centred, centred) / rows.shape[1]
    upper = np.triu_indices(block)
    head = np.stack([(residuals**2).mean(axis=(1, 2)), np.full(count, vectors), np.full(count, rows.shape[1])], 1)
    return np.concatenate([head, mean, covariance[:, upper[0], upper[1]]], axis=1)


def check_input() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What ``plugins --check`` fits and scores the reconstruction backends on: the statistics of random residuals
    (rows of 4 values) of 20 training clips, 16 source and 4 target, and of 7 test clips."""
    rng = np.random.default_rng(0)
    embeddings = pack(rng.normal(size=(27, 6, 8)), 4).astype(np.float32)
    return embeddings[:20], np.array(["source"] * 16 + ["target"] * 4), embeddings[20:]
