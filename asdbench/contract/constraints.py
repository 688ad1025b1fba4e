"""The constraints a factory may declare on an option, as ``typing.Annotated`` metadata, so that a bad value
fails in ``asdbench spec`` with the field named rather than mid-run::

    def my_backend(*, k: Annotated[int, Range(ge=1)] = 1, metric: Annotated[str, OneOf("cosine", "l2")] = "cosine"):

An option's annotation must then be resolvable at run time (import ``Annotated`` and the constraints at the top
of the module, not under ``TYPE_CHECKING``); a factory the core cannot read this way is refused, naming it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


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
