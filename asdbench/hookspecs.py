"""The plugin author's reference: every hook asdbench calls, and the protocol of what each kind registers.

A plugin is a module (or object) with functions marked ``@hookimpl``, published through the entry-point group
``asdbench`` of its distribution::

    # pyproject.toml of your distribution
    [project.entry-points.asdbench]
    my_methods = "my_package.plugin"

    # my_package/plugin.py
    from asdbench.hookspecs import hookimpl

    @hookimpl
    def asdbench_register_backends(register):
        register("my-backend", MyBackend, description="...")

Registration hooks are called once per process, each with a ``register(name, factory, **meta)`` callable. The
factory is called with the options a run spec gives for that component (``[system.backend] name = "knn",
k = 3`` calls ``factory(k=3)``); its keyword parameters and their defaults are the component's options, so
they are validated and filled in before a run starts. ``meta`` is free-form and shown by ``asdbench plugins``
(``description=`` is the conventional key; a feature space that needs published weights passes
``fetch_weights=callable(dest_dir=None) -> Path``, which ``asdbench models fetch NAME`` calls). A name
registered twice, in one kind, is an error naming both plugins, raised when that name is used (the plugins'
other names keep working).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import pluggy

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import torch

PROJECT = "asdbench"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


class Register(Protocol):
    """The callable each registration hook receives."""

    def __call__(self, name: str, factory: Callable[..., Any], **meta: Any) -> None: ...


# --- What each kind's factory returns ---------------------------------------------------------------------


@runtime_checkable
class Frontend(Protocol):
    """A ``torch.nn.Module`` turning a batch of 16 kHz waveforms ``(B, L)`` into features.

    ``forward`` returns ``(B, F)`` for a spectrum or ``(B, F, T)`` for a spectrogram; ``output_shape(L)`` gives
    that shape without the batch dimension, so networks can be built before any audio is seen.
    """

    def __call__(self, waveforms: torch.Tensor) -> torch.Tensor: ...

    def output_shape(self, num_samples: int) -> tuple[int, ...]: ...


@runtime_checkable
class Backend(Protocol):
    """Scores test embeddings of one machine given that machine's training embeddings.

    ``fit`` receives the training embeddings ``(N, D)`` and their domains (an array of "source"/"target");
    ``score`` returns one anomaly score per test embedding, higher meaning more anomalous.
    """

    def fit(self, embeddings: np.ndarray, domains: np.ndarray) -> None: ...

    def score(self, embeddings: np.ndarray) -> np.ndarray: ...


@runtime_checkable
class Dataset(Protocol):
    """A dataset on disk: ``manifest(split)`` returns the clip table of that split (see asdbench.data.dcase).

    A dataset may also have ``fingerprint(splits) -> str``, an identity of what its files hold now: runs record
    it, and the store refuses to reuse a run, a checkpoint or a label table made on other data. Without one,
    the store cannot tell that data changed under a run.
    """

    name: str
    year: int

    def manifest(self, split: str) -> pd.DataFrame: ...


class Reducer(Protocol):
    """Maps embeddings ``(N, D)`` to a lower-dimensional space ``(N, d)``; seeded by its options.

    One instance serves every machine of a labelling: each call is a fresh fit, keeping nothing between calls.
    """

    def fit_transform(self, embeddings: np.ndarray) -> np.ndarray: ...


class Clusterer(Protocol):
    """Assigns a cluster index to each point of ``(N, d)``, choosing at most ``max_clusters`` clusters.

    One instance serves every machine and domain of a labelling: each call is a fresh fit, keeping nothing.
    """

    def fit_predict(self, points: np.ndarray, max_clusters: int) -> np.ndarray: ...


class TrainedSystems(Protocol):
    """Trains, finds or waits for a system on the data of the run being pseudo-labelled.

    ``embeddings(system, epoch)`` trains ``system`` (a ``[system]`` table) with that run's dataset, seed and
    training options, as an ordinary training in the run store (so a grid that also runs it trains it once),
    and returns its z_cat of every clip at ``epoch``, keyed ``<split>.<machine>.<train|test>`` (rows in
    manifest order).
    """

    def embeddings(self, system: dict[str, Any], epoch: int) -> dict[str, np.ndarray]: ...


@dataclass(frozen=True)
class FeatureSpaceContext:
    """What a feature space factory receives (positionally) besides its options.

    ``dataset``, ``system``, ``train`` and ``seed`` are the canonical sections of the run being pseudo-labelled;
    ``manifests`` maps each split to its manifest (a ``triplet`` space mixes in other machines' sounds);
    ``work_dir`` is this feature space's own directory, shared by all machines, where it may keep models it
    trained; ``systems`` trains the run's own system, or a variant of it, and gives its embeddings (a
    ``class`` space does this).
    """

    dataset: dict[str, Any]
    system: dict[str, Any]
    train: dict[str, Any]
    seed: int
    manifests: dict[str, pd.DataFrame]
    work_dir: Path
    systems: TrainedSystems


class FeatureSpace(Protocol):
    """Embeds every clip of one machine (``manifest`` holds its train and test rows) for pseudo-labelling.

    Returns ``(N, D)`` float embeddings, one row per manifest row, which are reduced and clustered; or a 1-D
    array of N class names, which are used as labels directly (the ``ground-truth`` space does this).
    """

    def embed(self, manifest: pd.DataFrame) -> np.ndarray: ...


# --- Registration hooks, one per kind ---------------------------------------------------------------------


@hookspec
def asdbench_register_frontends(register: Register) -> None:
    """Register frontends: factories returning a :class:`Frontend` module (e.g. ``stft`` taking ``n_fft``)."""


@hookspec
def asdbench_register_networks(register: Register) -> None:
    """Register networks: factories returning a ``torch.nn.Module`` mapping one frontend's features to ``(B, D)``."""


@hookspec
def asdbench_register_losses(register: Register) -> None:
    """Register losses: factories returning a ``torch.nn.Module`` ``(embeddings, soft targets) -> scalar``."""


@hookspec
def asdbench_register_augmentations(register: Register) -> None:
    """Register augmentations: factories returning ``(waveforms, targets, generator) -> (waveforms, targets)``."""


@hookspec
def asdbench_register_backends(register: Register) -> None:
    """Register backends: factories returning a :class:`Backend`."""


@hookspec
def asdbench_register_feature_spaces(register: Register) -> None:
    """Register feature spaces: factories ``(context: FeatureSpaceContext, /, **options)`` -> FeatureSpace."""


@hookspec
def asdbench_register_reducers(register: Register) -> None:
    """Register dimensionality reducers: factories returning a :class:`Reducer`."""


@hookspec
def asdbench_register_clusterers(register: Register) -> None:
    """Register clusterers: factories returning a :class:`Clusterer`."""


@hookspec
def asdbench_register_datasets(register: Register) -> None:
    """Register datasets: factories taking ``root`` (and dataset options) and returning a :class:`Dataset`."""


# --- Lifecycle hooks --------------------------------------------------------------------------------------


@hookspec
def asdbench_run_started(run_dir: Path, spec: dict[str, Any]) -> None:
    """Called when a run starts, with its directory and canonical spec (e.g. to open an experiment logger)."""


@hookspec
def asdbench_run_finished(run_dir: Path, spec: dict[str, Any], results: dict[str, Any]) -> None:
    """Called when a run has written its results, with the metrics per split (e.g. to export them)."""


KINDS: tuple[str, ...] = (
    "frontends",
    "networks",
    "losses",
    "augmentations",
    "backends",
    "feature_spaces",
    "reducers",
    "clusterers",
    "datasets",
)
"""Every plugin kind, in the order ``asdbench plugins`` lists them; ``asdbench_register_<kind>`` is its hook."""
