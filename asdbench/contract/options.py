"""The constraints a factory declares on its options (``Annotated[int, Range(ge=1)]``, see asdbench.hookspecs),
read from its signature without calling it, and the check of a given value against them."""

from __future__ import annotations

import inspect
import math
import sys
from collections.abc import Callable
from typing import Annotated, Any, get_args, get_origin

from asdbench.contract.constraints import CONSTRAINTS
from asdbench.contract.registration import factory_signature, keyword_options
from asdbench.errors import PluginError, SpecError


def declared_constraints(declaration: Callable[..., Any], label: str) -> dict[str, tuple[Any, ...]]:
    """Each keyword option's declared constraints (an empty tuple for one without), read from the signature of
    ``declaration`` (a factory, or the core's declaration of a spec section's options); ``label`` names it in the
    error raised when an annotation cannot be evaluated."""
    found = {}
    for name, annotation in declared_annotations(declaration, label).items():
        metadata = get_args(annotation)[1:] if get_origin(annotation) is Annotated else ()
        found[name] = tuple(m for m in metadata if isinstance(m, CONSTRAINTS))
    return found


def declared_annotations(declaration: Callable[..., Any], label: str) -> dict[str, Any]:
    """Each keyword option's annotation, evaluated where it is postponed (``inspect.Parameter.empty`` for an option
    without one); a PluginError naming ``label`` and the option when one cannot be evaluated."""
    declared = keyword_options(declaration)
    namespace = _namespace(declaration)
    found = {}
    for parameter in factory_signature(declaration).parameters.values():
        if parameter.name not in declared:
            continue
        annotation = parameter.annotation
        if isinstance(annotation, str):  # postponed (``from __future__ import annotations``): evaluate it
            try:
                annotation = eval(annotation, namespace)  # noqa: S307 - the plugin's own annotation, in its module
            except Exception as exc:  # any failure means the plugin's declaration is unreadable
                raise PluginError(f"{label}: the annotation of option {parameter.name!r} "
                                  f"({parameter.annotation}) cannot be evaluated ({exc}); an option's annotation "
                                  "must be importable at run time, not only under TYPE_CHECKING") from None
        found[parameter.name] = annotation
    return found


def check_finite(value: Any, field: str) -> None:
    """Refuse NaN and infinities anywhere in an option's value: they have no canonical JSON form."""
    if isinstance(value, float) and not math.isfinite(value):
        raise SpecError(f"{field}: expected a finite number, got {value!r}")
    if isinstance(value, list):
        for index, item in enumerate(value):
            check_finite(item, f"{field}[{index}]")
    if isinstance(value, dict):
        for key, item in value.items():
            check_finite(item, f"{field}.{key}")


def check_constraints(value: Any, declared: tuple[Any, ...], field: str) -> None:
    """Refuse a value that one of the option's declared constraints does not allow, saying what it expects."""
    problem = constraint_problem(value, declared)
    if problem:
        raise SpecError(f"{field}: {problem}")


def constraint_problem(value: Any, declared: tuple[Any, ...]) -> str | None:
    """``"expected ..., got ..."`` for the first of ``declared`` that does not allow ``value``, or None."""
    for constraint in declared:
        try:
            allowed = constraint.allows(value)
        except TypeError:  # a value of another type, for an option whose default does not fix its type
            allowed = False
        if not allowed:
            return f"expected {constraint.expected}, got {value!r}"
    return None


def _namespace(factory: Callable[..., Any]) -> dict[str, Any]:
    """The globals a factory's postponed annotations refer to: its function's (the stub's, for a wrapper such as
    :func:`asdbench.contract.builds.builds` makes), or its class's module's."""
    function = factory.__init__ if isinstance(factory, type) else inspect.unwrap(factory)
    namespace = getattr(function, "__globals__", None)
    if namespace is None:
        module = sys.modules.get(getattr(factory, "__module__", "") or "")
        namespace = vars(module) if module else {}
    return dict(namespace)
