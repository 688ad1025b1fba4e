"""The factories of the pseudo-labelling components that ``plugin.py`` registers: feature spaces, reducers and
clusterers, each a stub of ``asdbench.api.builds`` whose signature declares its options once, as in
:mod:`asdbench_methods.factories` (which says how). A feature space's runtime argument, its ``context``, comes
first, positional-only.
"""

from __future__ import annotations

from typing import Annotated

from asdbench.api import Clusterer, FeatureSpace, FeatureSpaceContext, OneOf, Range, Reducer, builds
from asdbench_methods.factories import FFTSize, Positive, Seed

# --- feature spaces ---------------------------------------------------------------------------------------


@builds("asdbench_methods.featurespaces:GroundTruthSpace")
def ground_truth(context: FeatureSpaceContext, /) -> FeatureSpace:
    """The real attributes (visible, or released hidden ones)."""


@builds("asdbench_methods.featurespaces:ClassSpace")
def class_space(context: FeatureSpaceContext, /, *, epoch: Annotated[int, Range(ge=0)] = 0) -> FeatureSpace:
    """z_cat of the run's own system trained on the available labels (epoch 0: train.epochs).

    ``epoch``: the epoch of the system's training whose embeddings are clustered (0: train.epochs).
    """


@builds("asdbench_methods.featurespaces:TripletSpace")
def triplet(context: FeatureSpaceContext, /, *, n_fft: FFTSize = 1024, epochs: Positive = 6,
            batch_size: Positive = 32, margin: Annotated[float, Range(ge=0)] = 1.0,
            lr: Annotated[float, Range(gt=0)] = 1e-3, clip_seconds: Annotated[float, Range(ge=0)] = 0.0,
            snr_low: float = -5.0, snr_high: float = 5.0) -> FeatureSpace:
    """A per-machine SE-ResNet trained with the triplet loss.

    ``n_fft``: FFT size of its STFT input (a power of two).
    ``epochs``: training epochs of each unit's network.
    ``batch_size``: triplets per step.
    ``margin``: the triplet loss's margin.
    ``lr``: AdamW's learning rate.
    ``clip_seconds``: every clip tiled or cut to this length before its STFT (0: the longest clip's).
    ``snr_low``: the lowest SNR, in dB, at which Noise() mixes in another machine's sound.
    ``snr_high``: the highest such SNR, in dB.
    """


# --- reducers ---------------------------------------------------------------------------------------------


@builds("asdbench_methods.clustering:UMAPReducer")
def umap(*, n_components: Positive = 2, n_neighbors: Annotated[int, Range(ge=2)] = 15,
         min_dist: Annotated[float, Range(ge=0)] = 0.1, metric: str = "euclidean", seed: Seed = 0) -> Reducer:
    """UMAP, seeded.

    ``n_components``: dimensions of the reduced space.
    ``n_neighbors``: UMAP's neighbourhood size (capped at the clips minus one).
    ``min_dist``: UMAP's minimum distance between embedded points.
    ``metric``: the distance UMAP uses in the feature space.
    ``seed``: UMAP's random state.
    """


@builds("asdbench_methods.clustering:IdentityReducer")
def no_reduction() -> Reducer:
    """No reduction."""


# --- clusterers -------------------------------------------------------------------------------------------


@builds("asdbench_methods.clustering:GMMBIC")
def gmm_bic(*, covariance: Annotated[str, OneOf("full", "tied", "diag", "spherical")] = "full", seed: Seed = 0,
            reg_covar: Annotated[float, Range(ge=0)] = 1e-6,
            selection: Annotated[str, OneOf("held-out", "in-sample")] = "held-out",
            folds: Annotated[int, Range(ge=2)] = 5) -> Clusterer:
    """A GMM per domain, its component count chosen by BIC, seeded.

    ``covariance``: scikit-learn's covariance_type of each mixture.
    ``seed``: every mixture's random state.
    ``reg_covar``: added to the covariances' diagonal.
    ``selection``: "held-out": BIC on held-out folds, as published; "in-sample": one fit on all points.
    ``folds``: unshuffled folds of the held-out selection.
    """


@builds("asdbench_methods.clustering:HDBSCANClusterer")
def hdbscan(*, min_cluster_size: Annotated[int, Range(ge=2)] = 10) -> Clusterer:
    """HDBSCAN density clusters, its largest max_clusters kept; noise and the rest go to the nearest kept cluster.

    ``min_cluster_size``: the smallest group HDBSCAN calls a cluster.
    """


@builds("asdbench_methods.clustering:KMeansClusterer")
def kmeans(*, seed: Seed = 0) -> Clusterer:
    """k-means with the maximum cluster count.

    ``seed``: k-means's random state.
    """
