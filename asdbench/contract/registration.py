"""One registered component (its kind, name, factory, plugin and distribution), the options its factory declares,
and why a registration is refused: what the core checks of a factory before it ever calls it."""

from __future__ import annotations

import difflib
import inspect
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from asdbench.contract.kinds import CONTRACTS, REGISTRATION_META, Kind, singular


@dataclass(frozen=True)
class Registration:
    """One named factory of one kind, and where it came from."""

    kind: str
    name: str
    factory: Callable[..., Any]
    plugin: str
    distribution: str
    version: str
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """How messages name the component: ``backend 'knn' (asdbench-methods 0.1.0)``."""
        return f"{singular(self.kind)} {self.name!r} ({_source_text(self.distribution, self.version)})"

    def options(self) -> dict[str, Any]:
        """The factory's keyword options and their defaults (``inspect.Parameter.empty`` when required).

        The runtime arguments are positional-only (checked at registration), so they are not among them.
        """
        return keyword_options(self.factory)

    def optional_runtime(self) -> tuple[str, ...]:
        """The optional runtime arguments of its kind (:attr:`Kind.optional_runtime`) that its factory declares."""
        return declared_optional_runtime(CONTRACTS[self.kind], self.factory)

    def accepts_any_option(self) -> bool:
        return any(p.kind is p.VAR_KEYWORD for p in factory_signature(self.factory).parameters.values())


@dataclass(frozen=True)
class LoadFailure:
    """A plugin that could not be imported or registered, or a registration that was refused."""

    entry_point: str
    distribution: str
    version: str
    error: str

    @property
    def message(self) -> str:
        return f"{self.entry_point} ({_source_text(self.distribution, self.version)}): {self.error}"


def factory_signature(factory: Callable[..., Any]) -> inspect.Signature:
    """``inspect.signature(factory)``, except that a ``torch.nn.Module`` class without an ``__init__`` of its own
    takes nothing: ``Module.__init__``'s ``*args, **kwargs`` are there only to refuse arguments."""
    torch = sys.modules.get("torch")  # a module class cannot exist before torch is imported
    if (torch is not None and isinstance(factory, type) and issubclass(factory, torch.nn.Module)
            and factory.__init__ is torch.nn.Module.__init__):
        return inspect.Signature()
    return inspect.signature(factory)


def keyword_options(declaration: Callable[..., Any]) -> dict[str, Any]:
    """The keyword parameters of a factory (or of any callable that declares options, such as a ``[train]``
    section's) and their defaults, ``inspect.Parameter.empty`` for one without."""
    return {p.name: p.default for p in factory_signature(declaration).parameters.values()
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def declared_optional_runtime(kind: Kind, factory: Callable[..., Any]) -> tuple[str, ...]:
    """The optional runtime arguments of ``kind`` that ``factory`` declares (positional-only, after the required
    ones)."""
    parameters = list(factory_signature(factory).parameters.values())[len(kind.runtime):]
    names = [p.name for p in parameters if p.kind is p.POSITIONAL_ONLY]
    return tuple(names) if names and all(n in kind.optional_runtime for n in names) else ()


def registration_problem(kind: Kind, name: Any, factory: Any, meta: Mapping[str, Any]) -> str | None:
    """Why ``register(name, factory, **meta)`` is refused for ``kind``, or None."""
    if not isinstance(name, str) or not name:
        return f"the name must be a non-empty string, got {name!r}"
    unknown = sorted(set(meta) - set(REGISTRATION_META))
    if unknown:
        close = difflib.get_close_matches(unknown[0], REGISTRATION_META, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"the keys are {', '.join(REGISTRATION_META)}"
        return f"unknown registration meta {unknown[0]!r} ({hint}); it would be ignored"
    if not callable(factory):
        return f"the factory {factory!r} is not callable"
    try:
        signature = factory_signature(factory)
        problem = _signature_problem(kind, list(signature.parameters.values()))
        if problem:
            problem += f" (it is {signature})"
    except (TypeError, ValueError):
        problem = "its signature cannot be inspected (register a function or a class)"
    if problem:
        return f"the core calls a {kind.singular} factory as {kind.call_form()}, but {problem}"
    return None


def _signature_problem(kind: Kind, parameters: list[inspect.Parameter]) -> str | None:
    for position, argument in enumerate(kind.runtime):
        if position >= len(parameters) or parameters[position].kind is not inspect.Parameter.POSITIONAL_ONLY:
            return f"its parameter {position + 1} is not a positional-only {argument!r}"
    rest = parameters[len(kind.runtime):]
    optional = list(kind.optional_runtime)
    for parameter in rest:
        if parameter.kind is parameter.POSITIONAL_ONLY and parameter.name in optional:
            optional = optional[optional.index(parameter.name) + 1:]  # each at most once, in the kind's order
            continue
        if parameter.kind is parameter.POSITIONAL_ONLY:
            return f"its parameter {parameter.name!r} is positional-only: options are passed by keyword"
        if parameter.kind is parameter.VAR_POSITIONAL:
            return f"it takes *{parameter.name}: options are passed by keyword"
    return None


def _source_text(distribution: str, version: str) -> str:
    return f"{distribution} {version}".strip()
