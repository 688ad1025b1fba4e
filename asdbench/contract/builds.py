"""``builds``: a component's options declared once, in its factory's signature, and its class built from them.

The core reads a component's options from its factory's signature (types, defaults, constraints) without calling
it. With :func:`builds` that signature is the only place they are declared: the factory is a stub whose body is its
docstring, and the class it builds takes the runtime arguments and then each option keyword-only, without a
default, trusting the declared constraints::

    @builds("my_package.backends:MyBackend")
    def my_backend(*, k: Annotated[int, Range(ge=1)] = 1) -> Backend:
        \"\"\"Mean distance to the k nearest training embeddings.\"\"\"

    class MyBackend:                       # in my_package/backends.py, which may import numpy or torch
        def __init__(self, *, k: int) -> None: ...

``my_backend(k=3)`` binds its arguments to the stub's signature, fills in the defaults (a fresh copy of each),
refuses a value its constraints do not allow, imports the class only then (registering the factory imports nothing
heavy) and returns ``MyBackend(k=3)``. A class whose parameters are not the stub's runtime arguments and then its
options, keyword-only and without defaults, is refused when it is built, naming both: ``asdbench plugins --check``,
which builds every component with its defaults, finds it.
"""

from __future__ import annotations

import copy
import functools
import inspect
from collections.abc import Callable
from importlib import import_module
from typing import Any, ParamSpec, TypeVar

from asdbench.contract.options import constraint_problem, declared_constraints
from asdbench.contract.registration import factory_signature
from asdbench.errors import AsdbenchError, PluginError

P = ParamSpec("P")
R = TypeVar("R")


def builds(target: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Make a factory stub build ``target`` (``"package.module:ClassName"``, imported when first called) with the
    runtime arguments and options its signature declares: positional-only, then keyword-only."""
    module, _, name = target.partition(":")
    if not module or not name:
        raise ValueError(f"builds({target!r}): expected 'package.module:ClassName'")

    def decorate(stub: Callable[P, R]) -> Callable[P, R]:
        signature = inspect.signature(stub)
        described = f"{stub.__module__}.{stub.__qualname__}"
        loose = [p.name for p in signature.parameters.values()
                 if p.kind not in (p.POSITIONAL_ONLY, p.KEYWORD_ONLY)]
        if loose:
            raise TypeError(f"@builds({target!r}) on {described}{signature}: {', '.join(loose)} must be positional-"
                            "only (a runtime argument) or keyword-only (an option)")

        @functools.wraps(stub)
        def factory(*args: P.args, **kwargs: P.kwargs) -> R:
            bound = signature.bind(*args, **kwargs)
            given = set(bound.arguments)
            bound.apply_defaults()
            options = {option: value if option in given else copy.deepcopy(value)
                       for option, value in bound.kwargs.items()}
            for option, declared in declared_constraints(stub, described).items():
                problem = constraint_problem(options[option], declared)
                if problem:
                    raise AsdbenchError(f"{described}.{option}: {problem}")
            product = _load(module, name, target)
            mismatch = _class_problem(product, signature)
            if mismatch:
                raise PluginError(f"{target}, built by {described}{signature}: {mismatch}")
            return product(*bound.args, **options)

        factory.builds_target = target  # what `asdbench plugins show` names as the component's class
        return factory

    return decorate


def _class_problem(product: Callable[..., Any], stub: inspect.Signature) -> str | None:
    """Why ``product`` cannot be what a stub of signature ``stub`` builds, or None: it must take the stub's runtime
    arguments positionally and then exactly its options, keyword-only, none with a default (the stub's defaults
    are the only ones; a second set would be one nobody reads, or one that drifts from the declared)."""
    try:
        signature = factory_signature(product)
    except (TypeError, ValueError):
        return "its signature cannot be inspected"
    parameters = list(signature.parameters.values())
    runtime = [p.name for p in stub.parameters.values() if p.kind is p.POSITIONAL_ONLY]
    options = [p.name for p in stub.parameters.values() if p.kind is p.KEYWORD_ONLY]
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    keyword = [p.name for p in parameters if p.kind is p.KEYWORD_ONLY]
    expected = ", ".join([*runtime, *(["/"] if runtime else []), *(["*"] if options else []), *options])
    if (len(positional) != len(runtime) or sorted(keyword) != sorted(options)
            or any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in parameters)):
        return f"it takes {signature}, expected ({expected})"
    defaulted = [p.name for p in parameters if p.default is not p.empty]
    if defaulted:
        return (f"it gives {', '.join(defaulted)} a default of its own; the factory's signature declares the "
                "defaults, the class takes every option without one")
    return None


def _load(module: str, name: str, target: str) -> Callable[..., Any]:
    product: Any = import_module(module)
    for part in name.split("."):
        product = getattr(product, part, None)
        if product is None:
            raise PluginError(f"builds({target!r}): {module} has no {name}")
    return product
