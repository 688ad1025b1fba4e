"""Options checked against what declares them, a signature: a component's factory, or the core's own declaration of
a spec section's options (:mod:`asdbench.spec.schema`). One path for both: a given value must have the type of
its default (an int is taken where a float is declared, and made a float), be finite, and satisfy the constraints
its annotation declares (:mod:`asdbench.contract.constraints`); each refusal is a SpecError naming the field."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from asdbench.contract.options import check_constraints, check_finite, declared_constraints
from asdbench.contract.registration import keyword_options
from asdbench.errors import SpecError

_EMPTY = inspect.Parameter.empty


def checked_options(given: Mapping[str, Any], defaults: Mapping[str, Any], constraints: Mapping[str, tuple[Any, ...]],
                    field: str) -> dict[str, Any]:
    """``given`` (``{option: value}``) checked against each option's default and constraints, typed as declared."""
    checked = {}
    for option, value in given.items():
        name = f"{field}.{option}"
        checked[option] = value = _typed(value, defaults.get(option, _EMPTY), name)
        check_finite(value, name)
        check_constraints(value, constraints.get(option, ()), name)
    return checked


def section_options(table: Mapping[str, Any], declaration: Callable[..., Any], section: str, *,
                    omit_defaults: tuple[str, ...] = ()) -> dict[str, Any]:
    """A spec section's options, declared by the keyword parameters of ``declaration``: those ``table`` gives,
    checked, then every other one's default; the ``omit_defaults`` are left out while they hold their default
    (options added after runs were made: those runs keep their identity, as a component's ``omit_defaults``)."""
    defaults = keyword_options(declaration)
    given = checked_options(table, defaults, declared_constraints(declaration, f"[{section}]"), section)
    options = {**defaults, **given}
    return {k: v for k, v in options.items() if not (k in omit_defaults and v == defaults[k])}


def _typed(value: Any, default: Any, field: str) -> Any:
    """Check a given option against the type of its default (ints are accepted where floats are)."""
    if default is _EMPTY or default is None:
        return value
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise SpecError(f"{field}: expected true or false, got {value!r}")
        return value
    if isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        value = float(value) if ok else value
    else:
        ok = isinstance(value, type(default))
    if not ok:
        raise SpecError(f"{field}: expected {type(default).__name__} (like the default {default!r}), got {value!r}")
    return value
