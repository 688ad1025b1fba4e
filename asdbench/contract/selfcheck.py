"""``asdbench plugins --check``: every registered component built with its defaults and run on a tiny input.

Like HEAR's validator for its models, it tells a plugin author in seconds whether each component keeps its
kind's contract (asdbench.hookspecs): shapes, dtypes, finite values, a loss with a gradient. The inputs:

- frontends: a ``(2, 16000)`` float32 waveform batch (1 s at 16 kHz);
- networks: the features of a 10 s clip, tried as a spectrogram ``(F, T) = (128, 313)`` and as a spectrum
  ``(80001,)``; a network passes if it is built for, and maps, at least one of them to ``(2, embedding_dim)``; one
  that declares ``num_classes`` gets 3;
- losses: ``branch_dims = [8, 8]``, ``num_classes = 3``, unit-norm branch embeddings of 4 clips, one-hot
  targets: a finite scalar whose gradient reaches the embeddings;
- augmentations: waveforms ``(4, 16000)`` and soft targets ``(4, 3)``, in training mode: the same shapes back;
- backends: fitted on 20 unit embeddings (16 "source", 4 "target", 16-d), scoring 7 test and the 20 training
  embeddings; one registered with ``unit_class`` is told class index 0;
- reducers: 40 embeddings (16-d); clusterers: 40 points in two 2-D blobs, at most 4 clusters;
- feature spaces: built with a placeholder context (the ``[train]`` section the caller gives, by default the spec's
  defaults, seed 0, no manifests, an
  empty temporary work directory); nothing is embedded, as that needs a dataset. One that
  declares downloadable weights (``fetch_weights``) and refuses to build with an AsdbenchError (its weights are
  not in place) is skipped with its own message;
- a network that declares ``fetch_weights`` and refuses every input with an AsdbenchError (its weights are not in
  place) is skipped with its messages, as such a feature space is;
- a network, loss or backend registered with ``check_input`` (a callable) runs on what it returns instead: an input
  shape, branch dimensions, or (training embeddings, their domains, test embeddings), for components that take
  inputs of their own, such as a reconstruction network's statistics and the loss and backends that read them;
- datasets: not built (they need data on disk); their factory's signature was checked at registration.

A component whose options have no defaults is skipped; a name registered twice, and every plugin that failed
to load or registration that was refused, fails the check.
"""

from __future__ import annotations

import inspect
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import torch
from torch import nn

from asdbench.contract.boundary import (
    check_augmentation_output,
    check_clusters,
    check_frontend_output,
    check_loss,
    check_network_output,
    check_reduced,
    check_scores,
    plugin_call,
)
from asdbench.contract.protocols import FeatureSpaceContext
from asdbench.contract.registration import Registration
from asdbench.contract.registry import Registry
from asdbench.errors import AsdbenchError, ContractError, PluginCallError, PluginError

SAMPLES = 16_000
NETWORK_INPUTS: tuple[tuple[int, ...], ...] = ((128, 313), (80_001,))
"""A 10 s clip's features: 128 bands x 313 frames (hop 512), and its full spectrum."""
BRANCH_DIMS, CLASSES = [8, 8], 3


@dataclass(frozen=True)
class CheckResult:
    """One row of the check: a component (or a plugin that failed to load) and what the check found."""

    kind: str
    name: str
    distribution: str
    failed: bool
    result: str
    label: str
    """How messages name it: ``backend 'knn' (asdbench-methods 0.1.0)``."""


class _Skipped(Exception):
    """The component cannot be checked here; the message says why."""


def check_plugins(registry: Registry, *, train: Mapping[str, Any]) -> list[CheckResult]:
    """Check every registered component, then list every load failure and refused registration as failed.
    ``train``: the ``[train]`` section a feature space is built with."""
    results = [check_component(registry, registration, train=train) for registration in registry.all()]
    return results + [CheckResult("(plugin)", f.entry_point, f.distribution, True, f"failed: {f.error}",
                                  f"plugin {f.entry_point} ({f.distribution})") for f in registry.failures]


def check_component(registry: Registry, registration: Registration, *,
                    train: Mapping[str, Any] = MappingProxyType({})) -> CheckResult:
    """Build ``registration`` with its default options and run it on its kind's tiny input (a feature space with
    the ``[train]`` section ``train``)."""
    def row(failed: bool, result: str) -> CheckResult:
        return CheckResult(registration.kind, registration.name, registration.distribution, failed, result,
                           registration.label)

    if registry.is_duplicate(registration):
        return row(True, f"failed: {registry.conflicts[(registration.kind, registration.name)]}")
    required = [name for name, default in registration.options().items() if default is inspect.Parameter.empty]
    if required and registration.kind != "datasets":
        return row(False, f"skipped: no default for {', '.join(required)}")
    with torch.random.fork_rng(), torch.no_grad():
        torch.manual_seed(0)
        try:
            if registration.kind == "feature_spaces":
                return row(False, _feature_space(registry, registration, train))
            return row(False, _CHECKS[registration.kind](registry, registration))
        except _Skipped as skipped:
            return row(False, f"skipped: {skipped}")
        except AsdbenchError as error:
            return row(True, f"failed: {error}")
        except Exception as error:  # outside the plugin's own calls: e.g. a network that is not an nn.Module
            return row(True, f"failed: {type(error).__name__}: {error}")


def _frontend(registry: Registry, registration: Registration) -> str:
    frontend = registry.create("frontends", registration.name)
    waveforms = 0.1 * torch.randn(2, SAMPLES)
    with plugin_call(registration, "output_shape"):
        shape = tuple(frontend.output_shape(SAMPLES))
    with plugin_call(registration, "forward"):
        features = frontend(waveforms)
    check_frontend_output(features, 2, shape, registration)
    return f"ok: (2, {SAMPLES}) -> {tuple(features.shape)}"


def _network(registry: Registry, registration: Registration) -> str:
    problems = []
    own = registration.meta.get("check_input")
    for shape in (tuple(own()),) if own else NETWORK_INPUTS:
        try:
            network = registry.create("networks", registration.name, shape, CLASSES)
        except AsdbenchError as refused:  # not built for this kind of input: try the other
            problems.append(f"input {shape}: {refused}")
            continue
        network.eval()
        with plugin_call(registration, "forward"):
            embeddings = network(torch.rand(2, *shape))
        check_network_output(embeddings, 2, network.embedding_dim, registration)
        return f"ok: (2, {', '.join(map(str, shape))}) -> {tuple(embeddings.shape)}"
    if "fetch_weights" in registration.meta:  # its published weights are not in place: nothing to run
        raise _Skipped("; ".join(problems))
    raise PluginError(f"{registration.label} accepts none of the check's inputs: {'; '.join(problems)}")


def _loss(registry: Registry, registration: Registration) -> str:
    own = registration.meta.get("check_input")
    branch_dims = list(own()) if own else BRANCH_DIMS
    loss = registry.create("losses", registration.name, branch_dims, CLASSES)
    loss.train()
    branches = [nn.functional.normalize(torch.randn(4, dim), dim=1).requires_grad_() for dim in branch_dims]
    targets = nn.functional.one_hot(torch.tensor([0, 1, 2, 0]), CLASSES).float()
    with torch.enable_grad():
        with plugin_call(registration, "forward"):
            value = loss(branches, targets)
        check_loss(value, branches, registration)
        value.backward()
    gradients = [b.grad for b in branches if b.grad is not None]
    if not gradients or not all(bool(torch.isfinite(g).all()) for g in gradients):
        raise ContractError(f"{registration.label} broke its contract in forward(): no finite gradient reaches "
                            "the branch embeddings (see asdbench.hookspecs)")
    return f"ok: {float(value):.4g}, with gradients"


def _augmentation(registry: Registry, registration: Registration) -> str:
    augmentation = registry.create("augmentations", registration.name)
    augmentation.train()
    waveforms = 0.1 * torch.randn(4, SAMPLES)
    targets = nn.functional.one_hot(torch.tensor([0, 1, 2, 0]), CLASSES).float()
    with plugin_call(registration, "forward"):
        output = augmentation(waveforms, targets)
    check_augmentation_output(output, waveforms, targets, registration)
    return f"ok: (4, {SAMPLES}), (4, {CLASSES}) -> same shapes"


def _unit_rows(count: int, dim: int, rng: np.random.Generator) -> np.ndarray:
    rows = rng.normal(size=(count, dim))
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def _backend(registry: Registry, registration: Registration) -> str:
    rng = np.random.default_rng(0)
    own = registration.meta.get("check_input")
    if own:
        train, domains, test = own()
    else:
        train, domains, test = _unit_rows(20, 16, rng), np.array(["source"] * 16 + ["target"] * 4), _unit_rows(7, 16, rng)
    backend = registry.create("backends", registration.name)
    with plugin_call(registration, "fit"):
        backend.fit(train, domains, **({"class_index": 0} if registration.meta.get("unit_class") else {}))
    for embeddings in (test, train):
        with plugin_call(registration, "score"):
            scores = backend.score(embeddings)
        check_scores(scores, len(embeddings), registration)
    return f"ok: {len(test)} test and {len(train)} training scores"


def _reducer(registry: Registry, registration: Registration) -> str:
    reducer = registry.create("reducers", registration.name)
    with plugin_call(registration, "fit_transform"):
        reduced = reducer.fit_transform(np.random.default_rng(0).normal(size=(40, 16)))
    return f"ok: (40, 16) -> {check_reduced(reduced, 40, registration).shape}"


def _clusterer(registry: Registry, registration: Registration) -> str:
    rng = np.random.default_rng(0)
    points = np.concatenate([rng.normal(0, 0.3, (20, 2)), rng.normal(3, 0.3, (20, 2))])
    clusterer = registry.create("clusterers", registration.name)
    with plugin_call(registration, "fit_predict"):
        labels = clusterer.fit_predict(points, 4)
    return f"ok: {len(np.unique(check_clusters(labels, 40, 4, registration)))} clusters of 40 points"


def _feature_space(registry: Registry, registration: Registration, train: Mapping[str, Any]) -> str:
    with tempfile.TemporaryDirectory(prefix="asdbench-check-") as scratch:
        context = FeatureSpaceContext({}, {}, dict(train), 0, {}, Path(scratch) / "feature-space",
                                      _NoSystems())
        try:
            registry.create("feature_spaces", registration.name, context)
        except (PluginCallError, ContractError):
            raise
        except AsdbenchError as missing:
            if "fetch_weights" not in registration.meta:
                raise
            raise _Skipped(str(missing)) from None
    return "built; embed() not run (needs data)"


class _NoSystems:
    """The check builds feature spaces without data: a space that asks for a trained system at build time
    fails the check with this message."""

    def embeddings(self, system: dict[str, Any], epoch: int) -> Any:
        raise AsdbenchError("asdbench plugins --check trains no systems: a feature space must not ask for one "
                            "before embed() is called")


def _dataset(registry: Registry, registration: Registration) -> str:
    return "signature checked (needs data)"


_CHECKS: dict[str, Callable[[Registry, Registration], str]] = {
    "frontends": _frontend,
    "networks": _network,
    "losses": _loss,
    "augmentations": _augmentation,
    "backends": _backend,
    "reducers": _reducer,
    "clusterers": _clusterer,
    "datasets": _dataset,
}
