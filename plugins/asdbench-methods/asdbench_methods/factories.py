"""The factories that ``plugin.py`` registers: light functions whose signatures are the components' options.

asdbench reads a component's options from its factory's signature (``asdbench spec`` validates and fills them
in), and ``asdbench plugins`` lists every registration; neither builds anything. So these functions import no
torch, scikit-learn or UMAP: each declares the options of its product class, with the class's defaults (a test
holds them equal), and imports that class only when called. Runtime arguments come first, positional-only:
a network's ``input_shape``, a loss's ``branch_dims`` and ``num_classes``, a feature space's ``context``.

Each option's range is declared in its annotation (``Annotated[int, Range(ge=1)]``, see asdbench.hookspecs), so
that ``asdbench spec``, ``grid`` and ``run`` refuse a bad value before reading any data. The classes keep their
own checks for code that builds them directly; rules across options (stft's ``f_min < f_max``) and rules on
the data (kmeans-target's and asdkit-kmeans's clusters against a machine's source clips) are checked there only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated

from asdbench.api import (
    Backend,
    Clusterer,
    FeatureSpace,
    FeatureSpaceContext,
    Frontend,
    OneOf,
    Range,
    Reducer,
    Satisfies,
)

if TYPE_CHECKING:
    from torch import nn

NYQUIST = 8000.0
"""Half of asdbench's 16 kHz sample rate: the highest frequency a frontend can keep."""


def _is_power_of_two(n: int) -> bool:
    return n & (n - 1) == 0


Positive = Annotated[int, Range(ge=1)]
Seed = Annotated[int, Range(ge=0)]
Probability = Annotated[float, Range(ge=0, le=1)]
FFTSize = Annotated[int, Range(ge=16), Satisfies(_is_power_of_two, "a power of two")]


# --- frontends --------------------------------------------------------------------------------------------


def spectrum() -> Frontend:
    from asdbench_methods.frontends import Spectrum

    return Spectrum()


def stft(*, n_fft: FFTSize = 1024, f_min: Annotated[float, Range(ge=0, lt=NYQUIST)] = 200.0,
         f_max: Annotated[float, Range(gt=0, le=NYQUIST)] = 8000.0, temporal_norm: bool = False) -> Frontend:
    from asdbench_methods.frontends import STFT

    return STFT(n_fft=n_fft, f_min=f_min, f_max=f_max, temporal_norm=temporal_norm)


# --- networks ---------------------------------------------------------------------------------------------


def spectrum_cnn(input_shape: tuple[int, ...], /, *, embedding_dim: Positive = 128) -> nn.Module:
    from asdbench_methods.networks import SpectrumNetwork

    return SpectrumNetwork(input_shape, embedding_dim=embedding_dim)


def spectrogram_resnet(input_shape: tuple[int, ...], /, *, embedding_dim: Positive = 128) -> nn.Module:
    from asdbench_methods.networks import SpectrogramNetwork

    return SpectrogramNetwork(input_shape, embedding_dim=embedding_dim)


# --- losses -----------------------------------------------------------------------------------------------


def scac(branch_dims: Sequence[int], num_classes: int, /, *, subclusters: Positive = 16,
         trainable_centres: bool = False) -> nn.Module:
    from asdbench_methods.losses import SubClusterAdaCos

    return SubClusterAdaCos(branch_dims, num_classes, subclusters=subclusters, trainable_centres=trainable_centres)


def adacos(branch_dims: Sequence[int], num_classes: int, /, *, trainable_centres: bool = False) -> nn.Module:
    from asdbench_methods.losses import AdaCos

    return AdaCos(branch_dims, num_classes, trainable_centres=trainable_centres)


def arcface(branch_dims: Sequence[int], num_classes: int, /, *,
            margin: Annotated[float, Range(ge=0, lt=math.pi / 2)] = 0.5, scale: Annotated[float, Range(gt=0)] = 30.0,
            trainable_centres: bool = True) -> nn.Module:
    from asdbench_methods.losses import ArcFace

    return ArcFace(branch_dims, num_classes, margin=margin, scale=scale, trainable_centres=trainable_centres)


def subspace(branch_dims: Sequence[int], num_classes: int, /, *, subclusters: Positive = 16,
             weight: float = 1.0) -> nn.Module:
    from asdbench_methods.losses import SubspaceLoss

    return SubspaceLoss(branch_dims, num_classes, subclusters=subclusters, weight=weight)


def featex(branch_dims: Sequence[int], num_classes: int, /, *, probability: Probability = 0.5,
           subclusters: Positive = 16, weight: float = 1.0) -> nn.Module:
    from asdbench_methods.losses import FeatEx

    return FeatEx(branch_dims, num_classes, probability=probability, subclusters=subclusters, weight=weight)


def adaproj(branch_dims: Sequence[int], num_classes: int, /, *, subspace_dim: Positive = 32,
            trainable_subspaces: bool = False, adaptive_scale: bool = True) -> nn.Module:
    from asdbench_methods.adaproj import AdaProj

    return AdaProj(branch_dims, num_classes, subspace_dim=subspace_dim, trainable_subspaces=trainable_subspaces,
                   adaptive_scale=adaptive_scale)


# --- augmentations ----------------------------------------------------------------------------------------


def mixup(*, probability: Probability = 0.5) -> nn.Module:
    from asdbench_methods.augmentations import Mixup

    return Mixup(probability=probability)


# --- backends ---------------------------------------------------------------------------------------------


def knn(*, k: Positive = 1) -> Backend:
    from asdbench_methods.backends import KNNBackend

    return KNNBackend(k=k)


def kmeans_target(*, clusters: Positive = 16, seed: Seed = 0, normalise_centres: bool = False) -> Backend:
    from asdbench_methods.backends import TargetKMeansBackend

    return TargetKMeansBackend(clusters=clusters, seed=seed, normalise_centres=normalise_centres)


def asdkit_kmeans(*, clusters: Positive = 16, seed: Seed = 0) -> Backend:
    from asdbench_methods.backends import ASDKitKMeansBackend

    return ASDKitKMeansBackend(clusters=clusters, seed=seed)


def asdkit_knn(*, k_source: Positive = 1, k_target: Positive = 1) -> Backend:
    from asdbench_methods.knnsmote import ASDKitKNNBackend

    return ASDKitKNNBackend(k_source=k_source, k_target=k_target)


def knn_smote(*, k_source: Positive = 1, k_target: Positive = 1, smote_ratio: Probability = 0.2,
              smote_neighbors: Positive = 2, seed: Seed = 0) -> Backend:
    from asdbench_methods.knnsmote import SMOTEKNNBackend

    return SMOTEKNNBackend(k_source=k_source, k_target=k_target, smote_ratio=smote_ratio,
                           smote_neighbors=smote_neighbors, seed=seed)


def genrep(*, k: Positive = 1, mix_support: Annotated[int, Range(ge=0)] = 990, alpha: Probability = 0.9,
           domain_normalisation: bool = True) -> Backend:
    from asdbench_methods.genrep import GenRepBackend

    return GenRepBackend(k=k, mix_support=mix_support, alpha=alpha, domain_normalisation=domain_normalisation)


# --- feature spaces ---------------------------------------------------------------------------------------


def ground_truth(context: FeatureSpaceContext, /) -> FeatureSpace:
    from asdbench_methods.featurespaces import GroundTruthSpace

    return GroundTruthSpace(context)


def class_space(context: FeatureSpaceContext, /, *, epoch: Annotated[int, Range(ge=0)] = 0) -> FeatureSpace:
    from asdbench_methods.featurespaces import ClassSpace

    return ClassSpace(context, epoch=epoch)


def triplet(context: FeatureSpaceContext, /, *, n_fft: FFTSize = 1024, epochs: Positive = 6,
            batch_size: Positive = 32, margin: Annotated[float, Range(ge=0)] = 1.0,
            lr: Annotated[float, Range(gt=0)] = 1e-3, clip_seconds: Annotated[float, Range(ge=0)] = 0.0,
            snr_low: float = -5.0, snr_high: float = 5.0) -> FeatureSpace:
    from asdbench_methods.featurespaces import TripletSpace

    return TripletSpace(context, n_fft=n_fft, epochs=epochs, batch_size=batch_size, margin=margin, lr=lr,
                        clip_seconds=clip_seconds, snr_low=snr_low, snr_high=snr_high)


# --- reducers ---------------------------------------------------------------------------------------------


def umap(*, n_components: Positive = 2, n_neighbors: Annotated[int, Range(ge=2)] = 15,
         min_dist: Annotated[float, Range(ge=0)] = 0.1, metric: str = "euclidean", seed: Seed = 0) -> Reducer:
    from asdbench_methods.clustering import UMAPReducer

    return UMAPReducer(n_components=n_components, n_neighbors=n_neighbors, min_dist=min_dist, metric=metric,
                       seed=seed)


def no_reduction() -> Reducer:
    from asdbench_methods.clustering import IdentityReducer

    return IdentityReducer()


# --- clusterers -------------------------------------------------------------------------------------------


def gmm_bic(*, covariance: Annotated[str, OneOf("full", "tied", "diag", "spherical")] = "full", seed: Seed = 0,
            reg_covar: Annotated[float, Range(ge=0)] = 1e-6,
            selection: Annotated[str, OneOf("held-out", "in-sample")] = "held-out",
            folds: Annotated[int, Range(ge=2)] = 5) -> Clusterer:
    from asdbench_methods.clustering import GMMBIC

    return GMMBIC(covariance=covariance, seed=seed, reg_covar=reg_covar, selection=selection, folds=folds)


def hdbscan(*, min_cluster_size: Annotated[int, Range(ge=2)] = 10) -> Clusterer:
    from asdbench_methods.clustering import HDBSCANClusterer

    return HDBSCANClusterer(min_cluster_size=min_cluster_size)


def kmeans(*, seed: Seed = 0) -> Clusterer:
    from asdbench_methods.clustering import KMeansClusterer

    return KMeansClusterer(seed=seed)
