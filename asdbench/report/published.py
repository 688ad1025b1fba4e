"""Published figures beside the measured cells of a leaderboard, and the check of a reproduction against them.

A table's published figures (:mod:`asdbench.grid.published`) become rows of their own, each right after the
measured row it reproduces and labelled ``<row> (published)``: in Markdown every figure carries the mark of its
source (``[1]``), cited in a footnote under the table; in CSV and JSON each cell says ``published`` (true or false)
and, for a figure, its ``source``; the heat map sets the rows apart as it does aggregates. They never take part in
what is computed from the measured cells: the best cell of a column, the spread in the title, ``--compare``, the
regression gate (``--check``). A reference row (``reference = true``: a row the grid does not run, such as a
challenge's top rank) comes after the measured rows.

``leaderboard --check-published N`` (:func:`reproduction`) compares each measured cell with its published figure:
within N points of percent or not, and names the cells that have no published figure and the reference rows,
which it cannot check.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from asdbench.errors import SpecError
from asdbench.grid.expand import Grid, Table

PUBLISHED_COLUMNS = ("row", "column", "mean", "std", "count", "source", "mark", "reference")
"""The columns of :func:`published_cells`."""
PUBLISHED_LABEL = "{row} (published)"
"""How a published row is labelled in the Markdown table and the heat map."""


def sources(table: Table) -> list[str]:
    """The citations of ``table``'s figures, in the order they first appear: source ``[i]`` is ``sources[i - 1]``."""
    return list(dict.fromkeys(figure.source for figure in table.published))


def published_cells(grid: Grid) -> pd.DataFrame:
    """One row per published figure of the grid's table: its ``row`` and ``column`` labels (as the measured cells
    are labelled), ``mean`` and ``std`` as fractions like theirs, ``count`` (the figure's n, where given),
    ``source``, the ``mark`` of the source (1, 2, ...) and whether it is a ``reference`` row's."""
    table = grid.table
    marks = {text: index + 1 for index, text in enumerate(sources(table))}
    return pd.DataFrame([{
        "row": " / ".join(figure.coordinates[name] for name in table.rows),
        "column": " ".join(_column_label(name, figure.coordinates[name]) for name in table.columns),
        "mean": figure.mean / 100, "std": np.nan if figure.std is None else figure.std / 100,
        "count": np.nan if figure.n is None else figure.n, "source": figure.source, "mark": marks[figure.source],
        "reference": figure.reference,
    } for figure in table.published], columns=[*PUBLISHED_COLUMNS])


def _column_label(name: str, label: str) -> str:
    """A coordinate's label as the measured cells show it (a section as ``section 01``)."""
    return f"section {label}" if name == "section" else label


def check_labels(grid: Grid, measured: pd.DataFrame, published: pd.DataFrame) -> None:
    """Refuse a published figure whose row or column the measured table does not have: a machine of a synthetic
    dataset (the grid file's reader could not know them), or a table that shows sections the figure does not name.
    Before any run has finished there is nothing to check against."""
    finished = measured[measured["count"] > 0]
    if published.empty or finished.empty:
        return
    rows, columns = list(dict.fromkeys(measured["row"])), list(dict.fromkeys(measured["column"]))
    for _, cell in published.iterrows():
        for kind, label, known in (("row", cell["row"], rows), ("column", cell["column"], columns)):
            if kind == "row" and cell["reference"]:
                continue
            if label not in known:
                raise SpecError(f"{grid.path}: the published figure of row {cell['row']!r}, column {cell['column']!r} "
                                f"names a {kind} this table does not have; its {kind}s: {', '.join(known)}")


def with_published(grid: Grid, measured: pd.DataFrame) -> pd.DataFrame:
    """The measured cells (:func:`asdbench.report.leaderboard.table_frame`) and the published ones, each published
    row right after its measured row; ``published`` tells them apart and ``label`` is the row as shown."""
    published = published_cells(grid)
    check_labels(grid, measured, published)
    measured = measured.assign(published=False, source=None, mark=np.nan, label=measured["row"])
    if published.empty:
        return measured
    published = published.assign(published=True, expected=np.nan, aggregate=False,
                                 label=published["row"].map(lambda row: PUBLISHED_LABEL.format(row=row)))
    combined = pd.concat([measured, published[[*measured.columns]]], ignore_index=True)
    order = {row: index for index, row in enumerate(dict.fromkeys([*measured["row"], *published["row"]]))}
    return combined.assign(_row=combined["row"].map(order)).sort_values(["_row", "published"], kind="stable") \
        .drop(columns="_row").reset_index(drop=True)


def footnotes(grid: Grid) -> list[str]:
    """A line per source of the table's figures: its mark, its citation, and over how many runs its figures are
    means where it says."""
    lines = []
    for index, text in enumerate(sources(grid.table)):
        counts = sorted({f.n for f in grid.table.published if f.source == text and f.n is not None})
        over = "" if not counts else f"; mean (std) over {counts[0]}" + (f"-{counts[-1]}" if len(counts) > 1 else "") \
            + " runs"
        lines.append(f"[{index + 1}] {text}{over}")
    return lines


def cell_text(cell: pd.Series) -> str:
    """A published cell in Markdown: ``68.83 (0.94) [1]`` (no std where the source gives none)."""
    text = f"{100 * cell['mean']:.2f}" + ("" if pd.isna(cell["std"]) else f" ({100 * cell['std']:.2f})")
    return f"{text} [{int(cell['mark'])}]"


def reproduction(grid: Grid, measured: pd.DataFrame, points: float) -> tuple[list[dict[str, Any]], list[str]]:
    """Each published figure of a measured row against its cell: measured and published means and their difference
    in points of percent, and whether they are within ``points`` (a cell with no finished run is not); and the
    measured cells (``row / column``) that have no published figure. A table without such figures is refused:
    every check would pass (its reference rows, if any, have nothing to be compared with)."""
    published = published_cells(grid)
    check_labels(grid, measured, published)
    published = published[~published["reference"].astype(bool)]
    if published.empty:
        raise SpecError(f"{grid.path}: this table has no published figures of measured rows to check against "
                        "([[table.published]] without reference = true; docs/plugins.md, \"The grid file\")")
    means = measured.set_index(["row", "column"])["mean"]
    comparisons = []
    for _, figure in published.iterrows():
        now = means.get((figure["row"], figure["column"]))
        now = None if now is None or pd.isna(now) else 100 * float(now)
        difference = None if now is None else now - 100 * figure["mean"]
        comparisons.append({"row": figure["row"], "column": figure["column"], "measured": now,
                            "published": 100 * figure["mean"], "difference": difference,
                            "within": difference is not None and abs(difference) <= points + 1e-9})
    figures = set(zip(published["row"], published["column"]))
    unpublished = [f"{row} / {column}" for row, column in zip(measured["row"], measured["column"])
                   if (row, column) not in figures]
    return comparisons, unpublished


def describe_reproduction(comparisons: list[dict[str, Any]], unpublished: list[str], points: float,
                          path: Path, references: list[str] = ()) -> tuple[str, bool]:
    """:func:`reproduction`'s result as text (a table of the comparisons, then the cells without a figure and the
    ``references`` rows, which nothing is compared with), and whether every figure was reproduced within
    ``points``."""
    from tabulate import tabulate

    rows = [[c["row"], c["column"], "missing" if c["measured"] is None else f"{c['measured']:.2f}",
             f"{c['published']:.2f}", "" if c["difference"] is None else f"{c['difference']:+.2f}",
             "yes" if c["within"] else "NO"] for c in comparisons]
    out = [c for c in comparisons if not c["within"]]
    text = tabulate(rows, headers=["row", "column", "measured", "published", "difference", f"within {points:g}"],
                    tablefmt="github", disable_numparse=True)
    verdict = (f"{len(out)} of {len(comparisons)} cells are not within {points:g} points of the figure published "
               f"for them in {path}" if out else
               f"every one of {len(comparisons)} cells is within {points:g} points of its published figure")
    missing = f"\nno published figure for {len(unpublished)} cells: {', '.join(unpublished)}" if unpublished else ""
    context = f"\nreference rows, shown for context and checked against nothing: {', '.join(references)}" \
        if references else ""
    return f"\n{text}\n{'REPRODUCTION: ' if out else ''}{verdict}{missing}{context}", not out
