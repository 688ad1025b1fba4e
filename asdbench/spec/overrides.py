"""Spec fields set on the command line: ``--set KEY=VALUE``.

KEY is a dotted path into a run spec (``train.epochs``, ``system.backend.k``, ``system.frontends[1].n_fft``: the
names validation errors use), or into a grid's base spec; VALUE is a TOML value (``1``, ``"machine"``, ``[4, 6]``,
``{name = "knn", k = 3}``), so that a string needs its quotes, as in the file. Overrides are applied to the spec as
read, before validation: what is validated, hashed and stored is the spec the edited file would be. A path into a
component given by its name alone (``backend = "knn"``) makes it a table (``{name = "knn"}``) first. A relative
dataset path given here is relative to the working directory, not to the spec file.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from copy import deepcopy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asdbench.errors import SpecError

DATASET_PATHS = ("root", "ground_truth", "hidden_attributes")
"""The fields of ``[dataset]`` that are paths, resolved against the spec file's folder (asdbench.spec.validate)."""
_SEGMENT = re.compile(r"([A-Za-z0-9_-]+)((?:\[\d+\])*)")


@dataclass(frozen=True)
class Override:
    """One ``--set KEY=VALUE``: the path it sets (names and list indices) and the value."""

    text: str
    key: str
    path: tuple[str | int, ...]
    value: Any

    def __str__(self) -> str:
        return f"--set {self.text}"


def parse_overrides(texts: Sequence[str]) -> list[Override]:
    """Each ``KEY=VALUE`` parsed; a bad one is a :class:`SpecError` naming it. Two that set one key are refused: the
    second would silently win."""
    overrides = [parse_override(text) for text in texts]
    seen: dict[str, Override] = {}
    for override in overrides:
        if override.key in seen:
            raise SpecError(f"{seen[override.key]} and {override} set one field; give it once")
        seen[override.key] = override
    return overrides


def parse_override(text: str) -> Override:
    if any(character in text for character in "\r\n"):  # a second line would set other TOML keys
        raise SpecError(f"--set {text!r}: expected KEY=VALUE on one line")
    key, equals, value_text = text.partition("=")
    key = key.strip()
    if not equals or not key:
        raise SpecError(f"--set {text}: expected KEY=VALUE, e.g. --set train.epochs=1")
    path: list[str | int] = []
    for segment in key.split("."):
        match = _SEGMENT.fullmatch(segment)
        if match is None:
            raise SpecError(f"--set {text}: {key!r} is not a dotted path of field names (and [index] of lists), "
                            "e.g. train.epochs or system.frontends[1].n_fft")
        path += [match[1], *map(int, re.findall(r"\d+", match[2]))]
    try:
        value = tomllib.loads(f"value = {value_text}")["value"]
    except tomllib.TOMLDecodeError as exc:
        bare = value_text.strip()
        hint = f"; a string needs quotes, as in the file: --set '{key}=\"{bare}\"'" if bare[:1] not in "\"'[{" else ""
        reason = re.sub(r" \(at (line \d+, column \d+|end of document)\)$", "", str(exc))  # of "value = ..."
        raise SpecError(f"--set {text}: {bare!r} is not a TOML value ({reason}){hint}") from None
    if len(path) == 2 and path[0] == "dataset" and path[1] in DATASET_PATHS and isinstance(value, str) \
            and "${" not in value:
        value = str(Path(value).expanduser().absolute())  # the working directory's, not the spec file's
    return Override(text, key, tuple(path), value)


def apply_overrides(raw: dict[str, Any], overrides: Sequence[Override]) -> dict[str, Any]:
    """A copy of the spec ``raw`` (as read from TOML) with each override set."""
    spec = deepcopy(raw)
    for override in overrides:
        node: Any = spec
        where = ""
        for part, following in zip(override.path, override.path[1:]):
            where = _join(where, part)
            child = _child(node, part, override, where)
            expected = "a list" if isinstance(following, int) else "a table"
            if child is None and isinstance(following, int):
                raise SpecError(f"{override}: {where} is not set, so it has no [{following}]")
            if child is None:
                child = {}
            elif isinstance(child, str) and isinstance(following, str):
                child = {"name": child}  # a component named alone, given an option
            if isinstance(following, int) != isinstance(child, list) or not isinstance(child, dict | list):
                raise SpecError(f"{override}: {where} is {child!r}, not {expected}")
            node[part] = child
            node = child
        last = override.path[-1]
        _child(node, last, override, _join(where, last))  # an index must exist
        node[last] = deepcopy(override.value)
    return spec


def blamed(message: str, overrides: Sequence[Override]) -> str:
    """``message`` (a validation error) followed by the overrides whose key it names, so that an error in a field set
    on the command line says where that value came from."""
    named = [str(o) for o in overrides if re.search(rf"(?<![\w.\[]){re.escape(o.key)}(?![\w])", message)]
    return f"{message} (given as {', '.join(named)})" if named else message


def _child(node: Any, part: str | int, override: Override, where: str) -> Any:
    if isinstance(part, int):
        if part >= len(node):
            raise SpecError(f"{override}: {where} is past the end of a list of {len(node)}")
        return node[part]
    return node.get(part)


def _join(where: str, part: str | int) -> str:
    return f"{where}[{part}]" if isinstance(part, int) else f"{where}.{part}" if where else part
