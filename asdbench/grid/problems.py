"""Problems found before a grid's work, each said once with the runs it concerns, those runs summarised by their
coordinates: ``[dataset=DCASE2023, seed={1, 2, 3}] (3 runs)`` rather than three lines that say one thing."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

SHOWN_RUNS = 3
"""How many runs a summary names, where they are not all the combinations of some coordinates' values."""


def describe_runs(coordinates: Sequence[dict[str, Any]], total: int) -> str:
    """The runs of ``coordinates`` (each a run's group/axis name -> variant name or value) among the ``total`` runs
    of a grid, in a few words: every run, the values each coordinate takes when the runs are all their
    combinations, else the first few runs."""
    if not coordinates or not coordinates[0]:
        return f"({len(coordinates)} runs)" if len(coordinates) > 1 else ""
    count = f" ({len(coordinates)} runs)" if len(coordinates) > 1 else ""
    if len(coordinates) == total > 1:
        return f"[all {total} runs]"
    values = {name: _distinct(run[name] for run in coordinates) for name in coordinates[0]}
    if math.prod(len(v) for v in values.values()) == len(_distinct(map(_key, coordinates))):
        return "[" + ", ".join(f"{name}={_values(found)}" for name, found in values.items()) + "]" + count
    shown = [", ".join(f"{k}={v}" for k, v in run.items()) for run in coordinates[:SHOWN_RUNS]]
    more = f", and {len(coordinates) - SHOWN_RUNS} more" if len(coordinates) > SHOWN_RUNS else ""
    return "[" + "], [".join(shown) + "]" + more + count


def report(path: Path, problems: Sequence[tuple[str, Sequence[dict[str, Any]]]], total: int, what: str) -> str:
    """One error message for ``problems`` (each a cause and the coordinates of its runs) of the grid ``path`` of
    ``total`` runs: one line when there is one, else a line saying how many, then one line per cause."""
    if len(problems) == 1:
        cause, runs = problems[0]
        where = describe_runs(runs, total)
        return f"{path}{' ' + where if where else ''}: {cause}"
    concerned = len({_key(run) for _, runs in problems for run in runs})
    lines = [f"{path}: {len(problems)} problems {what}, in {concerned} of {total} runs:"]
    lines += [f"  {describe_runs(runs, total) or 'the run'}: {cause}" for cause, runs in problems]
    return "\n".join(lines)


def _distinct(items: Any) -> list[Any]:
    found: dict[str, Any] = {}
    for item in items:
        found.setdefault(repr(item), item)
    return list(found.values())


def _values(values: list[Any]) -> str:
    return str(values[0]) if len(values) == 1 else "{" + ", ".join(map(str, values)) + "}"


def _key(run: dict[str, Any]) -> str:
    return repr(sorted(run.items(), key=lambda item: item[0]))
