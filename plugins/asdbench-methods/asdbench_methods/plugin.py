"""Registration of the built-in methods (entry point ``methods`` in group ``asdbench``)."""

from __future__ import annotations

from asdbench.hookspecs import Register, hookimpl

from asdbench_methods.augmentations import Mixup
from asdbench_methods.backends import KNNBackend, TargetKMeansBackend
from asdbench_methods.clustering import GMMBIC, HDBSCANClusterer, IdentityReducer, KMeansClusterer, UMAPReducer
from asdbench_methods.featurespaces import ClassSpace, GroundTruthSpace, TripletSpace
from asdbench_methods.frontends import STFT, Spectrum
from asdbench_methods.losses import AdaCos, ArcFace, FeatEx, SubClusterAdaCos, SubspaceLoss
from asdbench_methods.networks import SpectrogramNetwork, SpectrumNetwork


@hookimpl
def asdbench_register_frontends(register: Register) -> None:
    register("spectrum", Spectrum, description="|DFT| of the whole clip (the paper's spectrum branch input)")
    register("stft", STFT, description="linear-magnitude STFT, Hann, hop n_fft/2, bins 200-8000 Hz")


@hookimpl
def asdbench_register_networks(register: Register) -> None:
    register("spectrum-cnn", SpectrumNetwork, description="spectrum branch: strided Conv1d + SE, dense stack")
    register("spectrogram-resnet", SpectrogramNetwork, description="spectrogram branch: SE-ResNet, max over time")


@hookimpl
def asdbench_register_losses(register: Register) -> None:
    register("scac", SubClusterAdaCos, description="sub-cluster AdaCos on z_cat, fixed scale (main loss)")
    register("adacos", AdaCos, description="AdaCos with its adaptive scale on z_cat (main loss)")
    register("arcface", ArcFace, description="additive angular margin on z_cat (main loss)")
    register("subspace", SubspaceLoss, description="one trainable-centre head per branch (aux, eq. 5)")
    register("featex", FeatEx, description="feature exchange between branches (aux, eq. 2-4)")


@hookimpl
def asdbench_register_augmentations(register: Register) -> None:
    register("mixup", Mixup, description="waveform mixup with per-sample probability, labels mixed alike")


@hookimpl
def asdbench_register_backends(register: Register) -> None:
    register("knn", KNNBackend, description="mean cosine distance to the k nearest training embeddings")
    register("kmeans-target", TargetKMeansBackend,
             description="min 1 - e.c over raw source k-means centres and every target clip (as published)")


@hookimpl
def asdbench_register_feature_spaces(register: Register) -> None:
    register("ground-truth", GroundTruthSpace, description="the real (visible or released hidden) attributes: GT row")
    register("class", ClassSpace, uses_system=True,
             description="z_cat of the run's system trained on the available labels")
    register("triplet", TripletSpace, description="per-machine SE-ResNet, triplet loss with Noise/Resize negatives")


@hookimpl
def asdbench_register_reducers(register: Register) -> None:
    register("umap", UMAPReducer, description="UMAP to 2-D, seeded")
    register("none", IdentityReducer, description="no reduction")


@hookimpl
def asdbench_register_clusterers(register: Register) -> None:
    register("gmm-bic", GMMBIC, description="full-covariance GMM, component count by BIC, seeded")
    register("hdbscan", HDBSCANClusterer, description="HDBSCAN density clusters, noise to the nearest cluster")
    register("kmeans", KMeansClusterer, description="k-means with the maximum cluster count")
