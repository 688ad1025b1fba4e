"""The report's HTML pages, rendered from :mod:`asdbench.report.site.content` with Jinja2 templates (autoescaped:
a row label or a note is text, never markup). Every page embeds the numbers it shows as JSON (``<script
type="application/json" id="numbers">``), the tidy rows of ``asdbench results`` for its runs (the index: all of
them), so that a reader's script, and the tests, read the very values the page shows."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from asdbench.report.site.content import MACHINE_METRIC_ORDER, Run, SiteContent, Table, TableRow, machine_table
from asdbench.report.site.figures import Space
from asdbench.scoring.official import SPLIT_VALUES

CHART_JS = "chart.umd.min.js"
"""Chart.js 4.6.1, vendored unchanged (assets/NOTICE.md): the charts, drawn in the browser from the embedded
numbers."""
ASSETS = (CHART_JS, "site.js", "site.css", "NOTICE.md")


def environment() -> Environment:
    env = Environment(loader=PackageLoader("asdbench.report.site", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["percent"] = percent
    return env


def percent(value: float | None) -> str:
    """A fraction as the tables print it: percent to 2 decimals."""
    return "" if value is None else f"{100 * value:.2f}"


def write_assets(site: Path) -> None:
    source = files("asdbench.report.site") / "assets"
    (site / "assets").mkdir(parents=True, exist_ok=True)
    for name in ASSETS:
        (site / "assets" / name).write_bytes((source / name).read_bytes())


def write_index(env: Environment, content: SiteContent, heatmaps: dict[int, str], site: Path) -> None:
    charts = {table.number: _table_chart(table) for table in content.tables}
    numbers = {"results": content.rows, "tables": [_table_numbers(table) for table in content.tables]}
    _write(env, "index.html", site, "index.html", content=content, heatmaps=heatmaps, charts=charts,
           numbers=numbers, title=f"{content.grid.path.stem}: report")


def write_row(env: Environment, content: SiteContent, table: Table, row: TableRow, site: Path) -> None:
    runs = [content.runs[run_hash] for run_hash in row.runs]
    rows = [line for run in runs for line in run.rows]
    splits = list(dict.fromkeys(line["split"] for line in rows))
    charts = {split: _machine_chart(runs, split) for split in splits}
    per_split = {split: _split_lines(runs, split) for split in splits}
    _write(env, "row.html", site, row.page, content=content, table=table, row=row, runs=runs,
           splits=splits, charts=charts, per_split=per_split, numbers={"results": rows, "comparisons": [
               {"other": c["other"], **c["result"]} for c in row.comparisons]},
           title=f"{row.label}: {table.title}")


def write_run(env: Environment, content: SiteContent, run: Run, described: str, spaces: list[Space],
              scores: dict[str, list[str]], site: Path) -> None:
    splits = list(dict.fromkeys(line["split"] for line in run.rows))
    split_values = {split: [line for line in run.rows if line["split"] == split and line["level"] == "split"]
                    for split in splits}
    machines = {split: machine_table(run.rows, split) for split in splits}
    name = ", ".join(f"{axis} {value}" for axis, value in run.coordinates.items())
    _write(env, "run.html", site, run.page, content=content, run=run, described=described,
           spaces=spaces, scores=scores, splits=splits, split_values=split_values, machines=machines,
           numbers={"results": run.rows}, title=f"run {run.hash} ({name})")


def _write(env: Environment, template: str, site: Path, page: str, *, numbers: Any, **context: Any) -> None:
    """Render ``template`` to the site's ``page`` (a path relative to its root, which the page's links start from)."""
    out = site / page
    out.parent.mkdir(parents=True, exist_ok=True)
    root = "../" * page.count("/")
    out.write_text(env.get_template(template).render(numbers=json.dumps(numbers, allow_nan=False), root=root,
                                                      **context), encoding="utf-8")


def _table_numbers(table: Table) -> dict[str, Any]:
    """A table's cells as ``leaderboard --json`` holds them (fractions), with the best marks; a published figure's
    ``source`` is its citation (null for a measured cell)."""
    return {"number": table.number, "value": table.value, "cells": [
        {"row": row.label, "column": cell.column, "mean": cell.mean, "std": cell.std, "count": cell.count,
         "expected": cell.expected, "best": cell.best, "published": row.published,
         "source": None if cell.mark is None else table.sources[cell.mark - 1]}
        for row in table.rows for cell in row.cells]}


def _table_chart(table: Table) -> dict[str, Any]:
    """A grouped bar chart of a table's means (%): a group per row, a bar per column."""
    return {"labels": [row.label for row in table.rows], "unit": f"{table.value} (%)", "datasets": [
        {"label": column, "data": [_percent_of(cell.mean) for row in table.rows for cell in row.cells
                                   if cell.column == column]} for column in table.columns]}


def _machine_chart(runs: list[Run], split: str) -> dict[str, Any]:
    """Each machine section's hmean (%) in ``split``, a bar per run behind the row."""
    tables = [(run, machine_table(run.rows, split)[1]) for run in runs]
    units = list(dict.fromkeys(_unit(line) for _, lines in tables for line in lines))
    datasets = []
    for run, lines in tables:
        hmeans = {_unit(line): line["values"].get("hmean") for line in lines}
        datasets.append({"label": f"seed {run.seed}", "data": [_percent_of(hmeans.get(unit)) for unit in units]})
    return {"labels": units, "unit": "hmean (%)", "datasets": datasets}


def _split_lines(runs: list[Run], split: str) -> dict[str, Any]:
    """The runs' split values (official score ...) and machine tables in ``split``, a line per run."""
    metrics = [metric for metric in SPLIT_VALUES if any(line["split"] == split and line["metric"] == metric
                                                        for run in runs for line in run.rows)]
    values = [{"run": run, "values": {line["metric"]: line["value"] for line in run.rows
                                      if line["split"] == split and line["level"] == "split"}} for run in runs]
    tables = [(run, *machine_table(run.rows, split)) for run in runs]
    machine_metrics = [metric for metric in MACHINE_METRIC_ORDER if any(metric in found for _, found, _ in tables)]
    return {"metrics": metrics, "runs": values, "machine_metrics": machine_metrics,
            "machines": [(run, lines) for run, _, lines in tables]}


def _unit(line: dict[str, Any]) -> str:
    return f"{line['machine']} {line['section']}".strip()


def _percent_of(value: float | None) -> float | None:
    return None if value is None else 100 * value
