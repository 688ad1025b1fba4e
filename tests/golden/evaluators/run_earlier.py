"""Run the DCASE 2020, 2021 or 2022 evaluator on systems' submission files and write the figures it prints as JSON.

    python run_earlier.py EVALUATOR GROUND_TRUTH SYSTEMS OUT_JSON

EVALUATOR is a checkout of y-kawagu/dcase2020_task2_evaluator (``evaluator.py``), y-kawagu/dcase2021_task2_evaluator
or Kota-Dohi/dcase2022_evaluator; its script is run as it is, in the folder layout it expects, which is made in a
scratch folder of links (none of the three takes paths: they read and write relative to the working folder, the
2021 and 2022 ones stop if ``teams_result/`` exists, and the 2022 one evaluates ``teams/<any>/<team>/``).
GROUND_TRUTH is, for 2020, a folder holding ``eval_data_list.csv``, else one holding ``ground_truth_data/`` (and
for 2022 ``ground_truth_domain/``); SYSTEMS holds one folder of submission files per system. Used by
``regenerate.sh`` (our inputs, in a throwaway environment) and by tests/test_real_evaluators.py (the real ground
truth, where the evaluators are checked out). It imports only the standard library; nothing of asdbench.

The JSON keeps the evaluator's own labels, per system:

- 2020: ``machines``: machine type -> ``ids`` (ID -> {"AUC", "pAUC"}) and ``Average`` ({"AUC", "pAUC"});
- 2021: ``machines``: machine type -> ``rows`` ("<section> <domain>" -> {"AUC", "pAUC", "precision", "recall",
  "F1 score"}) and ``means`` (its four mean rows, by label, by column); ``means`` (the rows "... over all machine
  types, sections, and domains"); ``official score``;
- 2022: ``machines``: machine type -> ``sections`` (section -> its row, by column) and ``means``; ``means``;
  ``official score`` and ``official score ci95``.

A figure the evaluator prints as nan (a mean over no values) is null.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import math
import os
import runpy
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

OVER_ALL = " over all machine types, sections, and domains"
SCRIPTS = {"evaluator.py": 2020, "dcase2021_task2_evaluator.py": 2021, "dcase2022_task2_evaluator.py": 2022}


def script_of(evaluator: Path) -> tuple[Path, int]:
    for name, year in SCRIPTS.items():
        if (evaluator / name).is_file():
            return evaluator / name, year
    raise SystemExit(f"{evaluator}: none of {', '.join(SCRIPTS)}")


def run(evaluator: Path, ground_truth: Path, systems: Path, work: Path) -> tuple[int, dict[str, Path]]:
    """Run the evaluator in ``work`` (its layout, linked to the inputs); returns its year and each system's result
    CSV."""
    script, year = script_of(evaluator)
    teams = work / "teams"
    teams.mkdir()
    names = sorted(path.name for path in systems.iterdir() if path.is_dir())
    if year == 2020:
        (work / "eval_data_list.csv").symlink_to((ground_truth / "eval_data_list.csv").resolve())
        for name in names:
            (teams / name).symlink_to((systems / name).resolve())
        results = {name: teams / f"result_{name}.csv" for name in names}
    else:
        for folder in {2021: ("ground_truth_data",), 2022: ("ground_truth_data", "ground_truth_domain")}[year]:
            (work / folder).symlink_to((ground_truth / folder).resolve())
        parent = teams / "systems" if year == 2022 else teams
        parent.mkdir(exist_ok=True)
        for name in names:
            (parent / name).symlink_to((systems / name).resolve())
        results = {name: work / "teams_result" / f"{name}_result.csv" for name in names}
    here = os.getcwd()
    os.chdir(work)
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):  # a line per machine, section and figure
            runpy.run_path(str(script), run_name="__main__")
    except SystemExit as stop:
        raise SystemExit(f"{script} stopped ({stop.code}); it printed:\n{printed.getvalue()[-2000:]}") from None
    finally:
        os.chdir(here)
    return year, results


def read_lines(path: Path) -> list[list[str]]:
    with open(path, newline="") as handle:
        return list(csv.reader(handle))


def number(text: str) -> float | None:
    value = float(text)
    return None if math.isnan(value) else value


def read_2020(path: Path) -> dict:
    machines: dict = {}
    lines = read_lines(path)
    for index, line in enumerate(lines):
        if line == ["id", "AUC", "pAUC"]:
            machine = machines.setdefault(lines[index - 1][0], {"ids": {}})
            for row in lines[index + 1:]:
                if not row:
                    break
                figures = {"AUC": number(row[1]), "pAUC": number(row[2])}
                if row[0] == "Average":
                    machine["Average"] = figures
                else:
                    machine["ids"][row[0]] = figures
    return {"machines": machines}


def read_sections(path: Path, year: int) -> dict:
    """A 2021 or 2022 result CSV: each machine type's rows and mean rows, the rows over all, the official score (and
    its ci95)."""
    lines = read_lines(path)
    machines: dict = {}
    means: dict = {}
    figures: dict = {}
    machine: dict | None = None
    header: list[str] = []
    for index, line in enumerate(lines):
        if not line:
            continue
        if line[0] == "section":  # a machine type's header; its name is the line before
            machine = machines.setdefault(lines[index - 1][0], {"rows" if year == 2021 else "sections": {},
                                                                 "means": {}})
            header = line
        elif line[:3] == ["", "", "AUC"]:
            header = line
        elif line[0].endswith(OVER_ALL):
            means[line[0]] = dict(zip(header[2:], map(number, line[2:])))
        elif line[0] in ("arithmetic mean", "harmonic mean", "source harmonic mean", "target harmonic mean"):
            machine["means"][line[0]] = dict(zip(header[2:], map(number, line[2:])))
        elif line[0] in ("official score", "official score ci95"):
            figures[line[0]] = number(line[2])
        elif year == 2021 and machine is not None and len(line) == len(header):
            machine["rows"][f"{line[0]} {line[1]}"] = dict(zip(header[2:], map(number, line[2:])))
        elif year == 2022 and machine is not None and len(line) == len(header):
            machine["sections"][line[0]] = dict(zip(header[1:], map(number, line[1:])))
    return {"machines": machines, "means": means, **figures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("evaluator", "ground_truth", "systems", "out"):
        parser.add_argument(name, type=lambda text: Path(text).resolve())  # the evaluator runs in a scratch folder
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="asdbench-earlier-") as directory:
        year, results = run(args.evaluator, args.ground_truth, args.systems, Path(directory))
        systems = {name: read_2020(path) if year == 2020 else read_sections(path, year)
                   for name, path in results.items()}
    commit = subprocess.run(["git", "-C", str(args.evaluator), "rev-parse", "HEAD"], capture_output=True, text=True)
    libraries = ("numpy", "scikit-learn") + (("scipy",) if year > 2020 else ()) + (("pandas",) if year == 2022 else ())
    figures = {
        "evaluator": script_of(args.evaluator)[0].name,
        "year": year,
        "commit": commit.stdout.strip() or None,
        "python": sys.version.split()[0],
        "libraries": {name: metadata.version(name) for name in libraries},
        "systems": systems,
    }
    args.out.write_text(json.dumps(figures, indent=1) + "\n")


if __name__ == "__main__":
    main()
