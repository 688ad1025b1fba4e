"""``asdbench leaderboard`` and ``plot-space``: what a grid's results and a pseudo-labelling look like."""

from __future__ import annotations

import argparse
from pathlib import Path

from tabulate import tabulate

from asdbench.cli.arguments import (
    Command,
    existing_store,
    override_arguments,
    overrides,
    tolerance,
)
from asdbench.files.outputs import distinct_outputs, output_file


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
    from asdbench.report import leaderboard

    grid = load_grid(args.grid, overrides=overrides(args))
    outputs = {"--write": args.write, "--heatmap": args.heatmap, "--json": args.json}
    for option, path in outputs.items():
        if path is not None:
            output_file(path, option)
    distinct_outputs({**outputs, "--check": args.check})
    reference = leaderboard.read_reference_cells(args.check) if args.check else None
    existing_store(args.out, args.grid)
    text = leaderboard.render(grid, args.out, args.format)
    comparison = leaderboard.compare(grid, args.out, *args.compare) if args.compare else None  # fails before writing
    print(text)
    if args.write:
        write_text_atomic(args.write, text)
    if args.heatmap:
        print(f"heat map: {leaderboard.heatmap(grid, args.out, args.heatmap)}")
    if args.json:
        write_text_atomic(args.json, leaderboard.render(grid, args.out, "json") + "\n")
    if comparison is not None:
        print(f"\n{args.compare[1]} - {args.compare[0]}: {leaderboard.describe_comparison(comparison)}")
    if reference is not None:
        failures = leaderboard.regressions(grid, args.out, reference, args.tolerance / 100)
        if failures:
            print(f"\nREGRESSION: {len(failures)} cells fell more than {args.tolerance} points below {args.check}:")
            print(tabulate(failures, headers="keys", tablefmt="github", floatfmt=".4f"))
            return 1
        print(f"\nno cell fell more than {args.tolerance} points below {args.check}")
    return 0


def _plot_space(args: argparse.Namespace) -> int:
    from asdbench.report.plots import plot_space, space_directory, unit_space

    space = unit_space(space_directory(args.run), args.machine, args.section)
    split, machine, section = space.name.split(".")[:3]
    out = output_file(args.out or args.run / "plots" / f"space_{split}_{machine}_{section}.png", "--out")
    print(plot_space(space, out))
    return 0
