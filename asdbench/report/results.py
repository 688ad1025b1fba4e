"""A grid's results as one tidy table, for pandas, R or a spreadsheet (``asdbench results``): one row per finished
run x split x machine section x metric, and one per run x split x metric of the split's own values (official score,
its ci95, the means), with every grid coordinate and the seed as columns.

Columns: the grid's coordinates (a group's variant name, an axis's value; a value that is a list or a table is
written as its JSON text, so that a column holds one type), ``seed`` (where no axis is named so), ``split``,
``level`` ("split" or "machine"), ``machine`` and ``section`` (empty on split rows; a 2020 machine ID is its section),
``metric``, ``value`` (a fraction, as stored in ``results.json``: 0.7512, not 75.12), ``report`` (the official report
the value is of, ``dcase2021`` ...: an ``hmean`` of 2021 is within each domain, one of 2023 is not; docs/metrics.md),
``run`` and ``training`` (the hashes naming the run's folders).
A metric a report leaves undefined (no decision files, a ci95 without two clips of a class) has no row.
"""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from asdbench.errors import AsdbenchError
from asdbench.grid.expand import Grid
from asdbench.report.leaderboard import MACHINE_VALUES, SPLIT_VALUES, records

FORMATS = ("csv", "json", "parquet")
PARQUET_ENGINES = ("pyarrow", "fastparquet")
"""What pandas writes Parquet with; asdbench installs neither (pyarrow's wheel alone is 55 MB)."""


def tidy(grid: Grid, runs_root: Path) -> tuple[pd.DataFrame, int]:
    """The tidy rows of ``grid``'s finished runs, and how many of its runs have not finished (they have none)."""
    frame = records(grid, runs_root)
    finished = frame[frame["finished"]] if len(frame) else frame
    coordinates = list(grid.dimensions)
    identity = [*coordinates, *([] if "seed" in coordinates else ["seed"])]
    seeds = {run.spec.hash: run.spec.seed for run in grid.runs}
    rows: list[dict[str, Any]] = []
    for _, record in finished.iterrows():
        split_level = pd.isna(record["machine"])
        base = {**{name: _scalar(record[name]) for name in coordinates}, "seed": seeds[record["hash"]],
                "split": record["split"], "level": "split" if split_level else "machine",
                "machine": "" if split_level else record["machine"],
                "section": "" if split_level else record["section"]}
        for metric in SPLIT_VALUES if split_level else MACHINE_VALUES:
            value = record.get(metric)
            if value is not None and not (isinstance(value, float) and math.isnan(value)):
                rows.append({**base, "metric": metric, "value": float(value), "report": record["metric"],
                             "run": record["hash"], "training": record["training"]})
    columns = [*identity, "split", "level", "machine", "section", "metric", "value", "report", "run", "training"]
    unfinished = len({run.spec.hash for run in grid.runs} - set(finished["hash"] if len(finished) else []))
    return pd.DataFrame(rows, columns=columns), unfinished


def check_format(fmt: str, destination: Path | None) -> None:
    """Refuse, before any work, a format asdbench cannot write here: Parquet without an engine installed, or to a
    terminal."""
    if fmt not in FORMATS:
        raise AsdbenchError(f"unknown results format {fmt!r}; formats: {', '.join(FORMATS)}")
    if fmt != "parquet":
        return
    if not any(importlib.util.find_spec(engine) for engine in PARQUET_ENGINES):
        raise AsdbenchError("--format parquet needs pyarrow or fastparquet, and neither is installed (asdbench does "
                            "not depend on either: pyarrow's wheel alone is 55 MB); `pip install pyarrow`, or write "
                            "--format csv or json, which hold the same rows")
    if destination is None:
        raise AsdbenchError("--format parquet is a binary file: name it with --write FILE")


def text(frame: pd.DataFrame, fmt: str) -> str:
    """The rows as CSV or as a JSON list of objects; every value as stored (no rounding, no exponent noise)."""
    if fmt == "csv":
        return frame.to_csv(index=False)
    return json.dumps(frame.astype(object).where(frame.notna(), None).to_dict(orient="records"), indent=1)


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    from asdbench.files.atomic import atomic_path

    with atomic_path(path) as temporary:
        frame.to_parquet(temporary, index=False)


def _scalar(value: Any) -> Any:
    """A coordinate as one cell: a list or table as its JSON text."""
    return json.dumps(value, sort_keys=True) if isinstance(value, list | dict) else value
