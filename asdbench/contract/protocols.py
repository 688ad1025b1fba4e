"""What each kind's factory returns, and what the core passes a feature space: the plugin contract's protocols.

:mod:`asdbench.contract.kinds` says how the core calls each kind's factory; :mod:`asdbench.contract.boundary`
checks what comes back at every call."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import torch


@runtime_checkable
class Frontend(Protocol):
    """A parameter-free ``nn.Module``: 16 kHz waveforms ``(B, L)`` -> ``(B, *output_shape(L))``.

    ``(B, F)`` for a spectrum, ``(B, F, T)`` for a spectrogram. No parameters: stacked-seed training computes
    one frontend pass for every seed.
    """

    def __call__(self, waveforms: torch.Tensor) -> torch.Tensor: ...

    def output_shape(self, num_samples: int) -> tuple[int, ...]: ...


@runtime_checkable
class Network(Protocol):
    """An ``nn.Module`` built for ``input_shape`` (its frontend's ``output_shape``, no batch dimension):
    ``(B, *input_shape)`` -> ``(B, embedding_dim)``, with an ``int`` ``embedding_dim``."""

    embedding_dim: int

    def __call__(self, features: torch.Tensor) -> torch.Tensor: ...


@runtime_checkable
class Loss(Protocol):
    """An ``nn.Module`` (main loss or ``aux``): branch embeddings ``[(B, D_i)]`` (``D_i = branch_dims[i]``) and
    soft targets ``(B, num_classes)`` -> a scalar; random draws from torch's default generator."""

    def __call__(self, branches: list[torch.Tensor], targets: torch.Tensor) -> torch.Tensor: ...


@runtime_checkable
class Augmentation(Protocol):
    """An ``nn.Module`` applied in training, before the frontends: ``(waveforms (B, L), soft targets (B, C))`` ->
    both, same shapes; random draws from torch's default generator (which the core seeds per run)."""

    def __call__(self, waveforms: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]: ...


@runtime_checkable
class Backend(Protocol):
    """One per unit (a machine section of a split) and checkpoint: ``fit`` on the training embeddings ``(N, D)`` and their domains ("source" /
    "target"), then ``score(embeddings (M, D))`` -> ``(M,)`` finite scores, higher meaning more anomalous.

    Every embedding is z_cat, L2-normalised, unless the run's spec sets ``system.embeddings = "raw"``: then it is
    z_cat as the networks output it. Only a backend registered with ``raw_embeddings=True`` takes raw ones, and
    such a backend needs them (spec validation holds both; for distances on unnormalised features, as GenRep's
    on pretrained ones). ``score`` is also called on the training embeddings (their scores
    set the decision threshold). A backend that cannot fit some data (too few clips of a domain) may have
    ``check_data(domains)``: it is called with each unit's training domains before any training, and raises
    an ``AsdbenchError`` saying what is missing. A backend registered with ``unit_class=True`` scores by the unit's
    own class: its ``fit`` is called as ``fit(embeddings, domains, class_index=i)``, ``i`` the index of the unit's
    class (under ``system.labels = "section"``, which such a backend needs) among its model's classes.
    """

    def fit(self, embeddings: np.ndarray, domains: np.ndarray) -> None: ...

    def score(self, embeddings: np.ndarray) -> np.ndarray: ...


@runtime_checkable
class Dataset(Protocol):
    """A dataset on disk: ``manifest(split)`` returns the clip table of that split (see asdbench.data.manifest).

    Training reads the rows of subset "train" and scoring those of subset "test"; rows of any other subset
    (asdbench's own readers: "supplemental") are read by nothing unless a component asks for them. Columns
    ``channels`` and ``channel`` say which channel of a file is read; a manifest without them is of mono files.

    A dataset may also have ``fingerprint(splits) -> str``, an identity of what its files hold now: runs record
    it, and the store refuses to reuse a run, a checkpoint or a label table made on other data.
    """

    name: str
    year: int

    def manifest(self, split: str) -> pd.DataFrame: ...


@runtime_checkable
class Reducer(Protocol):
    """``fit_transform(embeddings (N, D))`` -> ``(N, d)`` finite; a fresh fit per call (one instance serves every
    unit of a labelling), seeded by its options."""

    def fit_transform(self, embeddings: np.ndarray) -> np.ndarray: ...


@runtime_checkable
class Clusterer(Protocol):
    """``fit_predict(points (N, d), max_clusters)`` -> ``(N,)`` integer cluster indices, at most ``max_clusters``
    distinct; a fresh fit per call (one instance serves every unit and domain of a labelling)."""

    def fit_predict(self, points: np.ndarray, max_clusters: int) -> np.ndarray: ...


class TrainedSystems(Protocol):
    """Trains, finds or waits for a system on the data of the run being pseudo-labelled.

    ``embeddings(system, epoch)`` trains ``system`` (a ``[system]`` table) with that run's dataset, seed and
    training options, as an ordinary training in the run store (so a grid that also runs it trains it once),
    and returns its z_cat of every clip at ``epoch``, keyed ``<split>.<machine>.<section>.<train|test>``
    (:func:`asdbench.api.embedding_key`, keys of version :data:`asdbench.api.EMBEDDING_KEYS` = 2; version 1, before
    sections, had no ``<section>``; rows in
    manifest order).
    """

    def embeddings(self, system: dict[str, Any], epoch: int) -> dict[str, np.ndarray]: ...


@dataclass(frozen=True)
class FeatureSpaceContext:
    """What a feature space factory receives (positionally) besides its options.

    ``dataset``, ``system``, ``train`` and ``seed`` are the canonical sections of the run being pseudo-labelled;
    ``manifests`` maps each split to its manifest (a ``triplet`` space mixes in other machines' sounds);
    ``work_dir`` is this feature space's own directory, shared by all units, where it may keep models it
    trained (``<runs>/featurespaces/<hash>/work``: what ``embed`` returns is stored beside it, once per unit, and
    clustered by tables of every reducer and clusterer, so it depends on nothing else than the feature space's
    identity: dataset, seed, its options, and the system and training options where it registers
    ``uses_system=True``); ``systems`` trains the run's own system, or a variant of it, and gives its embeddings (a
    ``class`` space does this).
    """

    dataset: dict[str, Any]
    system: dict[str, Any]
    train: dict[str, Any]
    seed: int
    manifests: dict[str, pd.DataFrame]
    work_dir: Path
    systems: TrainedSystems


@runtime_checkable
class FeatureSpace(Protocol):
    """``embed(manifest)`` of one unit's train and test rows (one section of one machine type of one split) -> ``(N, D)`` finite floats, one row per manifest
    row, to reduce and cluster; or ``(N,)`` class names, used as labels directly (``ground-truth`` does this)."""

    def embed(self, manifest: pd.DataFrame) -> np.ndarray: ...
