"""Every hook asdbench calls, with when it is called and what it receives: the hooks, and nothing else.

A plugin is a module (or object) with functions marked ``@hookimpl``, published through the entry-point group
``asdbench`` of its distribution::

    # pyproject.toml of your distribution
    [project.entry-points.asdbench]
    my_methods = "my_package.plugin"

    # my_package/plugin.py
    from asdbench.api import builds, hookimpl

    @builds("my_package.backends:MyBackend")   # imported when a run builds it, not when plugins load
    def my_backend(*, k: int = 1):             # a light factory: its keyword parameters are the options
        \"\"\"Mean distance to the k nearest training embeddings.\"\"\"

    @hookimpl
    def asdbench_register_backends(register):
        register("my-backend", my_backend, description="...")

Each registration hook is called once per process with a ``register(name, factory, **meta)`` callable. How the
core calls each kind's factory and the registration ``meta`` keys are in :mod:`asdbench.contract.kinds`; what
each factory returns, in :mod:`asdbench.contract.protocols`; the option constraints, in
:mod:`asdbench.contract.constraints`; how a factory stub builds its class, in :mod:`asdbench.contract.builds`.
:mod:`asdbench.api` is everything a plugin may import, and ``docs/plugins.md`` is the guide, with a complete
plugin that the test suite runs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import pluggy

PROJECT = "asdbench"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


class Register(Protocol):
    """The callable each registration hook receives: ``register(name, factory, **meta)``."""

    def __call__(self, name: str, factory: Callable[..., Any], **meta: Any) -> None: ...


# --- Registration hooks, one per kind ---------------------------------------------------------------------


@hookspec
def asdbench_register_frontends(register: Register) -> None:
    """Register frontends: ``factory(**options)`` -> :class:`~asdbench.contract.protocols.Frontend`."""


@hookspec
def asdbench_register_networks(register: Register) -> None:
    """Register networks: ``factory(input_shape, /, **options)`` -> :class:`~asdbench.contract.protocols.Network`."""


@hookspec
def asdbench_register_losses(register: Register) -> None:
    """Register losses: ``factory(branch_dims, num_classes, /, **options)`` -> :class:`~asdbench.contract.protocols.Loss`."""


@hookspec
def asdbench_register_augmentations(register: Register) -> None:
    """Register augmentations: ``factory(**options)`` -> :class:`~asdbench.contract.protocols.Augmentation`."""


@hookspec
def asdbench_register_backends(register: Register) -> None:
    """Register backends: ``factory(**options)`` -> :class:`~asdbench.contract.protocols.Backend`."""


@hookspec
def asdbench_register_feature_spaces(register: Register) -> None:
    """Register feature spaces: ``factory(context: FeatureSpaceContext, /, **options)`` -> :class:`~asdbench.contract.protocols.FeatureSpace`."""


@hookspec
def asdbench_register_reducers(register: Register) -> None:
    """Register dimensionality reducers: ``factory(**options)`` -> :class:`~asdbench.contract.protocols.Reducer`."""


@hookspec
def asdbench_register_clusterers(register: Register) -> None:
    """Register clusterers: ``factory(**options)`` -> :class:`~asdbench.contract.protocols.Clusterer`."""


@hookspec
def asdbench_register_datasets(register: Register) -> None:
    """Register datasets: ``factory(**options)`` (the spec's ``[dataset]`` table, e.g. ``root``) -> :class:`~asdbench.contract.protocols.Dataset`."""


# --- Lifecycle hooks --------------------------------------------------------------------------------------


# Called in the process that does the work (a pool process or a Dask worker in a grid), in this order for a run
# that trains: run_started, then epoch_finished after every epoch, then run_finished. A lifecycle hook that raises
# stops the run it was called for, which is recorded as failed: a tracker that may fail should catch its errors.


@hookspec
def asdbench_run_started(run_dir: Path, spec: dict[str, Any]) -> None:
    """Called when a run starts, before its training (if it needs one) or its scoring.

    ``run_dir``: the run's directory, ``<store>/<training hash>/<scoring hash>`` (it may not exist yet).
    ``spec``: the run's canonical spec (every default filled in), as its ``spec.json`` will hold it.
    """


@hookspec
def asdbench_epoch_finished(training_dir: Path, training: dict[str, Any], epoch: int, epochs: int, loss: float,
                            seconds: float, machine: str | None) -> None:
    """Called after each epoch of a training, once its checkpoint is saved (e.g. to log the loss curve).

    ``training_dir``: the training's directory, ``<store>/<training hash>``; runs that differ only in how they
    score share it, and this hook is called once per epoch of it, not once per run. ``training``: its identity
    (the training part of the canonical spec, as its ``training.json`` holds it). ``epoch``: the epoch just
    trained, from 1, of ``epochs`` (``train.epochs``); a resumed training goes on from the epoch after its last
    saved one. ``loss``: the epoch's mean training loss. ``seconds``: its wall time, saving included (for
    stacked seeds, the stacked epoch's). Not called for a training with ``train.epochs = 0``, nor for the epochs
    trained again only to re-create a checkpoint that a finished training did not keep. ``machine``: None for a
    training's one shared model; with ``train.machinewise``, the name of the model that trained the epoch: its
    machine type, or ``<split>.<machine>`` with ``machinewise = "split"`` (each model trains its ``epochs`` epochs
    in turn). An implementation may leave out any parameter.
    """


@hookspec
def asdbench_run_finished(run_dir: Path, spec: dict[str, Any], results: dict[str, Any]) -> None:
    """Called when a run has written its ``results.json`` (e.g. to export the metrics).

    ``run_dir`` and ``spec``: as for :func:`asdbench_run_started`. ``results``: what ``results.json`` holds: the
    ``training`` and ``scoring`` hashes, ``splits`` (per split, the official score, its ci95, the means and each
    machine section's metrics; None for a split without ground truth) and the score files written.
    """
