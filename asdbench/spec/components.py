"""A component in a spec (``"name"`` or ``{name = ..., option = value}``), validated against its registration:
an unknown option, a value of the wrong type, outside its declared constraints or not finite is a SpecError
naming the field (:mod:`asdbench.spec.options`, the path the core's own sections take too); every default is
filled in."""

from __future__ import annotations

import inspect
from typing import Any

from asdbench.contract.kinds import singular
from asdbench.contract.options import declared_constraints
from asdbench.contract.registration import Registration
from asdbench.contract.registry import Registry
from asdbench.errors import PluginError, SpecError
from asdbench.spec.identity import canonical_json
from asdbench.spec.options import checked_options

_EMPTY = inspect.Parameter.empty


def validate_component(value: Any, kind: str, field: str, registry: Registry) -> dict[str, Any]:
    """Validate ``"name"`` or ``{name = ..., **options}`` against the registration; fill in defaults."""
    if isinstance(value, str):
        value = {"name": value}
    if not isinstance(value, dict) or not isinstance(value.get("name"), str):
        raise SpecError(f"{field}: expected a plugin name or a table with a 'name' key, got {value!r}")
    try:
        registration = registry.get(kind, value["name"])
    except PluginError as exc:
        raise SpecError(f"{field}.name: {exc}") from None
    given = {k: v for k, v in value.items() if k != "name"}
    options = _options(registration, given, field)
    declared = registration.options()
    for option in registration.meta.get("omit_defaults", ()):
        if option not in declared:
            raise SpecError(f"{field}.name: {singular(registration.kind)} {registration.name!r} "
                            f"({registration.distribution}) lists {option!r} in omit_defaults, but has no such option")
        if options[option] == declared[option]:
            del options[option]  # a default added later: the runs made before it keep their identity
    return {"name": registration.name, **options}


def _options(registration: Registration, given: dict[str, Any], field: str) -> dict[str, Any]:
    declared = registration.options()
    unknown = sorted(set(given) - set(declared))
    if unknown and not registration.accepts_any_option():
        valid = ", ".join(sorted(declared)) or "(none)"
        raise SpecError(
            f"{field}.{unknown[0]}: {singular(registration.kind)} {registration.name!r} has no option {unknown[0]!r}; "
            f"its options: {valid}"
        )
    try:
        constraints = declared_constraints(registration.factory, registration.label)
    except PluginError as exc:
        raise SpecError(f"{field}.name: {exc}") from None
    checked = checked_options(given, declared, constraints, field)
    resolved: dict[str, Any] = {}
    for option, default in declared.items():
        if option in checked:
            resolved[option] = checked[option]
        elif default is _EMPTY:
            raise SpecError(f"{field}.{option} is required by {singular(registration.kind)} {registration.name!r}")
        else:
            resolved[option] = _json_default(default, f"{field}.{option}", registration)
    resolved.update({k: v for k, v in checked.items() if k not in declared})
    return resolved


def _json_default(default: Any, field: str, registration: Registration) -> Any:
    try:
        canonical_json({"value": default})
    except (TypeError, ValueError):
        raise SpecError(
            f"{field}: the default of {singular(registration.kind)} {registration.name!r} "
            f"({registration.distribution}) is not a plain value ({default!r}); plugin defaults must be TOML-like"
        ) from None
    return default
