"""Registration of the built-in methods (entry point ``methods`` in group ``asdbench``).

Every factory comes from :mod:`asdbench_methods.factories` or :mod:`~asdbench_methods.labelling_factories`, which
import nothing heavy: loading this plugin, listing it and validating a spec against it never import torch or
scikit-learn.
"""

from __future__ import annotations

from asdbench.api import Register, hookimpl
from asdbench_methods import factories, labelling_factories


@hookimpl
def asdbench_register_frontends(register: Register) -> None:
    register("spectrum", factories.spectrum, description="|DFT| of the whole clip (the paper's spectrum branch input)")
    register("stft", factories.stft, description="linear-magnitude STFT, Hann, hop n_fft/2, bins 200-8000 Hz")
    register("log-mel", factories.log_mel, omit_defaults=("pad_mode", "train_frame_hop"),
             description="the DCASE baseline's log-mel energies (librosa), 5 frames stacked into 640-d vectors")


@hookimpl
def asdbench_register_networks(register: Register) -> None:
    register("spectrum-cnn", factories.spectrum_cnn,
             description="spectrum branch: strided Conv1d + SE, dense stack")
    register("spectrogram-resnet", factories.spectrogram_resnet,
             description="spectrogram branch: SE-ResNet, max over time")
    register("dcase-ae", factories.dcase_ae, check_input=factories.dcase_ae_check_input,
             description="the DCASE baseline's dense autoencoder: a clip's reconstruction-error statistics")
    register("dcase-mobilenetv2", factories.dcase_mobilenetv2, check_input=factories.dcase_mobilenetv2_check_input,
             description="the DCASE 2021/2022 baseline's MobileNetV2 section classifier: per-class image scores")


@hookimpl
def asdbench_register_losses(register: Register) -> None:
    register("scac", factories.scac, description="sub-cluster AdaCos on z_cat, fixed scale (main loss)")
    register("adacos", factories.adacos, description="AdaCos with its adaptive scale on z_cat (main loss)")
    register("arcface", factories.arcface, description="additive angular margin on z_cat (main loss)")
    register("adaproj", factories.adaproj,
             description="AdaProj: cosine to each class's subspace projection, adaptive scale, on z_cat (main loss)")
    register("subspace", factories.subspace, description="one trainable-centre head per branch (aux, eq. 5)")
    register("featex", factories.featex, description="feature exchange between branches (aux, eq. 2-4)",
             aux_only="it classifies embeddings exchanged between branches, to regularise a main loss (eq. 2-4)")
    register("reconstruction", factories.reconstruction, check_input=factories.reconstruction_check_input,
             description="mean squared reconstruction error of a reconstruction network (dcase-ae; main loss)")
    register("image-cross-entropy", factories.image_cross_entropy,
             check_input=factories.image_cross_entropy_check_input,
             description="mean cross-entropy of a clip's images at its class (dcase-mobilenetv2; main loss)")


@hookimpl
def asdbench_register_augmentations(register: Register) -> None:
    register("mixup", factories.mixup, description="waveform mixup with per-sample probability, labels mixed alike")
    register("specaug", factories.specaug,
             description="ASDKit's SpecAug: time and frequency masks on the STFT magnitude, back to the waveform")


@hookimpl
def asdbench_register_backends(register: Register) -> None:
    register("knn", factories.knn,
             description="mean cosine distance to the k nearest training embeddings, both domains in one bank")
    register("kmeans-target", factories.kmeans_target,
             description="min 1 - e.c over raw source k-means centres and every target clip (the paper's)")
    register("asdkit-kmeans", factories.asdkit_kmeans,
             description="ASDKit's Kmeans: min 1 - e.c over re-normalised source centres (one k-means++ start) "
                         "and every target clip")
    register("asdkit-knn", factories.asdkit_knn,
             description="ASDKit's Knn without SMOTE: min over source and target banks of mean distance / 2")
    register("knn-smote", factories.knn_smote,
             description="ASDKit's Knn with SMOTE: kNN per domain, target embeddings oversampled first")
    register("genrep", factories.genrep, raw_embeddings=True,
             description="GenRep: kNN on source/target banks, MemMixup targets, per-domain score standardisation")
    register("reconstruction-mse", factories.reconstruction_mse, raw_embeddings=True,
             check_input=factories.reconstruction_backend_check_input,
             description="the DCASE baseline's MSE score: mean squared reconstruction error (dcase-ae)")
    register("mobilenet-score", factories.mobilenet_score, raw_embeddings=True, unit_class=True,
             check_input=factories.mobilenet_score_check_input,
             description="the DCASE 2021/2022 MobileNetV2 baseline's score: mean log-odds against the clip's section")
    register("selective-mahalanobis", factories.selective_mahalanobis, raw_embeddings=True,
             check_input=factories.reconstruction_backend_check_input,
             description="the DCASE baseline's score: min of source/target Mahalanobis distances of the residual")


@hookimpl
def asdbench_register_feature_spaces(register: Register) -> None:
    register("ground-truth", labelling_factories.ground_truth,
             description="the real (visible or released hidden) attributes: GT row")
    register("class", labelling_factories.class_space, uses_system=True,
             description="z_cat of the run's system trained on the available labels")
    register("triplet", labelling_factories.triplet,
             description="per-machine SE-ResNet, triplet loss with Noise/Resize negatives")


@hookimpl
def asdbench_register_reducers(register: Register) -> None:
    register("umap", labelling_factories.umap, description="UMAP to 2-D, seeded")
    register("none", labelling_factories.no_reduction, description="no reduction")


@hookimpl
def asdbench_register_clusterers(register: Register) -> None:
    register("gmm-bic", labelling_factories.gmm_bic, description="full-covariance GMM, component count by BIC, seeded")
    register("hdbscan", labelling_factories.hdbscan, description="HDBSCAN density clusters, noise to the nearest cluster")
    register("kmeans", labelling_factories.kmeans, description="k-means with the maximum cluster count")
