"""Leaderboards rendered from stored results only: mean (std) over what the table does not show (seeds).

Values are official scores (or per-machine metrics) in percent, as the paper prints them; a per-machine table
may show some machines only and add their harmonic mean (Table III's "hmean"); the best mean of each column is
bold (unless every cell holds one run, where it may be a seed's luck); a cell with no finished run says
"missing", and a cell with only some of its runs says how many it has (``[3/5]``), never a zero.
Tables print percent; the CSV and JSON cells keep fractions and say so (``unit``). A heat-map PNG shows the same
table (:mod:`asdbench.report.heatmap`), and ``compare`` tells a real gain from noise with a paired Wilcoxon signed-rank test over the runs two
rows share.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.stats
from tabulate import tabulate

from asdbench.data.years import YEARS
from asdbench.errors import SpecError
from asdbench.grid.expand import Grid
from asdbench.report.published import cell_text as published_text
from asdbench.report.published import footnotes, with_published
from asdbench.scoring.means import clamped_hmean
from asdbench.scoring.official import (
    DEFAULT_METRIC,
    REPORTS,
    SPLIT_VALUES,
    UNIT_VALUES,
    metric_of,
    report_class,
    report_from_dict,
    unit_fields,
)
from asdbench.spec.identity import canonical_json
from asdbench.store.layout import RESULTS
from asdbench.store.stale import mixed_note
from asdbench.store.store import Store

CELL_UNIT = "fraction"
"""The unit of the CSV and JSON cells' mean and std, written in their ``unit`` field: 0.75, not 75 (%)."""
CELL_DECIMALS = 12
"""The decimals a cell's mean and std keep (of a fraction): far below any difference a metric can show, far above
the rounding of a mean or std of equal values (1e-15)."""
AGGREGATE = "hmean"
"""The machine label of a split's aggregate cell (``table.aggregate = "hmean"``), as the paper's Table III."""
MACHINE_VALUES = UNIT_VALUES
"""The values each machine (section) has, in the report of some year (asdbench.scoring.official)."""
TABLE_VALUES = (*SPLIT_VALUES, *MACHINE_VALUES)
"""What ``table.value`` may name: the values a split has once (official score, ci95, means) or each machine has, in
the report of some year; a record whose year's report lacks it is refused when the table is drawn."""


def check_table(grid: Grid) -> None:
    """Refuse a table whose value names no metric, or a split's value in a table per machine, before a grid runs
    (here, not in asdbench.grid.expand, because the metric names come with the metrics module, which `asdbench status`
    need not import). Every table of the grid is checked."""
    for index, table in enumerate(grid.tables):
        where = "table" if len(grid.tables) == 1 else f"table[{index}]"
        value, coordinates = table.value, table.rows + table.columns
        if value not in TABLE_VALUES:
            raise SpecError(f"{grid.path}: {where}.value must be one of {', '.join(TABLE_VALUES)}, got {value!r}")
        if value in SPLIT_VALUES and "machine" in coordinates:
            raise SpecError(f"{grid.path}: {where}.value {value!r} is a split's value, not a machine's: a table per "
                            f"machine shows one of {', '.join(MACHINE_VALUES)}")
        _check_years_report_value(grid, where, value)


def _check_years_report_value(grid: Grid, where: str, value: str) -> None:
    """Refuse, before a grid runs, a value that the official report of a run's year does not have (``official_score``
    of DCASE 2020). A dataset that is no year's reader (``synth``: its year is in its ``synth.json``) is checked when
    the table is drawn, as every stored report is."""
    readers = {facts.dataset: facts for facts in YEARS.values()}
    for run in grid.runs:
        facts = readers.get(run.spec.dataset["name"])
        if facts is None:
            continue
        values = report_class(facts.metric).SPLIT_VALUES if value in SPLIT_VALUES else unit_fields(facts.metric)
        if value not in values:
            coordinates = ", ".join(f"{axis} {coordinate}" for axis, coordinate in run.coordinates.items())
            raise SpecError(f"{grid.path}: {where}.value {value!r} is not a value of the {facts.metric} report of "
                            f"dataset {facts.dataset!r} ({coordinates}), which has {', '.join(values)} "
                            f"(docs/metrics.md); choose another {where}.value, or put that year in a grid of its own")


def records(grid: Grid, runs_root: Path) -> pd.DataFrame:
    """One row per (run, split) and per (run, split, machine, section), with the run's coordinates and whether it
    has finished. An unfinished run gets a row for each machine section that finished runs on its dataset and split
    show, so that a per-machine table marks it missing rather than leaving it out."""
    store = Store(runs_root)
    rows: list[dict[str, Any]] = []
    unfinished: list[tuple[dict[str, Any], str]] = []
    machines: dict[str, tuple[str, list[tuple[str, str]]]] = {}  # (dataset, split) -> metric, (machine, section)
    for run in grid.runs:
        results = store.results(run.spec)
        dataset = canonical_json(run.spec.dataset)
        for split in run.spec.dataset["splits"]:
            base = {**run.coordinates, "split": split, "hash": run.spec.hash, "training": run.spec.training_hash,
                    "results": str(store.directory(run.spec) / RESULTS)}
            report = results["splits"].get(split) if results else None
            if report is None:
                rows.append({**base, "machine": None, "section": None, "finished": results is not None})
                if results is None:
                    unfinished.append((base, f"{dataset}/{split}"))
                continue
            base["metric"] = metric_of(report)
            rows.append({**base, "machine": None, "section": None, "finished": True,
                         **report_from_dict(report).split_values()})
            rows.extend({**base, **machine, "finished": True} for machine in report["machines"])
            machines.setdefault(f"{dataset}/{split}",
                                (base["metric"], [(m["machine"], m["section"]) for m in report["machines"]]))
    for base, key in unfinished:
        metric, units = machines.get(key, (None, []))
        rows.extend({**base, "metric": metric, "machine": name, "section": section, "finished": False}
                    for name, section in units)
    return pd.DataFrame(rows)


def cell_records(grid: Grid, frame: pd.DataFrame, *, aggregates: bool = True) -> pd.DataFrame:
    """The records the table shows (its machines, and its aggregate rows unless ``aggregates`` is false),
    each with the row and column label of its cell."""
    check_table(grid)
    table = grid.table
    per_machine = table.value in MACHINE_VALUES
    chosen = frame[frame["machine"].notna()] if per_machine else frame[frame["machine"].isna()]
    if per_machine and table.machines:
        _check_machines(grid, frame)
        chosen = chosen[chosen["machine"].isin(table.machines)]
    _check_stored(grid, chosen)
    if chosen.empty:
        return chosen.assign(row="", column="")
    if aggregates and table.aggregate:
        chosen = _with_hmeans(chosen, by_split="split" in table.rows + table.columns)
    rows, columns = _with_sections(table.rows, table.columns, chosen if per_machine else chosen.iloc[:0])
    return chosen.assign(row=_labels(chosen, rows, " / "), column=_labels(chosen, columns, " "))


def _with_sections(rows: list[str], columns: list[str], machines: pd.DataFrame) -> tuple[list[str], list[str]]:
    """The table's coordinates, with "section" beside "machine" where a machine of the records has several
    sections and the table does not show them already: two sections of a machine are never one cell."""
    if "section" in rows + columns or machines.empty:
        return rows, columns
    several = machines[machines["machine"] != AGGREGATE].groupby(["split", "machine"])["section"].nunique().max() > 1
    if not several:
        return rows, columns
    beside = [[*names[: names.index("machine") + 1], "section", *names[names.index("machine") + 1:]]
              if "machine" in names else names for names in (rows, columns)]
    return beside[0], beside[1]


def _labels(records: pd.DataFrame, coordinates: list[str], separator: str) -> pd.Series:
    """Each record's label along ``coordinates``: their values joined, a section as ``section 01`` and a 2020 machine
    ID as ``id 01``, as its report calls it (the aggregate row of a per-machine table has none)."""
    shown = records[coordinates].astype(str)
    if "section" in coordinates:
        section = records["section"]
        metric = records["metric"] if "metric" in records else pd.Series(DEFAULT_METRIC, index=records.index)
        word = metric.fillna(DEFAULT_METRIC).map(lambda name: report_class(name).UNIT_WORD)
        shown["section"] = (word + " " + section.astype(str)).where(section.notna() & (section != ""), "")
    return shown.agg(lambda values: separator.join(value for value in values if value), axis=1)


def _check_machines(grid: Grid, frame: pd.DataFrame) -> None:
    """``table.machines`` must name machines of the finished results (the only place machine names are known
    without reading the dataset); before any run has finished there is nothing to check against."""
    finished = frame[frame["finished"] & frame["machine"].notna()] if "machine" in frame else frame.iloc[:0]
    if finished.empty:
        return
    known = list(dict.fromkeys(finished["machine"]))
    unknown = [machine for machine in grid.table.machines or [] if machine not in known]
    if unknown:
        raise SpecError(f"{grid.path}: table.machines names {unknown[0]!r}, which no finished run has; "
                        f"machines: {', '.join(known)}")


def _check_stored(grid: Grid, records: pd.DataFrame) -> None:
    """Every finished record must hold the table's value; one that is undefined there (the ci95 of a split with
    fewer than two clips of a class) would otherwise look unfinished."""
    value = grid.table.value
    finished = records[records["finished"]] if "finished" in records else records
    if finished.empty:
        return
    lacking = finished[finished[value].isna()] if value in finished else finished
    if len(lacking):
        first = lacking.iloc[0]
        where = f"split {first['split']}" + (f", machine {first['machine']} section {first['section']}"
                                             if pd.notna(first["machine"]) else "")
        report = REPORTS[first["metric"]] if "metric" in first and pd.notna(first["metric"]) else None
        reason = "is undefined"
        if report is not None and value not in (*report.SPLIT_VALUES, *unit_fields(report.METRIC)):
            split = pd.isna(first["machine"])
            names = report.SPLIT_VALUES if split else unit_fields(report.METRIC)
            reason = (f"is not a value of the {report.METRIC} report, whose {'splits' if split else 'machines'} have "
                      f"{', '.join(names[:6])}{', ...' if len(names) > 6 else ''} (docs/metrics.md)")
        raise SpecError(f"{first['results']}: {value!r} {reason} ({where}), so this table cannot show it; "
                        f"choose another table.value ({len(lacking)} such records in this table)")


def _with_hmeans(machines: pd.DataFrame, by_split: bool) -> pd.DataFrame:
    """Per-machine records plus, for each run (and split, when the table shows splits), a record of machine
    "hmean": the harmonic mean of the AUCs and pAUCs of the machines shown (those of its year's official score,
    ``SCORE_FIELDS``), i.e. the official score over just those machines (the paper's Table III "hmean"), placed
    after them."""
    summaries = []
    for _, group in machines.groupby(["hash", "split"] if by_split else ["hash"], sort=False):
        summary = {**{k: v for k, v in group.iloc[0].items() if k not in MACHINE_VALUES}, "machine": AGGREGATE,
                   "section": ""}
        if group["finished"].all():  # else the run is not finished, and its hmean cell says so
            scored = REPORTS[group["metric"].iloc[0]].SCORE_FIELDS
            summary["hmean"] = clamped_hmean(group[list(scored)].to_numpy(dtype=float).ravel())
        summaries.append(summary)
    combined = pd.concat([machines, pd.DataFrame(summaries)], ignore_index=True)
    split_order = {split: index for index, split in enumerate(dict.fromkeys(machines["split"]))}
    order = combined["split"].map(split_order) if by_split else 0
    return combined.assign(_split=order, _last=combined["machine"] == AGGREGATE) \
        .sort_values(["_split", "_last"], kind="stable").drop(columns=["_split", "_last"])


def table_frame(grid: Grid, runs_root: Path) -> pd.DataFrame:
    """Cells with mean, std (over the remaining coordinates, e.g. seeds), and how many runs they hold."""
    cells = cell_records(grid, records(grid, runs_root))
    expected = cells.groupby(["row", "column"], sort=False).size().rename("expected")
    frame = expected.to_frame().assign(mean=np.nan, std=np.nan, count=0)
    if grid.table.value in cells:
        values = cells[cells["finished"] & cells[grid.table.value].notna()]
        stats = values.groupby(["row", "column"], sort=False)[grid.table.value].agg(["mean", "std", "count"])
        frame.update(stats)
    # the summation's rounding (a std of 1.3e-15 over equal values) is no result: fractions to 12 decimals
    frame[["mean", "std"]] = frame[["mean", "std"]].round(CELL_DECIMALS)
    aggregate = cells["machine"].eq(AGGREGATE) if "machine" in cells else pd.Series(False, index=cells.index)
    frame["aggregate"] = cells.assign(aggregate=aggregate).groupby(["row", "column"], sort=False)["aggregate"].all()
    return frame.reset_index()


def spread(grid: Grid, cells: pd.DataFrame) -> str:
    """What a cell of ``cells`` (:func:`table_frame`) holds, for a title: ``mean (std) over seed, 3 runs a cell``,
    or ``one run per cell``, where there is no spread to show."""
    over = ", ".join(d for d in grid.dimensions if d not in grid.table.rows + grid.table.columns)
    if not over or bool((cells["expected"] <= 1).all()):
        return "one run per cell"
    low, high = int(cells["expected"].min()), int(cells["expected"].max())
    return f"mean (std) over {over}, {low if low == high else f'{low}-{high}'} runs a cell"


def render(grid: Grid, runs_root: Path, fmt: str = "md") -> str:
    """The table as markdown (percent), or its cells as CSV or JSON (fractions, which their ``unit`` says), the
    published figures of the grid file beside the measured cells (asdbench.report.published)."""
    measured = table_frame(grid, runs_root)
    cells = with_published(grid, measured)
    if fmt in ("csv", "json"):
        cells = cells.drop(columns=["aggregate", "mark", "label"]).assign(unit=CELL_UNIT)
        cells = cells.astype({"expected": "Int64", "count": "Int64"})  # whole numbers, null for a figure without
        cells = cells[[c for c in cells.columns if c not in ("published", "source")] + ["published", "source"]]
        if fmt == "csv":
            return cells.to_csv(index=False)
        return cells.to_json(orient="records", indent=2, double_precision=CELL_DECIMALS)  # pandas' default is 10
    if fmt != "md":
        raise SpecError(f"unknown leaderboard format {fmt!r}; formats: md, csv, json")
    columns = list(dict.fromkeys(cells["column"]))
    shown = spread(grid, measured)
    cells = marked_cells(grid, measured)
    body = []
    for label, row in cells.groupby("label", sort=False):
        published = bool(row["published"].iloc[0])
        by_column = {cell["column"]: cell for _, cell in row.iterrows()}
        body.append([label] + [("" if column not in by_column else published_text(by_column[column]) if published
                                else _format(by_column[column])) for column in columns])
    headers = [" / ".join(grid.table.rows)] + columns
    title = f"{grid.path.stem}: {grid.table.value} (%), {shown}"
    runs = {run.spec.hash for run in grid.runs}
    trainings = {run.spec.training_hash for run in grid.runs}
    levels = f"\n{len(runs)} runs, scored from {len(trainings)} trainings (`asdbench status` lists both levels)\n"
    note = f"{grid.table.note}\n\n" if grid.table.note else ""
    cited = "".join(f"\n{line}" for line in footnotes(grid))
    mixed = mixed_note([run.spec for run in grid.runs], Store(runs_root))
    return f"### {title}\n\n{note}" + tabulate(body, headers=headers, tablefmt="github", disable_numparse=True) + "\n" \
        + cited + ("\n" if cited else "") + levels + (f"{mixed}\n" if mixed else "")


def best_marks(grid: Grid, cells: pd.DataFrame) -> pd.Series:
    """Whether each cell of ``cells`` (:func:`table_frame`) holds its column's best mean: none where every cell
    holds one run, as there is no spread to show and the best mean may be the luckiest seed."""
    best = cells.groupby("column")["mean"].transform("max")
    return cells["mean"].notna() & np.isclose(cells["mean"], best) & (spread(grid, cells) != "one run per cell")


def marked_cells(grid: Grid, measured: pd.DataFrame) -> pd.DataFrame:
    """The measured cells (:func:`table_frame`) and the grid file's published figures as the table shows them
    (:func:`asdbench.report.published.with_published`), each measured cell's ``best`` mark (:func:`best_marks`;
    a published figure is never the best)."""
    cells = with_published(grid, measured)
    measured_rows = ~cells["published"].astype(bool)
    best = pd.Series(False, index=cells.index)
    best[measured_rows] = best_marks(grid, cells[measured_rows])
    return cells.assign(best=best)


def _format(cell: pd.Series) -> str:
    if not cell["count"] or pd.isna(cell["count"]):
        return "missing"
    text = f"{100 * cell['mean']:.2f}" + (f" ({100 * cell['std']:.2f})" if cell["count"] > 1 else "")
    if cell["best"]:
        text = f"**{text}**"
    if cell["count"] < cell["expected"]:
        text += f" [{int(cell['count'])}/{int(cell['expected'])}]"
    return text


def describe_comparison(result: dict[str, Any]) -> str:
    """:func:`compare`'s result in words, its mean difference in points of percent like the tables."""
    if result["mean_difference"] is None:
        return "no pairs of finished runs"
    text = f"{result['pairs']} pairs, mean difference {100 * result['mean_difference']:+.2f} points of percent"
    if "p_value" in result:
        text += f", Wilcoxon signed-rank statistic {result['wilcoxon_statistic']:g}, p = {result['p_value']:.3g}"
    if result["smallest_p"] >= SIGNIFICANCE:
        text += (f"; with {result['pairs']} pairs the test cannot reach p < {SIGNIFICANCE:g} whatever the "
                 f"differences (its smallest p is {result['smallest_p']:.3g}; it needs {pairs_needed()} pairs): add "
                 "seeds")
    return text


def compare(grid: Grid, runs_root: Path, first: str, second: str) -> dict[str, Any]:
    """Paired comparison of two rows over every (column, other coordinates) pair both have finished."""
    return compare_records(grid, records(grid, runs_root), runs_root, first, second)


def compare_records(grid: Grid, frame: pd.DataFrame, runs_root: Path, first: str, second: str) -> dict[str, Any]:
    """:func:`compare` on the :func:`records` of ``grid`` in the store ``runs_root``, read once for many pairs."""
    if first == second:
        raise SpecError(f"{grid.path}: --compare names row {first!r} twice; a row compared with itself differs by "
                        "nothing: name two rows")
    cells = cell_records(grid, frame, aggregates=False)
    rows = list(dict.fromkeys(cells["row"]))
    for name in (first, second):
        if rows and name not in rows:
            raise SpecError(f"{grid.path}: --compare names {name!r}, which is no row of this table; rows: "
                            f"{', '.join(rows)}")
    if grid.table.value not in cells:
        raise SpecError(f"{grid.path}: no finished run in {runs_root} to compare rows {first!r} and {second!r} "
                        "with (run the grid first)")
    cells = cells[cells["finished"] & cells[grid.table.value].notna()]
    keys = [c for c in cells.columns if c in grid.dimensions and c not in grid.table.rows] + ["column"]
    if "machine" in cells and cells["machine"].notna().any():
        keys += ["machine", "section"]
    pick = {name: cells[cells["row"] == name].set_index(keys)[grid.table.value] for name in (first, second)}
    for name, values in pick.items():
        if values.empty:
            raise SpecError(f"{grid.path}: no finished runs in row {name!r}; rows: "
                            f"{', '.join(dict.fromkeys(cells['row']))}")
    paired = pd.concat(pick, axis=1, join="inner").dropna()
    differences = (paired[second] - paired[first]).to_numpy()
    result = {"pairs": len(differences), "mean_difference": float(np.mean(differences)) if len(differences) else None,
              "smallest_p": smallest_p(len(differences))}
    if len(differences) >= 2 and np.any(differences != 0):
        test = scipy.stats.wilcoxon(differences)
        result |= {"wilcoxon_statistic": float(test.statistic), "p_value": float(test.pvalue)}
    return result


def smallest_p(pairs: int) -> float | None:
    """The smallest two-sided p-value the exact Wilcoxon signed-rank test can give for ``pairs`` pairs: every
    difference of one sign, 2 / 2^pairs (4 pairs: 0.125; 6 are needed for p < 0.05). None without pairs."""
    return 2.0 / 2**pairs if pairs else None


SIGNIFICANCE = 0.05
"""The level :func:`describe_comparison` says a comparison cannot reach with too few pairs."""


def pairs_needed() -> int:
    """The fewest pairs whose :func:`smallest_p` is below :data:`SIGNIFICANCE` (6)."""
    return next(pairs for pairs in range(1, 64) if (smallest_p(pairs) or 1) < SIGNIFICANCE)
