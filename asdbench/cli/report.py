"""``asdbench leaderboard``, ``results`` and ``plot-space``: what a grid's results and a pseudo-labelling look like."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from tabulate import tabulate

from asdbench.cli.arguments import (
    Command,
    existing_store,
    override_arguments,
    overrides,
    positive_int,
    tolerance,
)
from asdbench.errors import SpecError
from asdbench.files.outputs import distinct_outputs, output_file

if TYPE_CHECKING:
    from asdbench.grid.expand import Grid


def add_commands(command: Command) -> None:
    sub = command("leaderboard", _leaderboard, "render a grid's table from stored results")
    sub.add_argument("grid", type=Path)
    sub.add_argument("--out", type=Path, default=Path("runs"), help="the run store (default: runs)")
    sub.add_argument("--format", choices=["md", "csv", "json"], default="md")
    sub.add_argument("--write", type=Path, help="also write the table to this file")
    sub.add_argument("--heatmap", type=Path, help="also draw the table as a heat-map PNG")
    sub.add_argument("--compare", nargs=2, metavar=("ROW_A", "ROW_B"), help="paired test of two rows")
    sub.add_argument("--json", type=Path, help="also write the cells (mean, std, count) as JSON")
    sub.add_argument("--check", type=Path, help="a committed --json file: fail if any cell fell below it")
    sub.add_argument("--tolerance", type=tolerance, default=3.0,
                     help="for --check, in points of percent (default 3)")
    sub.add_argument("--check-published", type=tolerance, metavar="POINTS",
                     help="a reproduction check: fail if any cell is more than POINTS points of percent from the "
                          "figure the grid file publishes for it ([[table.published]]); not the regression gate")
    sub.add_argument("--table", type=positive_int, metavar="N",
                     help="only the grid file's N-th table ([[table]]); --compare, --json and --check need one "
                          "table, the first by default")
    table = sub.add_argument_group("a table given here instead of the grid file's (fields as in [table])")
    table.add_argument("--rows", nargs="+", metavar="NAME", help="groups, axes, split, machine or section")
    table.add_argument("--columns", nargs="+", metavar="NAME", help="as --rows (default: split)")
    table.add_argument("--value", help="a split's or a machine's value (default: official_score)")
    table.add_argument("--machines", nargs="+", metavar="MACHINE", help="a per-machine table's machines")
    table.add_argument("--aggregate", help="hmean: add the hmean over the machines shown")
    override_arguments(sub)

    sub = command("results", _results, "every finished run's metrics as one tidy table (a row per run, split, "
                  "machine section and metric, with the grid's coordinates and the seed)")
    sub.add_argument("grid", type=Path)
    sub.add_argument("--out", type=Path, default=Path("runs"), help="the run store (default: runs)")
    sub.add_argument("--format", default="csv",
                     help="csv (default), json, or parquet (needs pyarrow or fastparquet, and --write)")
    sub.add_argument("--write", type=Path, metavar="FILE", help="write to this file instead of standard output")
    override_arguments(sub)

    sub = command("report", _report, "write a grid's results as a static site: sortable tables, heat maps, charts, a page "
                  "per row and per run (machines, score files, feature spaces, provenance); no server or network")
    sub.add_argument("grid", type=Path)
    sub.add_argument("--site", type=Path, required=True, metavar="DIR",
                     help="the folder to write (new, empty, or a site asdbench report wrote, which it replaces)")
    sub.add_argument("--out", type=Path, default=Path("runs"), help="the run store (default: runs)")
    override_arguments(sub)

    sub = command("plot-space", _plot_space, "draw a machine section's pseudo-labelling space, coloured by true labels")
    sub.add_argument("run", type=Path, help="a run or training directory (or a pseudolabels/<hash> directory)")
    sub.add_argument("--machine", required=True)
    sub.add_argument("--section", help="the machine's section, where it has several (e.g. 01)")
    sub.add_argument("--out", type=Path,
                     help="PNG file (default: RUN/plots/space_<split>_<machine>_<section>.png)")


def _leaderboard(args: argparse.Namespace) -> int:
    from asdbench.files.atomic import write_text_atomic
    from asdbench.grid.expand import load_grid
    from asdbench.report import gate, leaderboard

    grids = _tables(load_grid(args.grid, overrides=overrides(args)), args)
    outputs = {"--write": args.write, "--heatmap": args.heatmap, "--json": args.json}
    for option, path in outputs.items():
        if path is not None:
            output_file(path, option)
    heatmaps = [_numbered(args.heatmap, index, len(grids)) for index in range(len(grids))] if args.heatmap else []
    for path in heatmaps[1:]:
        output_file(path, "--heatmap")
    distinct_outputs({**outputs, "--check": args.check})
    one = grids[0]
    if len(grids) > 1 and (args.compare or args.json or args.check or args.format != "md"):
        raise SpecError(f"{args.grid} has {len(grids)} tables: --compare, --json, --check and --format csv|json take "
                        "one; name it with --table N (`asdbench results` gives every number of every run)")
    reference = gate.read_reference_cells(args.check) if args.check else None
    existing_store(args.out, args.grid)
    for grid in grids:
        leaderboard.check_table(grid)
    comparison = leaderboard.compare(one, args.out, *args.compare) if args.compare else None  # fails before printing
    reproductions = [_reproduction(grid, args) for grid in grids] if args.check_published is not None else []
    text = "\n".join(leaderboard.render(grid, args.out, args.format) for grid in grids)
    print(text)
    if args.write:
        write_text_atomic(args.write, text)
    if args.heatmap:
        from asdbench.report.heatmap import heatmap

        for grid, path in zip(grids, heatmaps):
            print(f"heat map: {heatmap(grid, args.out, path)}")
    if args.json:
        write_text_atomic(args.json, leaderboard.render(one, args.out, "json") + "\n")
    if comparison is not None:
        print(f"\n{args.compare[1]} - {args.compare[0]}: {leaderboard.describe_comparison(comparison)}")
    status = 0
    for text, reproduced in reproductions:
        print(text)
        status = status if reproduced else 1
    if reference is not None:
        failures = gate.regressions(one, args.out, reference, args.tolerance / 100)
        if failures:
            print(f"\nREGRESSION: {len(failures)} cells fell more than {args.tolerance} points below {args.check}:")
            print(tabulate(failures, headers="keys", tablefmt="github", floatfmt=".4f"))
            return 1
        print(f"\nno cell fell more than {args.tolerance} points below {args.check}")
    return status


def _reproduction(grid: Grid, args: argparse.Namespace) -> tuple[str, bool]:
    """``--check-published``'s comparisons of one table, as text, and whether every figure was reproduced;
    computed before anything is printed, so that a table without figures stops the command first."""
    from asdbench.report.leaderboard import table_frame
    from asdbench.report.published import describe_reproduction, published_cells, reproduction

    comparisons, unpublished = reproduction(grid, table_frame(grid, args.out), args.check_published)
    figures = published_cells(grid)
    references = list(dict.fromkeys(figures.loc[figures["reference"].astype(bool), "row"]))
    return describe_reproduction(comparisons, unpublished, args.check_published, grid.path, references)


def _tables(grid: Grid, args: argparse.Namespace) -> list[Grid]:
    """The grid once per table to render: the one the options give, the file's ``--table N``-th, or each of its."""
    from asdbench.grid.expand import table_from

    given = {key: getattr(args, key) for key in ("rows", "columns", "value", "machines", "aggregate")
             if getattr(args, key) is not None}
    if given:
        if args.table:
            raise SpecError("--table picks a table of the grid file; --rows, --columns, --value, --machines and "
                            "--aggregate give one instead: use either")
        return [grid.with_table(table_from(given, grid))]
    if args.table:
        if args.table > len(grid.tables):
            raise SpecError(f"--table {args.table}: {args.grid} has {len(grid.tables)} table"
                            f"{'s' if len(grid.tables) > 1 else ''}")
        return [grid.with_table(grid.tables[args.table - 1])]
    return [grid.with_table(table) for table in grid.tables]


def _numbered(path: Path, index: int, count: int) -> Path:
    """The heat map of the ``index``-th of ``count`` tables: ``path`` itself for the first, ``NAME-2.png`` ..."""
    return path if index == 0 else path.with_name(f"{path.stem}-{index + 1}{path.suffix}")


def _results(args: argparse.Namespace) -> int:
    from asdbench.files.atomic import write_text_atomic
    from asdbench.grid.expand import load_grid
    from asdbench.report import results

    results.check_format(args.format, args.write)
    if args.write:
        output_file(args.write, "--write")
    grid = load_grid(args.grid, overrides=overrides(args))
    frame, unfinished = results.tidy(grid, existing_store(args.out, args.grid))
    if args.format == "parquet":
        results.write_parquet(frame, args.write)
    elif args.write:
        write_text_atomic(args.write, results.text(frame, args.format))
    else:
        print(results.text(frame, args.format), end="" if args.format == "csv" else "\n")
    if args.write:
        print(f"{len(frame)} rows: {args.write}")
    if unfinished:
        print(f"{unfinished} of {len(grid.runs)} runs have not finished and have no rows "
              f"(`asdbench status {args.grid} --out {args.out}`)", file=sys.stderr)
    return 0


def _report(args: argparse.Namespace) -> int:
    from asdbench.contract.registry import get_registry
    from asdbench.grid.expand import load_grid
    from asdbench.report.leaderboard import check_table
    from asdbench.report.site.build import check_destination, write_site

    check_destination(args.site)
    registry = get_registry()
    grid = load_grid(args.grid, registry, overrides=overrides(args))
    for table in grid.tables:
        check_table(grid.with_table(table))
    index = write_site(grid, existing_store(args.out, args.grid), args.site, registry)
    print(f"report: {index} (open it in a browser; the folder {args.site} is the whole site)")
    return 0


def _plot_space(args: argparse.Namespace) -> int:
    from asdbench.report.plots import plot_space, space_directory, unit_space

    space = unit_space(space_directory(args.run), args.machine, args.section)
    split, machine, section = space.name.split(".")[:3]
    out = output_file(args.out or args.run / "plots" / f"space_{split}_{machine}_{section}.png", "--out")
    print(plot_space(space, out))
    return 0
