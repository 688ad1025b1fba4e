"""Reducers and clusterers of the pseudo-labelling pipeline (paper Sec. III-B2)."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.cluster import KMeans
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import GridSearchCV

from asdbench.api import AsdbenchError


class UMAPReducer:
    """``umap``: UMAP to ``n_components`` dimensions (2 in the paper), seeded so that labels are reproducible."""

    def __init__(self, *, n_components: int, n_neighbors: int, min_dist: float, metric: str, seed: int) -> None:
        self.options = dict(n_components=n_components, n_neighbors=n_neighbors, min_dist=min_dist, metric=metric,
                            random_state=seed)

    def fit_transform(self, embeddings: np.ndarray) -> np.ndarray:
        import umap  # numba compiles on first use: imported only when a run pseudo-labels with UMAP

        neighbours = min(self.options["n_neighbors"], len(embeddings) - 1)
        if neighbours < 2:
            raise AsdbenchError(f"reducer 'umap': needs at least 3 clips, got {len(embeddings)}")
        with warnings.catch_warnings():  # "n_jobs overridden by random_state": seeding is the point here
            warnings.filterwarnings("ignore", message=".*n_jobs.*", category=UserWarning)
            return umap.UMAP(**{**self.options, "n_neighbors": neighbours}).fit_transform(embeddings)


class IdentityReducer:
    """``none``: cluster the embeddings as they are."""

    def fit_transform(self, embeddings: np.ndarray) -> np.ndarray:
        return np.asarray(embeddings)


class GMMBIC:
    """``gmm-bic``: full-covariance Gaussian mixtures with 1..max_clusters components; BIC picks the count.

    ``selection = "held-out"`` (the default) chooses as the authors' code does, with scikit-learn's
    GridSearchCV: each count is scored by its BIC on held-out data, averaged over ``folds`` unshuffled folds,
    and the best count is refitted on all points. Counts that a training fold has too few points for are not
    tried. ``"in-sample"`` scores each count by the BIC of one fit on all points instead (about ``folds`` times
    faster; not the published system). Unlike the authors' code, every mixture is seeded, so labels are
    reproducible.
    """

    def __init__(self, *, covariance: str, seed: int, reg_covar: float, selection: str, folds: int) -> None:
        self.covariance, self.seed, self.reg_covar = covariance, seed, reg_covar
        self.selection, self.folds = selection, folds

    def _mixture(self, count: int) -> GaussianMixture:
        return GaussianMixture(count, covariance_type=self.covariance, random_state=self.seed,
                               reg_covar=self.reg_covar)

    def fit_predict(self, points: np.ndarray, max_clusters: int) -> np.ndarray:
        if self.selection == "in-sample":
            return self._in_sample(points, max_clusters).predict(points)
        smallest_training_fold = len(points) - -(-len(points) // self.folds)
        if len(points) < self.folds or smallest_training_fold < 2:
            raise AsdbenchError(
                f"clusterer 'gmm-bic': {len(points)} clips are too few for held-out BIC over {self.folds} folds "
                "(each fold must leave 2 clips to fit on); lower the clusterer's `folds` or use "
                "selection = 'in-sample'"
            )
        counts = range(1, max(1, min(max_clusters, smallest_training_fold)) + 1)
        search = GridSearchCV(self._mixture(1), {"n_components": counts}, cv=self.folds,
                              scoring=lambda model, x, y=None: -model.bic(x))
        return search.fit(points).best_estimator_.predict(points)

    def _in_sample(self, points: np.ndarray, max_clusters: int) -> GaussianMixture:
        best, best_bic = None, np.inf
        for count in range(1, max(1, min(max_clusters, len(points))) + 1):
            model = self._mixture(count).fit(points)
            bic = model.bic(points)
            if bic < best_bic:
                best, best_bic = model, bic
        return best


class HDBSCANClusterer:
    """``hdbscan``: density clusters; points HDBSCAN leaves as noise are given the nearest cluster's label.

    HDBSCAN chooses its own count, so ``max_clusters`` is a cap, not a target: where it finds more clusters, the
    ``max_clusters`` largest are kept and the points of the others, like noise, take the label of their nearest
    point in a kept cluster.
    """

    def __init__(self, *, min_cluster_size: int) -> None:
        self.min_cluster_size = min_cluster_size

    def fit_predict(self, points: np.ndarray, max_clusters: int) -> np.ndarray:
        import hdbscan

        size = max(2, min(self.min_cluster_size, len(points)))
        labels = hdbscan.HDBSCAN(min_cluster_size=size).fit_predict(points)
        found, counts = np.unique(labels[labels >= 0], return_counts=True)
        if not len(found):
            return np.zeros(len(points), dtype=int)
        kept = found[np.argsort(-counts, kind="stable")[:max(1, max_clusters)]]
        return _to_nearest(points, labels, np.isin(labels, kept))


def _to_nearest(points: np.ndarray, labels: np.ndarray, kept: np.ndarray) -> np.ndarray:
    """``labels`` with every point outside ``kept`` given the label of its nearest kept point."""
    labels = labels.copy()
    nearest = np.argmin(((points[~kept, None] - points[None, kept]) ** 2).sum(-1), axis=1)
    labels[~kept] = labels[kept][nearest]
    return labels


class KMeansClusterer:
    """``kmeans``: k-means with ``max_clusters`` clusters (no model selection)."""

    def __init__(self, *, seed: int) -> None:
        self.seed = seed

    def fit_predict(self, points: np.ndarray, max_clusters: int) -> np.ndarray:
        return KMeans(n_clusters=max(1, min(max_clusters, len(points))), n_init=10,
                      random_state=self.seed).fit_predict(points)
