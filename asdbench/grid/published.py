"""Published figures in a grid file: the numbers a paper or a results page reports for a row of a table, shown
beside the measured cells (:mod:`asdbench.report.published`) and checked against them (``leaderboard
--check-published``).

A grid file names its sources once, and each table lists its published rows::

    [sources]                                   # key -> citation, shown as a footnote under the table
    paper = "Fujimura et al., ICASSP 2025, Table II"

    [[table.published]]                         # one group of figures of one source
    source = "paper"                            # a key of [sources]
    n = 5                                       # runs behind each figure (optional; a figure's own n wins)
    system = "Subspace loss"                    # coordinates every figure of the group shares
    figures = [
      {dataset = "DCASE2023", split = "dev", mean = 67.21, std = 0.66},   # mean and std in percent
    ]

Each figure, with its group's coordinates, names exactly the table's ``rows`` and ``columns`` coordinates, each
by a label the table has: a variant's name, an axis value, a split of the runs, a machine of the data's year (or
the table's aggregate, ``hmean``); the row it names must be a row of measured runs, so a published row always
stands beside the one it reproduces. A group with ``reference = true`` is the exception: its figures name a row
the grid does not run (a challenge's top rank, a system nobody here reproduces), shown after the measured rows for
context and never checked against anything; its columns are still the table's. Figures are in percent, as papers print them and the Markdown table shows
them: a mean of at most 1 is refused as a fraction (the CSV and JSON cells hold fractions), except for a
confidence interval (``*_ci95``), which may be that small. All of this is checked when the grid is read, before any
run; a machine of a synthetic dataset, known only from its results, when the table is drawn.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asdbench.data.years import YEARS
from asdbench.errors import SpecError

FIGURE_FIELDS = ("mean", "std", "n")
"""What a figure holds besides its coordinates."""
GROUP_FIELDS = ("source", "figures", "n", "reference")
"""What a ``[[table.published]]`` group holds besides the coordinates its figures share."""
FRACTION_LIMIT = 1.0
"""A published mean at or below this (in percent) is a fraction written where percent is expected: no AUC, pAUC,
F1 or official score worth publishing is 1 %. Confidence intervals (:data:`SMALL_VALUES`) are exempt."""
SMALL_VALUES = ("_ci95",)
"""Suffixes of the table values whose published figure may be below :data:`FRACTION_LIMIT` percent."""


@dataclass(frozen=True)
class PublishedFigure:
    """One published cell: its coordinates (table coordinate -> label, as text), mean and std in percent, how many
    runs it summarises where the source says, and the citation of its source."""

    coordinates: Mapping[str, str]
    mean: float
    std: float | None
    n: int | None
    source: str
    reference: bool = False
    """A row the grid does not run (``reference = true``): shown for context, compared with nothing."""


def read_sources(raw: Any, path: Path) -> dict[str, str]:
    """The grid file's ``[sources]``: key -> citation text, each a non-empty string."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise SpecError(f"{path}: sources must be a table ([sources]) of key = \"citation\", got {raw!r}")
    for key, text in raw.items():
        if not isinstance(text, str) or not text.strip():
            raise SpecError(f"{path}: sources.{key} must be the citation of a source (a non-empty string), "
                            f"got {text!r}")
    return dict(raw)


@dataclass(frozen=True)
class TableLabels:
    """What a table's published figures may name: its coordinates, the label of each variant and axis value, the
    splits of the runs with each combination of them, and the data's year's machines per split."""

    rows: list[str]
    columns: list[str]
    value: str
    dimensions: Mapping[str, list[str]]
    splits: Mapping[tuple[tuple[str, str], ...], set[str]]
    machines: Mapping[tuple[tuple[str, str], ...], Mapping[str, set[str]] | None]
    shown_machines: list[str] | None
    aggregate: str | None


def table_labels(rows: list[str], columns: list[str], value: str, runs: Iterable[Any],
                 dimensions: Mapping[str, list[tuple[Any, Any]]], machines: list[str] | None,
                 aggregate: str | None) -> TableLabels:
    """The labels of a table of ``runs`` (:class:`asdbench.grid.expand.GridRun`) over ``dimensions`` (each
    group's or axis's (label, fields) pairs), for :func:`read_published`."""
    readers = {facts.dataset: facts for facts in YEARS.values()}
    splits: dict[tuple[tuple[str, str], ...], set[str]] = {}
    years: dict[tuple[tuple[str, str], ...], Mapping[str, set[str]] | None] = {}
    for run in runs:
        key = _key({name: str(label) for name, label in run.coordinates.items()})
        splits.setdefault(key, set()).update(run.spec.dataset["splits"])
        facts = readers.get(run.spec.dataset["name"])
        years[key] = None if facts is None else {split: set(names) for split, names in facts.machines.items()}
    return TableLabels(rows, columns, value, {name: [str(label) for label, _ in values]
                                              for name, values in dimensions.items()},
                       splits, years, machines, aggregate)


def read_published(raw: Any, sources: Mapping[str, str], labels: TableLabels, path: Path,
                   where: str) -> tuple[PublishedFigure, ...]:
    """The figures of a table's ``published`` list, each checked against ``labels``; an error names the grid file,
    the group (``table.published[0]``) and the row."""
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(group, dict) for group in raw):
        raise SpecError(f"{path}: {where}.published must be a list of [[{where.split('[')[0]}.published]] tables, "
                        f"got {raw!r}")
    coordinates = [*labels.rows, *labels.columns]
    reserved = [name for name in coordinates if name in (*FIGURE_FIELDS, *GROUP_FIELDS)]
    if raw and reserved:
        raise SpecError(f"{path}: {where} shows a coordinate named {reserved[0]!r}, which a published figure "
                        f"cannot name (its own fields: {', '.join(dict.fromkeys((*GROUP_FIELDS, *FIGURE_FIELDS)))}); "
                        "rename that group or axis")
    figures: list[PublishedFigure] = []
    seen: dict[tuple[tuple[str, str], ...], str] = {}
    for index, group in enumerate(raw):
        place = f"{path}: {where}.published[{index}]"
        source = _source(group, sources, place)
        reference = _reference(group.get("reference", False), place)
        shared = {k: v for k, v in group.items() if k not in GROUP_FIELDS}
        entries = group.get("figures")
        if not isinstance(entries, list) or not entries or not all(isinstance(e, dict) for e in entries):
            raise SpecError(f"{place}: figures must be a non-empty list of {{coordinate = label, ..., mean = ...}} "
                            f"tables, got {entries!r}")
        for entry in entries:
            fields = {**shared, **entry}
            named = {k: v for k, v in fields.items() if k not in FIGURE_FIELDS}
            row = " / ".join(str(named.get(name, "?")) for name in labels.rows)
            at = f"{place} (row {row!r})"
            figure = PublishedFigure(_coordinates(named, labels, at, reference),
                                     _mean(fields.get("mean"), labels.value, at), _std(fields.get("std"), at),
                                     _n(fields.get("n", group.get("n")), at), source, reference)
            key = _key(dict(figure.coordinates))
            if key in seen:
                raise SpecError(f"{at}: {_describe(figure.coordinates)} has a published figure already "
                                f"({seen[key]}); give each cell one figure")
            seen[key] = at.removeprefix(f"{path}: ")
            figures.append(figure)
    return tuple(figures)


def _source(group: dict[str, Any], sources: Mapping[str, str], place: str) -> str:
    key = group.get("source")
    if not isinstance(key, str):
        raise SpecError(f"{place}: source must name a key of [sources], got {key!r}")
    if key not in sources:
        known = ", ".join(sources) or "none: add a [sources] table"
        raise SpecError(f"{place}: source {key!r} is not a key of [sources] (keys: {known})")
    return sources[key]


def _reference(value: Any, place: str) -> bool:
    if not isinstance(value, bool):
        raise SpecError(f"{place}: reference must be true (figures of a row the grid does not run) or false, "
                        f"got {value!r}")
    return value


def _coordinates(named: dict[str, Any], labels: TableLabels, at: str, reference: bool = False) -> dict[str, str]:
    """The figure's coordinates as text, each a label the table has; a ``reference`` figure's row coordinates are
    free labels, of a row the table must not have."""
    expected = [*labels.rows, *labels.columns]
    missing = [name for name in expected if name not in named]
    unknown = [name for name in named if name not in expected]
    if unknown:
        raise SpecError(f"{at}: {unknown[0]!r} is no coordinate of this table, which shows {', '.join(expected)}; "
                        f"a figure names each of them and {', '.join(FIGURE_FIELDS)}")
    if missing:
        raise SpecError(f"{at}: names no {missing[0]!r}; a figure names every coordinate the table shows "
                        f"({', '.join(expected)})")
    coordinates = {name: str(named[name]) for name in expected}
    for name, label in coordinates.items():
        if isinstance(named[name], dict | list | bool):
            raise SpecError(f"{at}: {name} must be a label (text or a number), got {named[name]!r}")
        if reference and name in labels.rows:
            continue
        if name in labels.dimensions and label not in labels.dimensions[name]:
            raise SpecError(f"{at}: {name} {label!r} is no label of this table; its {name} labels: "
                            f"{', '.join(labels.dimensions[name])}")
    if reference:
        _check_reference_row(coordinates, labels, at)
    shared = [name for name in coordinates if not (reference and name in labels.rows)]
    runs = [key for key in labels.splits if all(coordinates[name] == label for name, label in key
                                                if name in shared)]
    _check_split(coordinates, runs, labels, at)
    _check_machine(coordinates, runs, labels, at)
    return coordinates


def _check_reference_row(coordinates: dict[str, str], labels: TableLabels, at: str) -> None:
    """A reference row is one the grid does not run: one with measured runs takes plain published figures."""
    row = {name: coordinates[name] for name in labels.rows}
    if any(all(dict(key).get(name) == label for name, label in row.items()) for key in labels.splits):
        raise SpecError(f"{at}: {_describe(row)} is a row of measured runs; reference = true is for a row the grid "
                        "does not run: drop it, and the figures stand beside that row and --check-published "
                        "compares them")


def _check_split(coordinates: dict[str, str], runs: list[tuple[tuple[str, str], ...]], labels: TableLabels,
                 at: str) -> None:
    if "split" not in coordinates:
        return
    splits = sorted(set().union(*(labels.splits[key] for key in runs)))
    if coordinates["split"] not in splits:
        raise SpecError(f"{at}: split {coordinates['split']!r} is not a split of its runs ({', '.join(splits)})")


def _check_machine(coordinates: dict[str, str], runs: list[tuple[tuple[str, str], ...]], labels: TableLabels,
                   at: str) -> None:
    """A machine of the table (``table.machines``, or its year's machines of the split) or its aggregate. A
    dataset of no year (``synth``) has its machines checked when the table is drawn."""
    if "machine" not in coordinates:
        return
    machine = coordinates["machine"]
    if machine == labels.aggregate:
        return
    if labels.shown_machines is not None:
        if machine not in labels.shown_machines:
            raise SpecError(f"{at}: machine {machine!r} is not one of the table's machines "
                            f"({', '.join(labels.shown_machines)}{_or_aggregate(labels)})")
        return
    for key in runs:
        years = labels.machines[key]
        if years is None:
            continue
        splits = [coordinates["split"]] if "split" in coordinates else sorted(years)
        known = sorted({name for split in splits for name in years.get(split, ())}, key=str.lower)
        if machine not in known:
            raise SpecError(f"{at}: machine {machine!r} is not a machine of its data in "
                            f"{'split ' + splits[0] if len(splits) == 1 else 'any split'} "
                            f"({', '.join(known)}{_or_aggregate(labels)})")


def _or_aggregate(labels: TableLabels) -> str:
    return f", or the aggregate {labels.aggregate!r}" if labels.aggregate else ""


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _mean(value: Any, table_value: str, at: str) -> float:
    if not _number(value):
        raise SpecError(f"{at}: mean must be a finite number (in percent, as the paper prints it), got {value!r}")
    small = table_value.endswith(SMALL_VALUES)
    if not 0 <= value <= 100 or (value <= FRACTION_LIMIT and not small):
        hint = f"; {value} looks like a fraction: write {100 * value:g}, not {value}" if 0 <= value <= 1 else ""
        raise SpecError(f"{at}: mean {value} is not a {table_value} in percent (the unit of published figures, as "
                        f"the Markdown table prints them){hint}")
    return float(value)


def _std(value: Any, at: str) -> float | None:
    if value is None:
        return None
    if not _number(value) or not 0 <= value <= 50:
        raise SpecError(f"{at}: std must be a number of points of percent from 0 to 50, got {value!r}")
    return float(value)


def _n(value: Any, at: str) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise SpecError(f"{at}: n must be a positive whole number of runs, got {value!r}")
    return value


def _key(coordinates: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(coordinates.items()))


def _describe(coordinates: Mapping[str, str]) -> str:
    return ", ".join(f"{name} {label!r}" for name, label in coordinates.items())
