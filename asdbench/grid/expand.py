"""Grid files: a base run spec, named variant groups and plain axes, expanded to runs (executed by
:mod:`asdbench.grid.execute`).

A grid file (TOML)::

    base = "base.toml"                  # a run spec file (relative to the grid file), or an inline [base] table

    [[variants.system]]                 # a named group of variants: each sets any spec fields by dotted path
    name = "N/A"
    [[variants.system]]
    name = "Subspace loss"
    "system.aux" = "subspace"

    [axes]                              # plain axes: a dotted spec field and its values
    seed = [1, 2, 3, 4, 5]

    [table]                             # what `asdbench leaderboard` renders
    rows = "system"                     # a variant group or an axis
    columns = ["dataset", "split"]      # groups/axes, plus "split", "machine" and "section" from the results
    value = "official_score"            # or another value of the split (official_score_ci95, a mean such as
                                        # f1_hmean) or of each machine (hmean, auc_all, auc_source, pauc,
                                        # f1_target, ...): `asdbench leaderboard` lists them on a typo
    machines = ["gearbox", "slider"]    # per-machine tables: only these machines (default: all)
    aggregate = "hmean"                 # per-machine hmean tables: add the hmean over those machines (per split
                                        # when the table shows splits, else over all of them, as Table III's 24w/o)
    note = "..."                        # printed under the title (e.g. what the numbers do not mean)

    [[table.published]]                 # figures a paper reports for a row, beside the measured ones
    source = "paper"                    # a key of the grid's [sources] (key = "citation")
    system = "Subspace loss"
    figures = [{split = "eval", mean = 68.83, std = 0.94, n = 5}]   # percent (asdbench.grid.published)

Several tables of one grid's runs are ``[[table]]`` entries instead of one ``[table]``, each with the fields above
(``asdbench leaderboard`` renders each in turn; ``--table N`` picks the N-th).

The runs are the product of every group and axis. Each run's spec is the base with its variants' fields set in the
order of the groups in the file, then its axis values: a later group's value of a field wins over an earlier's (a
system's clip length over its dataset's), but an axis may not set a field that a group or another axis sets (a
variant's own ``seed`` under a seed axis), nor list a value twice, and two coordinates that are one run (the same
identity hash) are refused, naming both. Neither a group nor an axis may be named "split", "machine" or "section",
the coordinates of the results (a per-machine table of data with several sections per machine shows the section
beside the machine, :mod:`asdbench.report.leaderboard`). Runs that differ only in how they are scored (an axis such
as ``"system.backend.clusters" = [8, 16, 32]``, or ``"train.checkpoints"``) share one training: the grid
trains it once and scores it once per variant from the stored embeddings. ``train.stack_seeds`` is a spec
field, part of the training's identity, so ``status`` and ``leaderboard`` find the stacked runs from the grid
file alone.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from copy import deepcopy
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from asdbench.contract.registry import Registry, get_registry
from asdbench.errors import SpecError
from asdbench.grid.problems import report
from asdbench.grid.published import PublishedFigure, read_published, read_sources, table_labels
from asdbench.spec.files import GRID_FILE, GRID_KEYS, read_toml, refuse_other_kind
from asdbench.spec.identity import RunSpec, canonical_json
from asdbench.spec.overrides import Override, apply_overrides, blamed
from asdbench.spec.validate import validate_spec

RESULT_COORDINATES = ("split", "machine", "section")


@dataclass(frozen=True)
class GridRun:
    """One run of a grid: its coordinates (group/axis name -> variant name or value) and its spec."""

    coordinates: dict[str, Any]
    spec: RunSpec


AGGREGATES = ("hmean",)
"""``table.aggregate``: "hmean" adds the harmonic mean of the AUCs and pAUCs of the machines shown (the official
score restricted to them), per split when the table shows splits, like the hmean column of the paper's Table III."""


@dataclass(frozen=True)
class Table:
    rows: list[str]
    columns: list[str]
    value: str = "official_score"
    machines: list[str] | None = None
    aggregate: str | None = None
    note: str = ""
    published: tuple[PublishedFigure, ...] = ()


@dataclass(frozen=True)
class Grid:
    path: Path
    runs: list[GridRun]
    tables: list[Table]
    dimensions: dict[str, list[Any]] = field(default_factory=dict)

    @property
    def table(self) -> Table:
        """The table a leaderboard renders: the first (a grid of several is rendered one :meth:`with_table` at a
        time)."""
        return self.tables[0]

    def with_table(self, table: Table) -> Grid:
        """This grid's runs, to be rendered as ``table``."""
        return replace(self, tables=[table])


def load_grid(path: Path, registry: Registry | None = None, overrides: Sequence[Override] = ()) -> Grid:
    """Read, expand and validate a grid file, its base spec with the ``overrides`` given on the command line
    (asdbench.spec.overrides) set; errors name the file and the variant or field, and the override that gave it."""
    registry = registry or get_registry()
    path = Path(path)
    raw = read_toml(path, "grid file")
    refuse_other_kind(raw, path, GRID_FILE)
    unknown = set(raw) - set(GRID_KEYS)
    if unknown:
        raise SpecError(f"{path}: unknown grid field {sorted(unknown)[0]!r}; expected {', '.join(GRID_KEYS)}")
    base, base_dir = _base(raw.get("base"), path)
    dimensions = _dimensions(raw, path)
    _refuse_replaced_overrides(overrides, dimensions, list(raw.get("axes", {})), path)
    base = apply_overrides(base, overrides)
    runs, invalid, total = [], {}, 0
    for combination in itertools.product(*[[(name, v) for v in values] for name, values in dimensions.items()]):
        spec = deepcopy(base)
        coordinates = {}
        for name, (label, fields) in combination:
            coordinates[name] = label
            for dotted, value in fields.items():
                _set(spec, dotted, value, path)
        total += 1
        try:
            runs.append(GridRun(coordinates, validate_spec(spec, registry, base_dir=base_dir)))
        except SpecError as exc:  # every run is validated, and each cause said once with the runs it concerns
            invalid.setdefault(blamed(str(exc), overrides), []).append(coordinates)
    if invalid:
        raise SpecError(report(path, list(invalid.items()), total, "in the runs' specs"))
    _refuse_repeated_runs(runs, path)
    tables = _tables(raw.get("table", {}), dimensions, path, runs, read_sources(raw.get("sources"), path))
    return Grid(path, runs, tables, {name: [label for label, _ in values] for name, values in dimensions.items()})


def _base(value: Any, path: Path) -> tuple[dict[str, Any], Path]:
    if isinstance(value, str):
        base_file = (path.parent / value).resolve()
        try:
            return read_toml(base_file, "base spec"), base_file.parent
        except SpecError as exc:
            raise SpecError(f"{path}: base: {exc}") from None
    if isinstance(value, dict):
        return value, path.parent.resolve()
    raise SpecError(f"{path}: 'base' must name a run spec file or be a [base] table")


def _dimensions(raw: dict[str, Any], path: Path) -> dict[str, list[tuple[Any, dict[str, Any]]]]:
    dimensions: dict[str, list[tuple[Any, dict[str, Any]]]] = {}
    for section in ("variants", "axes"):
        if not isinstance(raw.get(section, {}), dict):
            raise SpecError(f"{path}: {section} must be a table ([{section}]), got {raw[section]!r}")
    for group, variants in raw.get("variants", {}).items():
        if not isinstance(variants, list) or not variants or not all(isinstance(v, dict) for v in variants):
            raise SpecError(f"{path}: variants.{group} must be a non-empty list of [[variants.{group}]] tables, "
                            f"got {variants!r}")
        names = [v.get("name") for v in variants]
        if any(not isinstance(n, str) for n in names) or len(set(names)) != len(names):
            raise SpecError(f"{path}: every [[variants.{group}]] needs a unique string 'name'; got {names}")
        dimensions[group] = [(v["name"], {k: x for k, x in v.items() if k != "name"}) for v in variants]
    for axis, values in raw.get("axes", {}).items():
        if not isinstance(values, list) or not values:
            raise SpecError(f"{path}: axes.{axis} must be a non-empty list of values")
        if axis in dimensions:
            raise SpecError(f"{path}: {axis!r} is both a variant group and an axis")
        seen: set[str] = set()
        for value in values:
            key = canonical_json({"value": value})
            if key in seen:
                raise SpecError(f"{path}: axes.{axis} lists {value!r} twice: it would be one run counted twice "
                                "in every mean; list each value once")
            seen.add(key)
        dimensions[axis] = [(value, {axis: value}) for value in values]
    for name in dimensions:
        if name in RESULT_COORDINATES:
            section = "axes" if name in raw.get("axes", {}) else "variants"
            raise SpecError(f"{path}: {section}.{name}: {name!r} is a coordinate of the results "
                            f"({', '.join(RESULT_COORDINATES)}), which a table would show instead of these "
                            "variants; name it otherwise")
    _refuse_overridden_fields(dimensions, list(raw.get("axes", {})), path)
    return dimensions


def _refuse_overridden_fields(dimensions: dict[str, list[tuple[Any, dict[str, Any]]]], axes: list[str],
                              path: Path) -> None:
    """Refuse an axis that sets a field a variant group or an earlier axis sets: its value would replace theirs in
    every run without a word (a variant's own ``seed`` under a seed axis). Variant groups may set a field an
    earlier group sets: the later group's value wins, as the module's docstring says."""
    names = list(dimensions)
    for later_index, later in enumerate(names):
        if later not in axes:
            continue
        for earlier in names[:later_index]:
            for later_label, later_overrides in dimensions[later]:
                for earlier_label, earlier_overrides in dimensions[earlier]:
                    for replaced in later_overrides:
                        for leaf in _leaves(earlier_overrides):
                            if leaf == replaced or leaf.startswith(replaced + "."):
                                raise SpecError(
                                    f"{path}: {_describe(later, later_label, axes)} sets {replaced!r}, replacing the "
                                    f"{leaf!r} that {_describe(earlier, earlier_label, axes)} sets: set each field "
                                    "in one group or axis only")


def _refuse_replaced_overrides(overrides: Sequence[Override], dimensions: dict[str, list[tuple[Any, dict[str, Any]]]],
                               axes: list[str], path: Path) -> None:
    """Refuse a ``--set`` of a field that a variant or an axis sets (or a table around it, or a field inside it):
    ``--set`` changes the base, and the grid's own value would replace it in those runs without a word."""
    for override in overrides:
        for dimension, values in dimensions.items():
            for label, fields in values:
                for dotted in fields:  # each replaces its whole value, a table included
                    if _overlap(override.key, dotted):
                        raise SpecError(f"{override}: {_describe(dimension, label, axes)} of {path} sets {dotted!r}, "
                                        "which would replace it; --set changes the grid's base spec only, so set "
                                        "this field in the grid file")


def _overlap(key: str, other: str) -> bool:
    """Whether setting dotted ``key`` and dotted ``other`` touch one value (one is the other, or inside it)."""
    return key == other or key.startswith((other + ".", other + "[")) or other.startswith((key + ".", key + "["))


def _leaves(overrides: dict[str, Any], prefix: str = "") -> Iterator[str]:
    """The dotted path of every value ``overrides`` sets, inside the tables it sets too."""
    for key, value in overrides.items():
        if isinstance(value, dict) and value:
            yield from _leaves(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}"


def _describe(dimension: str, label: Any, axes: list[str]) -> str:
    """An axis, or a variant of a group, as the grid file names it, for messages."""
    return f"axis {dimension!r}" if dimension in axes else f"variant {label!r} of {dimension!r}"


def _refuse_repeated_runs(runs: list[GridRun], path: Path) -> None:
    """Refuse two coordinates that are one run (one identity hash): a table would show one result as two rows, or
    count it twice in a mean."""
    first: dict[str, GridRun] = {}
    for run in runs:
        other = first.setdefault(run.spec.hash, run)
        if other is not run:
            raise SpecError(f"{path}: [{_where(other.coordinates)}] and [{_where(run.coordinates)}] are one run "
                            f"({run.spec.hash}): what differs between them changes nothing the run computes; remove "
                            "one, or make them differ")


def _where(coordinates: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in coordinates.items())


def _set(spec: dict[str, Any], dotted: str, value: Any, path: Path) -> None:
    *parents, leaf = dotted.split(".")
    node = spec
    for part in parents:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise SpecError(f"{path}: cannot set {dotted!r}: {part!r} is not a table")
    node[leaf] = deepcopy(value)


def _tables(raw: Any, dimensions: dict[str, Any], path: Path, runs: list[GridRun],
            sources: dict[str, str]) -> list[Table]:
    """One ``[table]``, or each of the ``[[table]]`` entries (named ``table[i]`` in errors), with their published
    figures."""
    if isinstance(raw, list):
        if not raw:
            raise SpecError(f"{path}: [[table]] lists no table; give at least one, or one [table]")
        return [_table(entry, dimensions, path, f"table[{index}]", runs, sources) for index, entry in enumerate(raw)]
    return [_table(raw, dimensions, path, "table", runs, sources)]


def table_from(raw: dict[str, Any], grid: Grid) -> Table:
    """A table of ``grid``'s runs given outside its file (``asdbench leaderboard --rows ...``), checked as the
    file's own tables are; ``raw`` holds the fields given."""
    return _table(raw, grid.dimensions, grid.path)


def _table(raw: dict[str, Any], dimensions: dict[str, Any], path: Path, where: str = "table",
           runs: Sequence[GridRun] = (), sources: dict[str, str] | None = None) -> Table:
    def names(key: str, default: list[str]) -> list[str]:
        value = raw.get(key, default)
        value = [value] if isinstance(value, str) else value
        if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
            raise SpecError(f"{path}: {where}.{key} must name a group, axis, 'split' or 'machine', or be a list of "
                            f"such names, got {raw[key]!r}")
        for index, name in enumerate(value):
            if name in value[:index]:
                raise SpecError(f"{path}: {where}.{key} names {name!r} twice")
            if name not in dimensions and name not in RESULT_COORDINATES:
                raise SpecError(f"{path}: {where}.{key} names {name!r}, which is no variant group, axis, "
                                f"split, machine or section (known: {', '.join([*dimensions, *RESULT_COORDINATES])})")
        return value

    if not isinstance(raw, dict):
        raise SpecError(f"{path}: {where} must be a table ([table]), got {raw!r}")
    unknown = set(raw) - {"rows", "columns", "value", "machines", "aggregate", "note", "published"}
    if unknown:
        raise SpecError(f"{path}: unknown {where} field {sorted(unknown)[0]!r}; expected rows, columns, value, "
                        "machines, aggregate, note, published")
    note = raw.get("note", "")
    if not isinstance(note, str):
        raise SpecError(f"{path}: {where}.note must be a string (printed under the table's title), got {note!r}")
    first = next(iter(dimensions), "split")
    rows, columns = names("rows", [first]), names("columns", ["split"])
    shared = [name for name in rows if name in columns]
    if shared and ("rows" in raw or "columns" in raw):  # a grid without groups or axes: "split" by "split"
        raise SpecError(f"{path}: {where}.rows and {where}.columns both name {shared[0]!r}: each coordinate is either "
                        "the rows or the columns of the table")
    value = raw.get("value", "official_score")
    machines = raw.get("machines")
    if machines is not None and (not isinstance(machines, list) or not machines
                                 or not all(isinstance(m, str) for m in machines)):
        raise SpecError(f"{path}: {where}.machines must be a non-empty list of machine names, got {machines!r}")
    aggregate = raw.get("aggregate")
    if aggregate is not None:
        if aggregate not in AGGREGATES:
            raise SpecError(f"{path}: {where}.aggregate must be one of {', '.join(AGGREGATES)}, got {aggregate!r}")
        if "machine" not in rows + columns or value != "hmean":
            raise SpecError(f"{path}: {where}.aggregate = {aggregate!r} summarises per-machine hmean tables: it "
                            f"needs 'machine' in {where}.rows or {where}.columns and value = 'hmean'")
    published = () if "published" not in raw else read_published(
        raw["published"], sources or {}, table_labels(rows, columns, value, runs, dimensions, machines, aggregate),
        path, where)
    return Table(rows, columns, value, machines, aggregate, note, published)

