"""What a grid's report shows, gathered once from the store: its tables (the cells of
:func:`asdbench.report.leaderboard.table_frame` and the grid file's published figures, the best measured ones marked:
:func:`~asdbench.report.leaderboard.marked_cells`),
the runs behind each row, each row's paired comparison with every other (:func:`~asdbench.report.leaderboard.compare`),
and every number of every run as the tidy rows of :func:`asdbench.report.results.tidy`. Nothing here computes a number
of its own: the site shows what ``asdbench leaderboard`` and ``asdbench results`` give for the same store.

A table row is a :class:`TableRow`; a row of published figures has no runs, no page and no comparisons, and each of
its cells names its source (the table's footnotes, as ``asdbench leaderboard`` cites them).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from asdbench.grid.expand import Grid
from asdbench.report import leaderboard, published, results
from asdbench.store.store import Store

MACHINE_METRIC_ORDER = leaderboard.MACHINE_VALUES
"""The order a run page lists a machine section's values in (those its report has)."""


@dataclass
class Cell:
    """One cell of a table: a fraction's mean and std over ``count`` of its ``expected`` runs (None: no run
    finished), and whether it is its column's best and an aggregate (``table.aggregate``) cell. A published figure
    has the ``mark`` of its source (1, 2, ...) and its ``count`` is the figure's n (0 where the source gives none)."""
    column: str
    mean: float | None
    std: float | None
    count: int
    expected: int
    best: bool
    aggregate: bool
    mark: int | None = None


@dataclass
class TableRow:
    label: str
    page: str
    """The row's page, relative to the site's root."""
    cells: list[Cell]
    runs: list[str]
    """The hashes of the runs behind the row, in the grid's order."""
    comparisons: list[dict[str, Any]] = field(default_factory=list)
    """Against each other row with finished runs: ``other``, ``result`` (:func:`leaderboard.compare` of the other
    row and this one: its difference is this row's minus the other's) and ``words``."""
    published: bool = False
    """A row of published figures (its page is empty: there are no runs behind it)."""


@dataclass
class Table:
    number: int
    value: str
    title: str
    note: str
    rows_header: str
    columns: list[str]
    rows: list[TableRow]
    finished: bool
    """Whether any cell holds a finished run (a heat map needs one)."""
    grid: Grid
    sources: list[str] = field(default_factory=list)
    """The citations of the published figures: a cell's ``mark`` ``i`` is ``sources[i - 1]``."""


@dataclass
class Run:
    hash: str
    training: str
    seed: int
    coordinates: dict[str, Any]
    directory: Path
    page: str
    results: dict[str, Any] | None
    """Its ``results.json``; None until it has finished."""
    rows: list[dict[str, Any]]
    """Its tidy rows (``asdbench results``)."""


@dataclass
class SiteContent:
    grid: Grid
    runs_root: Path
    tables: list[Table]
    runs: dict[str, Run]
    rows: list[dict[str, Any]]
    """Every tidy row of the grid, as ``asdbench results --format json`` writes them."""
    unfinished: int


def gather(grid: Grid, runs_root: Path) -> SiteContent:
    """Everything the site shows, from the store ``runs_root``."""
    frame, unfinished = results.tidy(grid, runs_root)
    rows = json.loads(results.text(frame, "json"))
    records = leaderboard.records(grid, runs_root)
    runs = _runs(grid, runs_root, rows)
    tables = [_table(grid.with_table(table), number, records, runs_root)
              for number, table in enumerate(grid.tables, start=1)]
    return SiteContent(grid, runs_root, tables, runs, rows, unfinished)


def run_page(run_hash: str) -> str:
    return f"runs/{run_hash}/index.html"


def row_page(table: int, index: int, label: str) -> str:
    """A row's page: numbered (labels repeat across tables and may differ only in punctuation), its label's words
    kept for whoever reads the address."""
    words = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")[:40]
    return f"tables/{table}/{index}{'-' + words if words else ''}.html"


def machine_table(rows: list[dict[str, Any]], split: str) -> tuple[list[str], list[dict[str, Any]]]:
    """A run's machine-section rows of ``split`` as a table: the metrics it has (in :data:`MACHINE_METRIC_ORDER`),
    and a line per machine section with its ``values`` by metric."""
    chosen = [row for row in rows if row["split"] == split and row["level"] == "machine"]
    metrics = [metric for metric in MACHINE_METRIC_ORDER if any(row["metric"] == metric for row in chosen)]
    lines: dict[tuple[str, str], dict[str, Any]] = {}
    for row in chosen:
        line = lines.setdefault((row["machine"], row["section"]),
                                {"machine": row["machine"], "section": row["section"], "values": {}})
        line["values"][row["metric"]] = row["value"]
    return metrics, list(lines.values())


def _runs(grid: Grid, runs_root: Path, rows: list[dict[str, Any]]) -> dict[str, Run]:
    store = Store(runs_root)
    runs: dict[str, Run] = {}
    for run in grid.runs:
        if run.spec.hash in runs:
            continue
        runs[run.spec.hash] = Run(run.spec.hash, run.spec.training_hash, run.spec.seed, dict(run.coordinates),
                                  store.directory(run.spec), run_page(run.spec.hash), store.results(run.spec),
                                  [row for row in rows if row["run"] == run.spec.hash])
    return runs


def _table(grid: Grid, number: int, records: pd.DataFrame, runs_root: Path) -> Table:
    measured = leaderboard.table_frame(grid, runs_root)
    cells = leaderboard.marked_cells(grid, measured)
    shown = leaderboard.cell_records(grid, records, aggregates=False)
    behind = shown.groupby("row", sort=False)["hash"].agg(lambda hashes: list(dict.fromkeys(hashes)))
    columns = list(dict.fromkeys(cells["column"]))
    rows = []
    for label, mine in cells.groupby("label", sort=False):
        if mine["published"].iloc[0]:  # a figure for some columns only: the others are left empty
            figures = {cell["column"]: _cell(cell) for _, cell in mine.iterrows()}
            rows.append(TableRow(label, "", [figures.get(column, Cell(column, None, None, 0, 0, False, False))
                                             for column in columns], [], published=True))
            continue
        page = row_page(number, sum(not row.published for row in rows) + 1, label)
        rows.append(TableRow(label, page, [_cell(cell) for _, cell in mine.iterrows()], behind.get(label, [])))
    finished = [row for row in rows if not row.published and any(cell.count for cell in row.cells)]
    for row in finished:
        row.comparisons = [_comparison(grid, records, runs_root, other.label, row.label)
                           for other in finished if other is not row]
    title = f"{grid.path.stem}: {grid.table.value} (%), {leaderboard.spread(grid, measured)}" if len(measured) else \
        f"{grid.path.stem}: {grid.table.value} (%)"
    return Table(number, grid.table.value, title, grid.table.note or "", " / ".join(grid.table.rows), columns, rows,
                 bool(finished), grid, published.sources(grid.table))


def _cell(cell: pd.Series) -> Cell:
    count = 0 if pd.isna(cell["count"]) else int(cell["count"])
    if cell["published"]:
        return Cell(cell["column"], _number(cell["mean"]), _number(cell["std"]), count, count, False, False,
                    int(cell["mark"]))
    return Cell(cell["column"], _number(cell["mean"]), _number(cell["std"]), count, int(cell["expected"]),
                bool(cell["best"]), bool(cell["aggregate"]))


def _comparison(grid: Grid, records: pd.DataFrame, runs_root: Path, other: str, this: str) -> dict[str, Any]:
    result = leaderboard.compare_records(grid, records, runs_root, other, this)
    return {"other": other, "result": result, "words": leaderboard.describe_comparison(result)}


def _number(value: Any) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)
