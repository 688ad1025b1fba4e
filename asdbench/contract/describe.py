"""A component in words, read from its registration without building it: what it is, where it comes from, and each
option's type, default, constraints and meaning (``asdbench plugins show KIND NAME``).

An option's meaning is read from the factory's docstring by the convention the core's own declarations follow
(:func:`asdbench.spec.schema.train_options`): a line that starts with the option's name in double backquotes and a
colon, continued on the lines after it up to a blank line or the next such line::

    @builds("my_package.backends:MyBackend")
    def my_backend(*, k: Annotated[int, Range(ge=1)] = 1) -> Backend:
        \"\"\"Mean distance to the k nearest training embeddings.

        ``k``: how many neighbours each clip's distance is averaged over.
        \"\"\"

The docstring's first paragraph is the component's summary.
"""

from __future__ import annotations

import inspect
import re
import types
import typing
from dataclasses import dataclass
from typing import Annotated, Any, get_args, get_origin

from asdbench.contract.kinds import CONTRACTS
from asdbench.contract.options import declared_annotations, declared_constraints
from asdbench.contract.registration import Registration, keyword_options
from asdbench.errors import PluginError

REQUIRED = inspect.Parameter.empty
"""The default of an option that has none: a spec must give it."""
_OPTION_LINE = re.compile(r"^``(\w+)``:\s*(.*)$")


@dataclass(frozen=True)
class OptionDoc:
    """One option of a component, as its factory declares it."""

    name: str
    type: str
    default: Any
    """:data:`REQUIRED` where the option has no default."""
    constraints: tuple[str, ...]
    """What each declared constraint expects, in words (``a number >= 1``)."""
    meaning: str
    """From the factory's docstring; empty where it says nothing of the option."""


@dataclass(frozen=True)
class ComponentDoc:
    """A registered component: its summary, where it is declared and built, and its options."""

    registration: Registration
    summary: str
    factory: str
    """``module:qualified_name`` of the registered factory."""
    builds: str | None
    """``module:ClassName`` that an :func:`asdbench.contract.builds.builds` stub imports when called, else None."""
    call: str
    """How the core calls the factory (``factory(input_shape, /, **options)``)."""
    options: list[OptionDoc]


def describe(registration: Registration) -> ComponentDoc:
    """What ``registration`` declares, without calling its factory; a PluginError naming the component when an
    option's annotation cannot be read."""
    factory = registration.factory
    docstring = inspect.getdoc(factory) or ""
    meanings = option_meanings(docstring)
    annotations = declared_annotations(factory, registration.label)
    constraints = declared_constraints(factory, registration.label)
    options = [OptionDoc(name, type_text(annotations[name], default), default,
                         tuple(c.expected for c in constraints[name]), meanings.get(name, ""))
               for name, default in keyword_options(factory).items()]
    original = inspect.unwrap(factory)
    where = f"{getattr(original, '__module__', '?')}:{getattr(original, '__qualname__', repr(original))}"
    return ComponentDoc(registration, docstring.split("\n\n", 1)[0].replace("\n", " ").strip(), where,
                        getattr(factory, "builds_target", None), CONTRACTS[registration.kind].call_form(), options)


def option_meanings(docstring: str) -> dict[str, str]:
    """``{option: meaning}`` of the lines of a (dedented) docstring that follow the convention of this module."""
    meanings: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in docstring.splitlines():
        stripped = line.strip()
        match = _OPTION_LINE.match(stripped)
        if match:
            current = meanings.setdefault(match.group(1), [])
            current.append(match.group(2))
        elif not stripped:
            current = None
        elif current is not None:
            current.append(stripped)
    return {name: " ".join(part for part in parts if part) for name, parts in meanings.items()}


def type_text(annotation: Any, default: Any) -> str:
    """An option's type as a reader writes it (``int``, ``list[str]``, ``float | str``): its annotation without
    the constraints, or the type of its default where it has no annotation."""
    if annotation is inspect.Parameter.empty:
        return "any" if default in (REQUIRED, None) else type(default).__name__
    if get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if annotation is None or annotation is type(None):
        return "None"
    if isinstance(annotation, type) and not get_args(annotation):
        return annotation.__name__
    if isinstance(annotation, types.UnionType) or get_origin(annotation) is typing.Union:
        return " | ".join(type_text(member, REQUIRED) for member in get_args(annotation))
    return str(annotation).replace("typing.", "")


def kind_named(text: str) -> str:
    """The kind (plural, as :data:`~asdbench.contract.kinds.CONTRACTS` names it) that ``text`` names, singular or
    plural, with spaces, hyphens or underscores: ``backend``, ``feature-space`` -> ``feature_spaces``."""
    wanted = re.sub(r"[\s-]+", "_", text.strip().lower())
    for name, kind in CONTRACTS.items():
        if wanted in (name, kind.singular.replace(" ", "_")):
            return name
    singulars = ", ".join(kind.singular.replace(" ", "-") for kind in CONTRACTS.values())
    raise PluginError(f"unknown plugin kind {text!r}; kinds: {singulars}")
