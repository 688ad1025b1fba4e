"""Run an official DCASE Task 2 evaluator on systems' score files and write the figures it reports as JSON.

    python run_official.py EVALUATOR GROUND_TRUTH SYSTEMS OUT_JSON

EVALUATOR is a checkout of nttcslab/dcase202X_task2_evaluator (its ``dcase202X_task2_evaluator.py`` is run as
it is, as its own ``03_evaluation_eval_data.sh`` runs it, with ``--out_all True``); GROUND_TRUTH holds
``ground_truth_{data,domain,attributes}/``; SYSTEMS holds one folder of ``anomaly_score_*`` and
``decision_result_*`` files per system. Used by ``regenerate.sh`` (our inputs, in a throwaway environment) and by
tests/test_evaluator_report.py (the real ground truth, where present). It imports only the standard library and
what the evaluator imports (numpy, pandas, scikit-learn, scipy): nothing of asdbench.

Two of the evaluator's imports are given stand-ins, which change no figure: ``tools.plot_anm_score`` (box plots
of the scores, which need librosa, seaborn and matplotlib; its calls draw nothing here), and, on Python >= 3.12,
which has no ``distutils``, ``distutils.util.strtobool`` (it parses ``--out_all``).

The JSON keeps the evaluator's own labels: per system, ``machines`` (each machine's section row, by column),
``means`` (the rows "arithmetic mean over all machine types, sections, and domains" etc., by column), the
"official score" and "official score ci95", and ``paper`` (its ``teams_official_score_paper.csv``: per metric,
h-mean, a-mean and each machine).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import os
import runpy
import subprocess
import sys
import tempfile
import types
from importlib import metadata
from pathlib import Path

OVER_ALL = ", over all machine types, sections, and domains"  # the means rows end so (after their label)


class _NoFigures:
    """Stands in for tools.plot_anm_score.AnmScoreFigData: the evaluator only draws box plots with it."""

    def anm_score_to_figdata(self, scores, title=""):
        return None

    def append_figdata(self, figdata):
        pass

    def show_fig(self, *args, **kwargs):
        pass


def _stand_ins() -> None:
    tools, plots = types.ModuleType("tools"), types.ModuleType("tools.plot_anm_score")
    plots.AnmScoreFigData = _NoFigures
    tools.plot_anm_score = plots
    sys.modules |= {"tools": tools, "tools.plot_anm_score": plots}
    try:
        import distutils.util  # Python <= 3.11
    except ImportError:
        distutils, util = types.ModuleType("distutils"), types.ModuleType("distutils.util")
        util.strtobool = lambda text: {"y": 1, "yes": 1, "t": 1, "true": 1, "on": 1, "1": 1,
                                       "n": 0, "no": 0, "f": 0, "false": 0, "off": 0, "0": 0}[text.lower()]
        distutils.util = util
        sys.modules |= {"distutils": distutils, "distutils.util": util}


def run(evaluator: Path, ground_truth: Path, systems: Path, work: Path) -> Path:
    """Run the evaluator in ``work`` (its expected layout, linked to the inputs); returns ``work``."""
    script = next(evaluator.glob("dcase20*_task2_evaluator.py"))
    for name in ("ground_truth_data", "ground_truth_domain", "ground_truth_attributes"):
        (work / name).symlink_to((ground_truth / name).resolve())
    (work / "teams").mkdir()
    (work / "teams" / "team").symlink_to(systems.resolve())
    _stand_ins()
    sys.argv = [str(script), "--teams_root_dir", "./teams", "--result_dir", "./teams_result",
                "--additional_result_dir", "./teams_additional_result", "--dir_depth", "2", "--out_all", "True"]
    here = os.getcwd()
    os.chdir(work)
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # it prints a line per machine, domain and file count
            runpy.run_path(str(script), run_name="__main__")
    finally:
        os.chdir(here)
    return work


def read_result(path: Path) -> dict:
    """The figures of one ``<system>_result.csv``."""
    with open(path, newline="") as handle:
        lines = [line for line in csv.reader(handle)]
    machines, means, figures = {}, {}, {}
    for index, line in enumerate(lines):
        if line and line[0] == "section":  # a machine's header; its name is the line before, its row the next
            machines[lines[index - 1][0]] = dict(zip(line[1:], map(float, lines[index + 1][1:])))
        elif line and line[0].endswith(OVER_ALL.removeprefix(",")):
            header = next(lines[i] for i in range(index, -1, -1) if lines[i][:3] == ["", "", "AUC"])
            means[line[0]] = dict(zip(header[2:], map(float, line[2:])))
        elif line and line[0] in ("official score", "official score ci95"):
            figures[line[0]] = float(line[2])
    return {"machines": machines, "means": means, **figures}


def read_paper(path: Path) -> dict:
    """``teams_official_score_paper.csv``: system -> metric -> column (h-mean, a-mean, machines) -> value."""
    with open(path, newline="") as handle:
        header, *rows = list(csv.reader(handle))
    paper: dict = {}
    for system, metric, *values in rows:
        paper.setdefault(system, {})[metric] = {column: float(value)
                                                for column, value in zip(header[2:], values) if value}
    return paper


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("evaluator", "ground_truth", "systems", "out"):
        parser.add_argument(name, type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="asdbench-official-") as directory:
        work = run(args.evaluator, args.ground_truth, args.systems, Path(directory))
        paper = read_paper(work / "teams_additional_result" / "teams_official_score_paper.csv")
        systems = {path.name.removesuffix("_result.csv"): read_result(path)
                   for path in sorted((work / "teams_result").glob("*_result.csv"))}
    commit = subprocess.run(["git", "-C", str(args.evaluator), "rev-parse", "HEAD"], capture_output=True, text=True)
    figures = {
        "evaluator": next(args.evaluator.glob("dcase20*_task2_evaluator.py")).name,
        "commit": commit.stdout.strip() or None,
        "python": sys.version.split()[0],
        "libraries": {name: metadata.version(name) for name in ("numpy", "pandas", "scikit-learn", "scipy")},
        "systems": {name: {**figures, "paper": paper[name]} for name, figures in systems.items()},
    }
    args.out.write_text(json.dumps(figures, indent=1) + "\n")


if __name__ == "__main__":
    main()
