"""``asdbench ls``, ``show`` and ``prune``: a run store as something to look at, and to clear of what no grid needs."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from asdbench.cli.arguments import Command
from asdbench.errors import PathError


def add_commands(command: Command) -> None:
    sub = command("ls", _ls, "list a run store: trainings and their scorings, pseudo-label tables and what is set "
                  "aside, with what each is, its state, size and age")
    sub.add_argument("out", type=Path, nargs="?", default=Path("runs"), help="the run store (default: runs)")

    sub = command("show", _show, "one training or run: what it is in words, its results, provenance and history")
    sub.add_argument("run", help="a training or run folder, or a hash (or its start) in --out")
    sub.add_argument("--out", type=Path, default=Path("runs"), help="the run store a hash is looked for in")

    sub = command("prune", _prune, "remove from a run store what none of the given grids refers to (trainings, "
                  "scorings, pseudo-label tables) and everything set aside; a dry run unless --yes")
    sub.add_argument("out", type=Path, help="the run store")
    sub.add_argument("grids", type=Path, nargs="+", metavar="GRID", help="the grid files whose runs to keep")
    sub.add_argument("--yes", action="store_true", help="remove them (default: only list them)")


def _store(path: Path) -> Path:
    if not path.is_dir():
        raise PathError(f"{path}: no run store there (no such folder)")
    return path


def _ls(args: argparse.Namespace) -> int:
    from asdbench.contract.registry import get_registry
    from asdbench.report.storeview import listing

    print(listing(_store(args.out), get_registry(), shutil.get_terminal_size().columns))
    return 0


def _show(args: argparse.Namespace) -> int:
    from asdbench.contract.registry import get_registry
    from asdbench.report.storeview import find, show

    print(show(find(args.run, args.out), get_registry()))
    return 0


def _prune(args: argparse.Namespace) -> int:
    from asdbench.contract.registry import get_registry
    from asdbench.grid.expand import load_grid
    from asdbench.report.storeview import prune_plan, referenced
    from asdbench.store.listing import unreferenced

    registry = get_registry()
    trainings, scorings, tables = referenced([load_grid(path, registry) for path in args.grids], registry)
    dropped = [e for e in unreferenced(_store(args.out), trainings, scorings, tables) if e.state != "running"]
    print(prune_plan(dropped))
    if tables is None:
        print("every pseudo-label table is kept: a grid's data is not there to tell which tables it uses")
    if not dropped:
        return 0
    if not args.yes:
        print(f"\ndry run: nothing removed; `asdbench prune {args.out} {' '.join(map(str, args.grids))} --yes` "
              "removes them")
        return 0
    for entry in dropped:
        if entry.path.is_dir():
            shutil.rmtree(entry.path)
        else:
            entry.path.unlink()
    print("\nremoved")
    return 0
