"""The regression gate: a table's cells against the committed ones (``asdbench leaderboard --check FILE
--tolerance N``, ``make leaderboard-check``). A cell fails where its mean is missing now or lower than the committed
one by more than the tolerance; published figures (asdbench.report.published) take no part.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from asdbench.errors import AsdbenchError, SpecError
from asdbench.grid.expand import Grid
from asdbench.report.leaderboard import table_frame


def regressions(grid: Grid, runs_root: Path, reference: list[dict[str, Any]], tolerance: float) -> list[dict]:
    """Cells of ``reference`` (a stored ``table_frame`` as records) whose mean is now missing or lower than
    the reference by more than ``tolerance`` (a fraction: 0.03 = 3 points); each with both values."""
    now = table_frame(grid, runs_root).set_index(["row", "column"])["mean"]
    failures = []
    for cell in reference:
        if cell.get("published"):  # a figure of the grid file, which --check-published compares against
            continue
        current = now.get((cell["row"], cell["column"]))
        if cell.get("mean") is None or pd.isna(cell["mean"]):
            continue
        if current is None or pd.isna(current) or current < cell["mean"] - tolerance:
            failures.append({"row": cell["row"], "column": cell["column"], "committed": cell["mean"],
                             "now": None if current is None or pd.isna(current) else float(current)})
    return failures


def read_reference_cells(path: Path) -> list[dict]:
    """The committed leaderboard cells that `leaderboard --check` compares against: what `--json` wrote."""
    if not path.is_file():
        raise AsdbenchError(f"{path}: no committed leaderboard to check against; write one with `make leaderboard`")
    try:
        cells = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise SpecError(f"{path}: not a leaderboard JSON file ({error})") from None
    if not isinstance(cells, list):
        raise SpecError(f"{path}: expected a list of cells as `leaderboard --json` writes, "
                        f"got a {type(cells).__name__}")
    for index, cell in enumerate(cells):
        if not isinstance(cell, dict) or not {"row", "column", "mean"} <= set(cell):
            raise SpecError(f"{path}: cell [{index}]: expected an object with row, column and mean, got {cell!r}")
        if cell["mean"] is not None and (isinstance(cell["mean"], bool) or not isinstance(cell["mean"], int | float)):
            raise SpecError(f"{path}: cell [{index}].mean: expected a number or null, got {cell['mean']!r}")
        if cell["mean"] is not None and not math.isfinite(cell["mean"]):
            raise SpecError(f"{path}: cell [{index}].mean: expected a finite number or null, got {cell['mean']}")
    if not any(cell["mean"] is not None for cell in cells):
        raise SpecError(f"{path}: no cell with a mean to check against ({len(cells)} cells): every check would "
                        "pass; write the committed leaderboard with `make leaderboard`")
    return cells
