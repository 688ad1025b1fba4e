"""ASDKit's ``Knn`` backend: ``knn-smote`` with SMOTE, ``asdkit-knn`` without.

``knn-smote``: kNN per domain, the few target-domain training embeddings first oversampled with SMOTE. As
ASDKit's ``Knn`` backend with its published SMOTE setting, the backend of ASDKit's results table (the caption of
its ``docs/results.png``) (TakuyaFujimura/dcase-asd-toolkit at ed27d82, ``asdkit/backends/knn.py``,
``config/score/experiments/default.yaml``: ``n_neighbors_so = n_neighbors_ta = 1``,
``smote_ratio = 0.2``, ``smote_neighbors = 2``, ``metric = cosine``, SMOTE's ``random_state = 0``). The
embeddings are L2-normalised; imbalanced-learn's SMOTE (the library ASDKit calls, so its draws are the same)
adds synthetic target embeddings until there are ``smote_ratio`` times as many target as source embeddings (a
machine that has that many already gets none, where imbalanced-learn would refuse: SMOTE only adds), each
``x + u (n - x)`` for a random target embedding x, one of its ``smote_neighbors`` nearest target embeddings n
and u ~ U(0, 1); they are L2-normalised again. A clip's score is the smaller of its mean Euclidean distance to
its ``k_source`` nearest source and ``k_target`` nearest (oversampled) target embeddings, halved as ASDKit's cosine
metric does (for unit vectors, sqrt((1 - cos) / 2)).

``asdkit-knn``: the same without SMOTE (ASDKit's ``smote_ratio = 0``, the first backend of its ``default.yaml``):
the smaller of the mean Euclidean distances / 2 to the ``k_source`` nearest source and the ``k_target`` nearest
target embeddings. asdbench's ``knn`` is another backend: the mean cosine distance ``1 - cos`` to the ``k``
nearest of one bank of both domains; for k = 1 it ranks clips as ``asdkit-knn`` does, for k > 1 it does not.
Where ASDKit scores a machine without target clips by its source bank alone (with a logged warning), both
refuse it before training.
"""

from __future__ import annotations

import numpy as np
from imblearn.over_sampling import SMOTE

from asdbench.api import AsdbenchError
from asdbench_methods.neighbours import mean_nearest_distances, unit_rows


def smote_targets(embeddings: np.ndarray, is_target: np.ndarray, *, ratio: float, neighbours: int,
                  seed: int) -> np.ndarray:
    """The target embeddings after SMOTE: the given ones, then the synthetic ones (none when ``ratio`` is 0 or the
    target embeddings are ``ratio`` times the source ones already)."""
    if ratio == 0 or is_target.sum() >= int(ratio * (~is_target).sum()):
        return embeddings[is_target]
    resampled, labels = SMOTE(sampling_strategy=ratio, k_neighbors=neighbours, random_state=seed).fit_resample(
        embeddings, is_target.astype(np.int64))
    return resampled[labels == 1]


class SMOTEKNNBackend:
    """``knn-smote``: see the module docstring."""

    name = "knn-smote"

    def __init__(self, *, k_source: int, k_target: int, smote_ratio: float, smote_neighbors: int, seed: int) -> None:
        self.k_source, self.k_target = k_source, k_target
        self.smote_ratio, self.smote_neighbors, self.seed = smote_ratio, smote_neighbors, seed
        self._banks: tuple[np.ndarray, np.ndarray] | None = None

    def check_data(self, domains: np.ndarray) -> None:
        """Refuse, before any training, a machine whose clips SMOTE or the kNN cannot use."""
        domains = np.asarray(domains)
        sources, targets = int((domains == "source").sum()), int((domains == "target").sum())
        after = max(targets, int(sources * self.smote_ratio))
        problem = (
            f"{sources} source-domain clips for k_source={self.k_source}" if sources < self.k_source else
            "no target-domain clips" if targets == 0 else
            f"{targets} target-domain clips; SMOTE needs more than smote_neighbors={self.smote_neighbors}"
            if after > targets and targets <= self.smote_neighbors else
            f"{after} target-domain embeddings{' after SMOTE' if self.smote_ratio else ''} for "
            f"k_target={self.k_target}" if after < self.k_target else
            None
        )
        if problem:
            raise AsdbenchError(f"backend '{self.name}': {problem}; change the backend's options for this dataset")

    def fit(self, embeddings: np.ndarray, domains: np.ndarray) -> None:
        domains = np.asarray(domains)
        self.check_data(domains)
        embeddings = unit_rows(embeddings)
        target = smote_targets(embeddings, domains == "target", ratio=self.smote_ratio,
                               neighbours=self.smote_neighbors, seed=self.seed)
        self._banks = embeddings[domains == "source"], unit_rows(target)

    def score(self, embeddings: np.ndarray) -> np.ndarray:
        if self._banks is None:
            raise AsdbenchError(f"backend '{self.name}': score() called before fit()")
        queries = unit_rows(embeddings)
        source, target = self._banks
        distances = np.minimum(mean_nearest_distances(queries, source, self.k_source),
                               mean_nearest_distances(queries, target, self.k_target))
        return distances / 2


class ASDKitKNNBackend(SMOTEKNNBackend):
    """``asdkit-knn``: ASDKit's ``Knn`` without SMOTE; see the module docstring."""

    name = "asdkit-knn"

    def __init__(self, *, k_source: int, k_target: int) -> None:
        # no SMOTE (ratio 0): smote_neighbors and seed are never read
        super().__init__(k_source=k_source, k_target=k_target, smote_ratio=0.0, smote_neighbors=1, seed=0)
