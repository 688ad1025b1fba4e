"""The factories that ``plugin.py`` registers: each declares its component's options, once, in its signature.

asdbench reads a component's options from its factory's signature (``asdbench spec`` validates and fills them
in), and ``asdbench plugins`` lists every registration; neither builds anything. Each factory here is a stub
made by ``asdbench.api.builds``: calling it imports its product class (torch, scikit-learn, UMAP) only then and
builds it with every option, the defaults filled in from the signature; the classes take their options
keyword-only, without defaults. Runtime arguments come first, positional-only: a network's ``input_shape``, a
loss's ``branch_dims`` and ``num_classes``. The pseudo-labelling components' factories are in
:mod:`asdbench_methods.labelling_factories`, made the same way.

Each option's range is declared in its annotation (``Annotated[int, Range(ge=1)]``, see asdbench.hookspecs), so
that ``asdbench spec``, ``grid`` and ``run`` refuse a bad value before reading any data, and building refuses it
too; the classes check only what no annotation can hold: rules across options (stft's ``f_min < f_max``), on the
runtime arguments (a network's input shape) and on the data (kmeans-target's and asdkit-kmeans's clusters
against a machine's source clips).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated

from asdbench.api import (
    Backend,
    Frontend,
    OneOf,
    Range,
    Satisfies,
    builds,
)

if TYPE_CHECKING:
    import numpy as np
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


@builds("asdbench_methods.frontends:Spectrum")
def spectrum() -> Frontend:
    """The paper's spectrum branch input: |DFT| of the whole clip."""


@builds("asdbench_methods.frontends:STFT")
def stft(*, n_fft: FFTSize = 1024, f_min: Annotated[float, Range(ge=0, lt=NYQUIST)] = 200.0,
         f_max: Annotated[float, Range(gt=0, le=NYQUIST)] = 8000.0, temporal_norm: bool = False) -> Frontend:
    """Linear-magnitude STFT, Hann window, hop n_fft / 2, the bins from f_min to f_max.

    ``n_fft``: FFT size in samples (a power of two); the hop is n_fft / 2.
    ``f_min``: the lowest frequency kept, in Hz.
    ``f_max``: the highest frequency kept, in Hz.
    ``temporal_norm``: subtract each bin's mean over time (the published 4096 branch, through a typo).
    """


@builds("asdbench_methods.logmel:LogMel")
def log_mel(*, n_mels: Positive = 128, frames: Positive = 5, frame_hop: Positive = 1, n_fft: FFTSize = 1024,
            hop_length: Positive = 512, power: Annotated[float, Range(gt=0)] = 2.0,
            f_min: Annotated[float, Range(ge=0, lt=NYQUIST)] = 0.0,
            f_max: Annotated[float, Range(gt=0, le=NYQUIST)] = 8000.0,
            pad_mode: Annotated[str, OneOf("constant", "reflect")] = "constant",
            train_frame_hop: Annotated[int, Range(ge=0)] = 0) -> Frontend:
    """The DCASE baseline's features: log-mel energies (librosa's filter bank) stacked into context vectors.

    Defaults from nttcslab/dcase2023_task2_baseline_ae, ``baseline.yaml`` at commit 9b64dc4 (``--n_mels`` ...
    ``--win_length``: the window is n_fft samples long, as the baseline's ``win_length: null``).

    ``n_mels``: mel bands (the baseline's ``n_mels``: 128).
    ``frames``: consecutive frames stacked into one vector of n_mels * frames values (``frames``: 5).
    ``frame_hop``: keep every frame_hop-th vector (``frame_hop_length``: 1).
    ``n_fft``: FFT size and window length in samples (``n_fft``: 1024).
    ``hop_length``: STFT hop in samples (``hop_length``: 512).
    ``power``: exponent of the magnitude before the mel filter bank (``power``: 2.0, energies).
    ``f_min``: lowest mel filter edge in Hz (``fmin``: 0.0).
    ``f_max``: highest mel filter edge in Hz (``fmax``: null, which librosa takes as 8000 Hz at 16 kHz).
    ``pad_mode``: how the centred STFT pads the clip's ends: "constant" (zeros, librosa >= 0.7's
    ``melspectrogram`` default, the 2022-2026 baselines') or "reflect" (librosa 0.6.0's, which the 2021
    MobileNetV2 baseline pins: its ``stft`` defaults to ``pad_mode='reflect'``).
    ``train_frame_hop``: in training only, keep every train_frame_hop-th vector instead (0: frame_hop); the
    2021/2022 MobileNetV2 baseline trains on every 8th vector (``n_hop_frames: 8``) and tests on every one.

    Both options added after runs were made with this frontend: left out of a run's identity at their defaults.
    """


# --- networks ---------------------------------------------------------------------------------------------


@builds("asdbench_methods.networks:SpectrumNetwork")
def spectrum_cnn(input_shape: tuple[int, ...], /, *, embedding_dim: Positive = 128) -> nn.Module:
    """The paper's spectrum branch: strided Conv1d and SE blocks, then a dense stack.

    ``embedding_dim``: size of the branch embedding.
    """


@builds("asdbench_methods.networks:SpectrogramNetwork")
def spectrogram_resnet(input_shape: tuple[int, ...], /, *, embedding_dim: Positive = 128) -> nn.Module:
    """The paper's spectrogram branch: an SE-ResNet, max over time.

    ``embedding_dim``: size of the branch embedding.
    """


@builds("asdbench_methods.autoencoder:DCASEAutoencoder")
def dcase_ae(input_shape: tuple[int, ...], /, *, hidden_dim: Positive = 128, bottleneck_dim: Positive = 8,
             block: Positive = 128) -> nn.Module:
    """The DCASE baseline's fully connected autoencoder; embeds a clip as its reconstruction-error statistics.

    Layers of nttcslab/dcase2023_task2_baseline_ae at 9b64dc4, ``networks/dcase2023t2_ae/network.py``.

    ``hidden_dim``: units of each of the four hidden layers of the encoder and of the decoder (128).
    ``bottleneck_dim``: units of the code between them (8).
    ``block``: width of the rows the residual is cut into for the Mahalanobis statistics: the frontend's n_mels
    (the baseline's ``block_size``).
    """


def dcase_ae_check_input() -> tuple[int, int]:
    """``plugins --check``'s input to ``dcase-ae``: 28 vectors of 640 values (a 1 s clip's log-mel vectors)."""
    return (28, 640)


@builds("asdbench_methods.mobilenet:DCASEMobileNetV2")
def dcase_mobilenetv2(input_shape: tuple[int, ...], num_classes: int, /, *,
                      alpha: Annotated[float, Range(gt=0)] = 0.5, frames: Positive = 64) -> nn.Module:
    """The DCASE 2021/2022 MobileNetV2 baseline's section classifier; embeds a clip as the mean over its images of
    per-class cross-entropies and 2022 and 2021 scores (3 x num_classes values).

    ``keras_model.py`` of y-kawagu/dcase2021_task2_baseline_mobile_net_v2 (e2bb4f7) and
    Kota-Dohi/dcase2022_task2_baseline_mobile_net_v2 (aaf3932): Keras's MobileNetV2 with a softmax head of one class
    per section, on 64 x 128 log-mel images in three identical channels.

    ``alpha``: MobileNetV2's width multiplier (the baseline's 0.5).
    ``frames``: rows of each image, the frontend's frames per vector (``n_frames``: 64); the columns are its mel
    bins.
    """


def dcase_mobilenetv2_check_input() -> tuple[int, int]:
    """``plugins --check``'s input to ``dcase-mobilenetv2``: 2 vectors of 64 frames of 128 mel bins."""
    return (2, 64 * 128)


# --- losses -----------------------------------------------------------------------------------------------


@builds("asdbench_methods.losses:SubClusterAdaCos")
def scac(branch_dims: Sequence[int], num_classes: int, /, *, subclusters: Positive = 16,
         trainable_centres: bool = False) -> nn.Module:
    """Sub-cluster AdaCos on z_cat, fixed scale (the paper's main loss).

    ``subclusters``: sub-cluster centres per class.
    ``trainable_centres``: learn the centres (the paper keeps them fixed).
    """


@builds("asdbench_methods.losses:AdaCos")
def adacos(branch_dims: Sequence[int], num_classes: int, /, *, trainable_centres: bool = False) -> nn.Module:
    """AdaCos with its adaptive scale on z_cat.

    ``trainable_centres``: learn the class centres (AdaCos keeps them fixed).
    """


@builds("asdbench_methods.losses:ArcFace")
def arcface(branch_dims: Sequence[int], num_classes: int, /, *,
            margin: Annotated[float, Range(ge=0, lt=math.pi / 2)] = 0.5, scale: Annotated[float, Range(gt=0)] = 30.0,
            trainable_centres: bool = True) -> nn.Module:
    """Additive angular margin on z_cat.

    ``margin``: additive angular margin, in radians.
    ``scale``: the fixed logit scale.
    ``trainable_centres``: learn the class centres.
    """


@builds("asdbench_methods.losses:SubspaceLoss")
def subspace(branch_dims: Sequence[int], num_classes: int, /, *, subclusters: Positive = 16,
             weight: float = 1.0) -> nn.Module:
    """One trainable-centre sub-cluster head per branch (auxiliary, eq. 5).

    ``subclusters``: sub-cluster centres per class in each branch's head.
    ``weight``: the term's weight in the total loss.
    """


@builds("asdbench_methods.losses:FeatEx")
def featex(branch_dims: Sequence[int], num_classes: int, /, *, probability: Probability = 0.5,
           subclusters: Positive = 16, weight: float = 1.0) -> nn.Module:
    """Feature exchange between branches (auxiliary, eq. 2-4).

    ``probability``: chance that a sample's branch embeddings are exchanged.
    ``subclusters``: sub-cluster centres per class of its head.
    ``weight``: the term's weight in the total loss.
    """


@builds("asdbench_methods.adaproj:AdaProj")
def adaproj(branch_dims: Sequence[int], num_classes: int, /, *, subspace_dim: Positive = 32,
            trainable_subspaces: bool = False, adaptive_scale: bool = True) -> nn.Module:
    """AdaProj: cosine to each class's subspace projection, on z_cat.

    ``subspace_dim``: dimension of each class's subspace.
    ``trainable_subspaces``: learn the subspaces (AdaProj keeps them fixed).
    ``adaptive_scale``: AdaCos's adaptive scale (false: the fixed initial scale).
    """


@builds("asdbench_methods.autoencoder:ReconstructionLoss")
def reconstruction(branch_dims: Sequence[int], num_classes: int, /) -> nn.Module:
    """Mean squared reconstruction error of a reconstruction network (``dcase-ae``); ignores the labels."""


def reconstruction_check_input() -> list[int]:
    """``plugins --check``'s branch dimensions for ``reconstruction``: the statistics of rows of 4 values."""
    from asdbench_methods.errorstats import statistics_dim

    return [statistics_dim(4)]


@builds("asdbench_methods.classscores:ImageCrossEntropy")
def image_cross_entropy(branch_dims: Sequence[int], num_classes: int, /) -> nn.Module:
    """The mean categorical cross-entropy of a clip's images at its class (``dcase-mobilenetv2``; Keras's
    ``categorical_crossentropy``, ``keras_model.py``)."""


def image_cross_entropy_check_input() -> list[int]:
    """``plugins --check``'s branch dimensions for ``image-cross-entropy``: 3 blocks of the check's 3 classes."""
    return [9]


# --- augmentations ----------------------------------------------------------------------------------------


@builds("asdbench_methods.augmentations:Mixup")
def mixup(*, probability: Probability = 0.5) -> nn.Module:
    """Waveform mixup with a per-sample probability, the targets mixed alike.

    ``probability``: chance that a sample is mixed with another of the batch.
    """


@builds("asdbench_methods.augmentations:SpecAugment")
def specaug(*, time_width: Annotated[int, Range(ge=0)] = 80, time_probability: Probability = 0.5,
            freq_width: Annotated[int, Range(ge=0)] = 80, freq_probability: Probability = 0.5,
            n_fft: FFTSize = 1024, hop_length: Annotated[int, Range(ge=0)] = 0,
            window: Annotated[str, OneOf("hann", "hamming")] = "hann") -> nn.Module:
    """ASDKit's SpecAug on the waveform: STFT, a time and a frequency mask on the magnitude, inverse STFT with the
    original phase (ASDKit's defaults).

    ``time_width``: the longest time mask, in STFT frames (its width is drawn uniformly below it).
    ``time_probability``: chance that a clip gets a time mask.
    ``freq_width``: the widest frequency mask, in STFT bins.
    ``freq_probability``: chance that a clip gets a frequency mask.
    ``n_fft``: the STFT's window length (and FFT size).
    ``hop_length``: the STFT's hop, in samples; 0 is n_fft // 4 (ASDKit's default, torch's).
    ``window``: the STFT's window, periodic.
    """


# --- backends ---------------------------------------------------------------------------------------------


@builds("asdbench_methods.backends:KNNBackend")
def knn(*, k: Positive = 1) -> Backend:
    """Mean cosine distance to the k nearest training embeddings of both domains.

    ``k``: neighbours each score averages.
    """


@builds("asdbench_methods.backends:TargetKMeansBackend")
def kmeans_target(*, clusters: Positive = 16, seed: Seed = 0, normalise_centres: bool = False) -> Backend:
    """The paper's: min 1 - e.c over the source k-means centres and every target clip.

    ``clusters``: k-means centres of each machine's source embeddings.
    ``seed``: k-means's random state.
    ``normalise_centres``: re-normalise the centres (a true cosine; not the published system).
    """


@builds("asdbench_methods.backends:ASDKitKMeansBackend")
def asdkit_kmeans(*, clusters: Positive = 16, seed: Seed = 0) -> Backend:
    """ASDKit's Kmeans: kmeans-target with re-normalised centres.

    ``clusters``: k-means centres of each machine's source embeddings.
    ``seed``: k-means's random state.
    """


@builds("asdbench_methods.knnsmote:ASDKitKNNBackend")
def asdkit_knn(*, k_source: Positive = 1, k_target: Positive = 1) -> Backend:
    """ASDKit's Knn without SMOTE.

    ``k_source``: neighbours in the source bank.
    ``k_target``: neighbours in the target bank.
    """


@builds("asdbench_methods.knnsmote:SMOTEKNNBackend")
def knn_smote(*, k_source: Positive = 1, k_target: Positive = 1, smote_ratio: Probability = 0.2,
              smote_neighbors: Positive = 2, seed: Seed = 0) -> Backend:
    """ASDKit's Knn with SMOTE on the target embeddings.

    ``k_source``: neighbours in the source bank.
    ``k_target``: neighbours in the target bank.
    ``smote_ratio``: target clips after oversampling, as a fraction of the source clips.
    ``smote_neighbors``: neighbours SMOTE interpolates between.
    ``seed``: SMOTE's random state.
    """


@builds("asdbench_methods.genrep:GenRepBackend")
def genrep(*, k: Positive = 1, mix_support: Annotated[int, Range(ge=0)] = 990, alpha: Probability = 0.9,
           domain_normalisation: bool = True) -> Backend:
    """GenRep's scoring: kNN per domain, MemMixup targets, domain normalisation.

    ``k``: neighbours in each domain's bank.
    ``mix_support``: source clips each target clip is mixed with (MemMixup); more than a machine has: all.
    ``alpha``: the target clip's weight in each mixture.
    ``domain_normalisation``: standardise each domain's distances over the clips scored together.
    """


@builds("asdbench_methods.reconstruction:ReconstructionMSEBackend")
def reconstruction_mse() -> Backend:
    """The DCASE baseline's MSE score: the clip's mean squared reconstruction error."""


@builds("asdbench_methods.classscores:MobileNetScore")
def mobilenet_score(*, formula: Annotated[str, OneOf("2022", "2021")] = "2022") -> Backend:
    """The DCASE 2021/2022 MobileNetV2 baseline's score: the mean over a clip's images of a per-image score of the
    softmax output p at the clip's section (``dcase-mobilenetv2``).

    ``formula``: "2022", ``log(max(1 - p, eps)) - log(max(p, eps))`` (2022 ``01_test.py:171-172``); "2021",
    ``log(max(1 - p, eps) - log(max(p, eps)))`` (2021 ``01_test.py:168-169``, the parenthesis as written there).
    """


def mobilenet_score_check_input() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``plugins --check``'s input to ``mobilenet-score``: class blocks of 3 classes, from random logits."""
    from asdbench_methods.classscores import check_input

    return check_input()


@builds("asdbench_methods.reconstruction:SelectiveMahalanobisBackend")
def selective_mahalanobis(*, covariance_divisor: Annotated[str, OneOf("vectors", "rows")] = "vectors",
                          cross_row_terms: bool = True) -> Backend:
    """The DCASE baseline's selective Mahalanobis score: min over the source and target residual covariances.

    ``covariance_divisor``: divide each domain's scatter of residual rows by its count of feature vectors minus one
    (the baseline's) or of rows minus one (the rows' sample covariance).
    ``cross_row_terms``: the distance of the clip's mean residual row, as the baseline's reduction computes it;
    false: the mean of each row's own distance.
    """


def reconstruction_backend_check_input() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``plugins --check``'s input to the reconstruction backends: valid statistics of random residuals."""
    from asdbench_methods.errorstats import check_input

    return check_input()
