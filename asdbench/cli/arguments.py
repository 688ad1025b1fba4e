"""What several commands take alike: argument types and groups, and the checks of what they name."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from asdbench.data.years import SPLITS, YEARS
from asdbench.errors import PathError
from asdbench.spec.overrides import Override, parse_overrides

if TYPE_CHECKING:
    import pandas as pd

Command = Callable[..., argparse.ArgumentParser]
"""``command(name, handler, help, **options)``: adds a subcommand whose ``handler(args)`` returns the exit status."""


def positive_int(text: str) -> int:
    """An argparse type: an integer of at least 1 (``--bands 0`` would pool every clip to nothing, ``grid --workers 0``
    ran in this process as if it said 1)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def tolerance(text: str) -> float:
    """An argparse type: a tolerance of `leaderboard --check`, a finite number of points >= 0 (NaN compares false
    with every difference, so that it would pass every cell)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a finite number of points >= 0, got {text!r}")
    return value


def dataset_arguments(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--dataset-root", type=Path, required=True, help="folder holding dev_data/ and eval_data/")
    sub.add_argument("--year", type=int, required=True, choices=sorted(YEARS))
    sub.add_argument("--split", required=True, choices=SPLITS)
    sub.add_argument("--ground-truth", type=Path, help="the official evaluator's ground-truth folder (eval split)")
    sub.add_argument("--hidden-attributes", type=Path, help="released hidden attributes (2024, 2025), if any")


def code_change_arguments(sub: argparse.ArgumentParser) -> None:
    """What to do with finished runs whose code has changed since they were made (asdbench.store.stale); by default
    the command stops before any work and names them."""
    group = sub.add_mutually_exclusive_group()
    group.add_argument("--rerun", choices=["changed"],
                       help="recompute finished trainings and scorings made with other code than is installed "
                            "(the old ones are set aside, not deleted)")
    group.add_argument("--keep-results", action="store_true",
                       help="keep finished results made with other code than is installed, and record that choice "
                            "in them")


def override_arguments(sub: argparse.ArgumentParser) -> None:
    """``--set KEY=VALUE``, repeatable: a field of the run spec, or of a grid's base spec (asdbench.spec.overrides)."""
    sub.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                     help="set a field of the run spec (of a grid: of its base spec) by its dotted path to a TOML "
                          "value, as if the file said so: --set train.epochs=1 --set 'system.backend={name=\"knn\", "
                          "k=3}' (repeatable)")


def overrides(args: argparse.Namespace) -> list[Override]:
    """The ``--set`` options, parsed."""
    return parse_overrides(args.overrides)


def code_policy(args: argparse.Namespace) -> str:
    """The policy (asdbench.store.stale.apply) for finished runs whose code has changed that the options chose."""
    return "rerun" if args.rerun else "keep" if args.keep_results else "refuse"


def read_manifest(args: argparse.Namespace) -> pd.DataFrame:
    """The manifest of ``--split`` of the layout of ``--year`` at ``--dataset-root``; a dataset ``asdbench synth``
    wrote there is read with the sections it has."""
    from asdbench.data.layout import INFO_FILE
    from asdbench.data.manifest import build_manifest
    from asdbench.data.readers import synth_description

    sections = None
    if (args.dataset_root / INFO_FILE).exists():
        own = synth_description(args.dataset_root)[1]
        sections = own[args.split] if own else None
    return build_manifest(
        args.dataset_root, args.year, args.split,
        ground_truth=args.ground_truth, hidden_attributes=args.hidden_attributes, sections=sections,
    )


# --- handlers ---------------------------------------------------------------------------------------------


def existing_store(path: Path, grid: Path) -> Path:
    """The run store ``--out`` names, which must exist: a mistyped one would show every run pending."""
    if not path.exists():
        raise PathError(f"--out {path}: no run store there (no such folder); name the store of {grid}'s runs, "
                        f"or run them first with `asdbench grid {grid} --out {path}`")
    if not path.is_dir():
        raise PathError(f"--out {path} is a file, not a run store (a folder)")
    return path
