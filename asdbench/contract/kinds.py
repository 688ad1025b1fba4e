"""The kinds of component: their names, how the core calls each kind's factory, what it returns, and the
``meta`` a registration may carry.

The core calls a factory as ``factory(*runtime, **options)``: first the runtime arguments of its kind
(:attr:`Kind.runtime`: a network gets ``input_shape``), which must be positional-only parameters (``def
factory(input_shape, /, *, embedding_dim=128)``), then those of its kind's optional runtime arguments
(:attr:`Kind.optional_runtime`) that the factory declares, as positional-only parameters after those, by name (a
network with a head of its own: ``def factory(input_shape, num_classes, /, *, alpha=0.5)``), then the options a run
spec gives, by keyword (``[system.backend]
name = "knn", k = 3`` calls ``factory(k=3)``). The keyword parameters after the runtime ones, with their defaults
and their constraints (:mod:`asdbench.contract.constraints`), are the component's options: validated and filled in
before a run starts. A factory declared otherwise, a ``meta`` key not in :data:`REGISTRATION_META`, or a hook whose
name is not one of :mod:`asdbench.hookspecs`, is refused when the plugin loads, naming it (``asdbench plugins``
lists these).

Errors: a component raises an :class:`asdbench.errors.AsdbenchError` (subclass) for what the user can fix; it is
shown as it is. Any other exception from a factory or component method is reported in one line naming the kind,
name and distribution (:mod:`asdbench.contract.boundary`). A name registered twice in one kind is an error naming
both plugins, raised when that name is used (the plugins' other names keep working).
"""

from __future__ import annotations

from dataclasses import dataclass

from asdbench.contract.protocols import (
    Augmentation,
    Backend,
    Clusterer,
    Dataset,
    FeatureSpace,
    Frontend,
    Loss,
    Network,
    Reducer,
)


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
    optional_runtime: tuple[str, ...] = ()
    """Arguments the core passes after :attr:`runtime` only to a factory that declares them, in this order, as
    positional-only parameters of these names."""

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
        optional = "".join(f"[{arg}, ]" for arg in self.optional_runtime)
        runtime = "".join(f"{arg}, " for arg in self.runtime)
        return f"factory({runtime}{optional}{'/, ' if self.runtime else ''}**options)"


CONTRACTS: dict[str, Kind] = {kind.name: kind for kind in (
    Kind("frontends", "frontend", (), Frontend),
    Kind("networks", "network", ("input_shape",), Network, ("num_classes",)),
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


REGISTRATION_META: dict[str, str] = {
    "description": "a line that `asdbench plugins` shows",
    "fetch_weights": "callable(dest_dir=None) -> Path: downloads the component's published weights "
                     "(`asdbench models fetch NAME`)",
    "unit_class": "True on a backend: its fit is called as fit(embeddings, domains, class_index=i), i the index of "
                  "the unit's class among its model's classes, which needs system.labels = \"section\" (see "
                  "protocols.Backend)",
    "raw_embeddings": "True on a backend: it scores z_cat as the networks output it, and needs "
                      "system.embeddings = \"raw\" (see protocols.Backend)",
    "uses_system": "True on a feature space: the run's system and training options (its training identity) shape "
                   "its pseudo-label table, for a space that trains the run's own system through context.systems",
    "not_stackable": "\"why\" on a frontend or network: train.stack_seeds > 1 is a spec error giving the reason "
                     "(a component torch.func.vmap cannot run per seed)",
    "aux_only": "\"why\" on a loss: an auxiliary term only; system.loss naming it is a spec error giving the reason",
    "check_input": "callable() -> the tiny input `plugins --check` runs the component on in place of its kind's: a "
                   "network's input_shape, a loss's branch_dims, a backend's (training embeddings, their domains, test "
                   "embeddings); for a component made for inputs of its own (a reconstruction system's)",
    "omit_defaults": "(\"option\", ...): options left out of a run's canonical form, and so of its identity, while "
                     "they hold their default (options added to a component that runs were already made with)",
}
"""Every key a registration's ``meta`` may hold, with what it means; another key is refused, naming it."""

