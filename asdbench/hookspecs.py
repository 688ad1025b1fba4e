"""The plugin author's reference: every hook asdbench calls, and the contract of each kind of component.

A plugin is a module (or object) with functions marked ``@hookimpl``, published through the entry-point group
``asdbench`` of its distribution::

    # pyproject.toml of your distribution
    [project.entry-points.asdbench]
    my_methods = "my_package.plugin"

    # my_package/plugin.py
    from asdbench.hookspecs import hookimpl

    def my_backend(*, k: int = 1):          # a light factory: its keyword parameters are the options
        from my_package.backends import MyBackend   # imported when a run builds it, not when plugins load
        return MyBackend(k=k)

    @hookimpl
    def asdbench_register_backends(register):
        register("my-backend", my_backend, description="...")

``docs/plugins.md`` is the guide, with a complete plugin that the test suite runs.

Registration hooks are called once per process, each with a ``register(name, factory, **meta)`` callable. The
core calls a factory as ``factory(*runtime, **options)``: first the runtime arguments of its kind (see
:data:`CONTRACTS`: a network gets ``input_shape``), which must be positional-only parameters (``def
factory(input_shape, /, *, embedding_dim=128)``), then the options a run spec gives, by keyword (``[system.backend]
name = "knn", k = 3`` calls ``factory(k=3)``). The keyword parameters after the runtime ones and their defaults
are the component's options, validated and filled in before a run starts. A factory declared otherwise, or a
hook whose name is not below, is refused when the plugin loads, naming it (``asdbench plugins`` lists these).

An option may declare constraints, which ``asdbench spec``, ``grid`` and ``run`` check (with the option's type
and finiteness) before any work, so that a bad value fails with the field named rather than mid-run: annotate
it as ``typing.Annotated[type, constraint, ...]`` with the classes below (:class:`Range`, :class:`OneOf`,
:class:`Satisfies`)::

    def my_backend(*, k: Annotated[int, Range(ge=1)] = 1, metric: Annotated[str, OneOf("cosine", "l2")] = "cosine"):

An option's annotation must then be resolvable at run time (import ``Annotated`` and the constraints at the top
of the module, not under ``TYPE_CHECKING``); a factory the core cannot read this way is refused, naming it.

``meta`` is shown by ``asdbench plugins``: ``description=`` is the conventional key; a feature space that needs
published weights (or any component that does) passes ``fetch_weights=callable(dest_dir=None) -> Path``
(``asdbench models fetch NAME``);
``raw_embeddings=True`` on a backend: it scores z_cat as the networks output it (``system.embeddings = "raw"``,
see :class:`Backend`).
``uses_system=True`` on a feature space adds the run's system and training options (its training identity,
not how it is scored) to the identity of its cached pseudo-label table (for a space that trains the run's own
system through ``context.systems``, such as ``class``).
``not_stackable="why"`` on a frontend or network makes ``train.stack_seeds`` > 1 a spec error that gives the reason
(for a component that ``torch.func.vmap`` cannot run per seed, see asdbench.training.stacked).
``aux_only="why"`` on a loss: it is an auxiliary term only, and ``system.loss`` naming it is a spec error that gives
the reason (it stays usable as ``system.aux``).
``omit_defaults=("option", ...)`` on any component leaves those options out of a run's canonical form, and so
out of its identity, while they hold their default: give it the options you add to a component that runs were
already made with, and those runs keep their identity (the core's ``synth`` dataset does so for ``supplemental``
and ``channel``).

Errors: raise an :class:`asdbench.errors.AsdbenchError` (subclass) for what the user can fix; it is shown as
it is. Any other exception from a factory or component method is reported in one line naming the kind, name
and distribution. ``asdbench plugins --check`` builds every component with its defaults, runs it on a tiny
input and checks the shapes below. A name registered twice in one kind is an error naming both plugins,
raised when that name is used (the plugins' other names keep working).
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


# --- Option constraints ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Range:
    """A number's bounds: ``Annotated[int, Range(ge=1)]``, ``Annotated[float, Range(ge=0, le=1)]``.

    ``ge``/``le`` include the bound, ``gt``/``lt`` exclude it (as in pydantic's ``Field``).
    """

    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None

    @property
    def expected(self) -> str:
        bounds = [f"{symbol} {bound:g}" for symbol, bound in
                  ((">=", self.ge), (">", self.gt), ("<=", self.le), ("<", self.lt)) if bound is not None]
        return "a number " + " and ".join(bounds)

    def allows(self, value: Any) -> bool:
        return ((self.ge is None or value >= self.ge) and (self.gt is None or value > self.gt)
                and (self.le is None or value <= self.le) and (self.lt is None or value < self.lt))


@dataclass(frozen=True, init=False)
class OneOf:
    """The values an option may take: ``Annotated[str, OneOf("full", "diag")]``."""

    choices: tuple[Any, ...]

    def __init__(self, *choices: Any) -> None:
        object.__setattr__(self, "choices", choices)

    @property
    def expected(self) -> str:
        return "one of " + ", ".join(repr(choice) for choice in self.choices)

    def allows(self, value: Any) -> bool:
        return value in self.choices


@dataclass(frozen=True)
class Satisfies:
    """Any other rule, with what it expects in words: ``Annotated[int, Satisfies(is_power_of_two, "a power of
    two")]``. The predicate gets a value of the option's type and must be light (it runs in ``asdbench spec``)."""

    predicate: Callable[[Any], bool]
    expected: str

    def allows(self, value: Any) -> bool:
        return bool(self.predicate(value))


CONSTRAINTS: tuple[type, ...] = (Range, OneOf, Satisfies)
"""The constraint classes an option's ``Annotated`` metadata may hold; other metadata is ignored."""


# --- What each kind's factory returns ---------------------------------------------------------------------


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
    """One per machine and checkpoint: ``fit`` on the training embeddings ``(N, D)`` and their domains ("source" /
    "target"), then ``score(embeddings (M, D))`` -> ``(M,)`` finite scores, higher meaning more anomalous.

    Every embedding is z_cat, L2-normalised, unless the run's spec sets ``system.embeddings = "raw"``: then it is
    z_cat as the networks output it. Only a backend registered with ``raw_embeddings=True`` takes raw ones, and
    such a backend needs them (spec validation holds both; for distances on unnormalised features, as GenRep's
    on pretrained ones). ``score`` is also called on the training embeddings (their scores
    set the decision threshold). A backend that cannot fit some data (too few clips of a domain) may have
    ``check_data(domains)``: it is called with each machine's training domains before any training, and raises
    an ``AsdbenchError`` saying what is missing.
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
    machine of a labelling), seeded by its options."""

    def fit_transform(self, embeddings: np.ndarray) -> np.ndarray: ...


@runtime_checkable
class Clusterer(Protocol):
    """``fit_predict(points (N, d), max_clusters)`` -> ``(N,)`` integer cluster indices, at most ``max_clusters``
    distinct; a fresh fit per call (one instance serves every machine and domain of a labelling)."""

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


@runtime_checkable
class FeatureSpace(Protocol):
    """``embed(manifest)`` of one machine's train and test rows -> ``(N, D)`` finite floats, one row per manifest
    row, to reduce and cluster; or ``(N,)`` class names, used as labels directly (``ground-truth`` does this)."""

    def embed(self, manifest: pd.DataFrame) -> np.ndarray: ...


# --- The kinds --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    """One kind of component: its names, how the core calls its factories, and what they must return."""

    name: str
    """Plural, as in its hook ``asdbench_register_<name>`` and in ``asdbench plugins``: ``"feature_spaces"``."""
    singular: str
    """For messages: ``"feature space"``."""
    runtime: tuple[str, ...]
    """The arguments the core passes before the options; the factory's leading positional-only parameters."""
    protocol: type
    """What the factory returns."""

    @property
    def hook(self) -> str:
        return f"asdbench_register_{self.name}"

    def members(self) -> tuple[str, ...]:
        """What a product must have: the protocol's attributes and methods (``__call__``: being callable)."""
        methods = [name for name, value in vars(self.protocol).items()
                   if callable(value) and (name == "__call__" or not name.startswith("_"))]
        return (*vars(self.protocol).get("__annotations__", {}), *methods)

    def call_form(self) -> str:
        """How the core calls a factory of this kind, for messages: ``factory(input_shape, /, **options)``."""
        return f"factory({''.join(f'{arg}, ' for arg in self.runtime)}{'/, ' if self.runtime else ''}**options)"


CONTRACTS: dict[str, Kind] = {kind.name: kind for kind in (
    Kind("frontends", "frontend", (), Frontend),
    Kind("networks", "network", ("input_shape",), Network),
    Kind("losses", "loss", ("branch_dims", "num_classes"), Loss),
    Kind("augmentations", "augmentation", (), Augmentation),
    Kind("backends", "backend", (), Backend),
    Kind("feature_spaces", "feature space", ("context",), FeatureSpace),
    Kind("reducers", "reducer", (), Reducer),
    Kind("clusterers", "clusterer", (), Clusterer),
    Kind("datasets", "dataset", (), Dataset),
)}
"""Every kind, by plural name, in the order ``asdbench plugins`` lists them."""

KINDS: tuple[str, ...] = tuple(CONTRACTS)
"""The plural names of :data:`CONTRACTS`."""


def singular(kind: str) -> str:
    """``"feature space"`` for ``"feature_spaces"``: the name of one component of ``kind``, for messages."""
    return CONTRACTS[kind].singular


# --- Registration hooks, one per kind ---------------------------------------------------------------------


@hookspec
def asdbench_register_frontends(register: Register) -> None:
    """Register frontends: ``factory(**options)`` -> :class:`Frontend`."""


@hookspec
def asdbench_register_networks(register: Register) -> None:
    """Register networks: ``factory(input_shape, /, **options)`` -> :class:`Network`."""


@hookspec
def asdbench_register_losses(register: Register) -> None:
    """Register losses: ``factory(branch_dims, num_classes, /, **options)`` -> :class:`Loss`."""


@hookspec
def asdbench_register_augmentations(register: Register) -> None:
    """Register augmentations: ``factory(**options)`` -> :class:`Augmentation`."""


@hookspec
def asdbench_register_backends(register: Register) -> None:
    """Register backends: ``factory(**options)`` -> :class:`Backend`."""


@hookspec
def asdbench_register_feature_spaces(register: Register) -> None:
    """Register feature spaces: ``factory(context: FeatureSpaceContext, /, **options)`` -> :class:`FeatureSpace`."""


@hookspec
def asdbench_register_reducers(register: Register) -> None:
    """Register dimensionality reducers: ``factory(**options)`` -> :class:`Reducer`."""


@hookspec
def asdbench_register_clusterers(register: Register) -> None:
    """Register clusterers: ``factory(**options)`` -> :class:`Clusterer`."""


@hookspec
def asdbench_register_datasets(register: Register) -> None:
    """Register datasets: ``factory(**options)`` (the spec's ``[dataset]`` table, e.g. ``root``) -> :class:`Dataset`."""


# --- Lifecycle hooks --------------------------------------------------------------------------------------


@hookspec
def asdbench_run_started(run_dir: Path, spec: dict[str, Any]) -> None:
    """Called when a run starts, with its directory and canonical spec (e.g. to open an experiment logger)."""


@hookspec
def asdbench_run_finished(run_dir: Path, spec: dict[str, Any], results: dict[str, Any]) -> None:
    """Called when a run has written its results, with the metrics per split (e.g. to export them)."""
