"""What a finished run leaves behind, said in a few lines: its scores next to a baseline's, the files it wrote
and the disk space they take.

``asdbench baseline`` stores its reports as ``results.json`` in the same shape as a run's, so that
``asdbench run SPEC --baseline DIR`` can put the two side by side: the official score per split and every
machine's hmean, as a table and, with ``--plot``, as a bar chart.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tabulate import tabulate

from asdbench.errors import AsdbenchError
from asdbench.files.atomic import write_json_atomic
from asdbench.report.plots import save_figure
from asdbench.report.terminal import human_size
from asdbench.scoring.official import Report, report_from_dict

RESULTS = "results.json"
SCORE_FILE_PATTERNS = "anomaly_score_*.csv, decision_result_*.csv"
NOT_OFFICIAL = "*"
"""Marks a split's figure that is not an official score (DCASE 2020 has none; its report's summary is shown)."""

Reports = Mapping[str, Report | None]
"""One system's evaluation per split; None for a split without ground truth."""


def write_baseline_results(out: Path, system: str, reports: Reports) -> Path:
    """Store a baseline's reports in ``out/results.json`` (the ``splits`` part of a run's results)."""
    return write_json_atomic(out / RESULTS, {"system": system, "splits": {
        split: report.to_dict() if report else None for split, report in reports.items()}})


def read_results(directory: Path) -> tuple[str, dict[str, Report | None]]:
    """A baseline's (or a run's) name and reports from its ``results.json``; a clear error when it has none."""
    path = directory / RESULTS
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        splits = reports_of(data)
    except FileNotFoundError:
        raise AsdbenchError(f"{path}: no results here; --baseline takes the --out directory of "
                            "`asdbench baseline`") from None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise AsdbenchError(f"{path}: cannot read its results ({type(error).__name__}: {error})") from None
    return str(data.get("system", directory.name)), dict(splits)


def reports_of(results: Mapping[str, Any]) -> Reports:
    """The reports per split of a ``results.json`` (a run's or a baseline's)."""
    return {split: report_from_dict(report) if report else None for split, report in results["splits"].items()}


def official_table(systems: Mapping[str, Reports]) -> str:
    """Official score (%) per split, one row per system; '-' for a split a system has no ground truth for, and a
    figure that is not an official score (2020's) marked, with a note naming it."""
    splits = _splits(systems)
    rows = [[name] + [_percent(reports.get(split), None) for split in splits] for name, reports in systems.items()]
    table = tabulate(rows, headers=["system", *splits], tablefmt="github", disable_numparse=True)
    others = {report.headline[0] for reports in systems.values() for report in reports.values()
              if report is not None and report.official_score is None}
    return table + "".join(f"\n\n{NOT_OFFICIAL} {name}" for name in sorted(others))


def machine_table(systems: Mapping[str, Reports]) -> str:
    """Every machine's (machine section's) hmean (%), one column per system, so that where a system wins or loses
    is plain."""
    rows = []
    for split in _splits(systems):
        units = _units(systems, split)
        rows += [[split, _unit_label(unit, units, _unit_word(systems, split))]
                 + [_percent(reports.get(split), unit) for reports in systems.values()] for unit in units]
    return tabulate(rows, headers=["split", "machine", *systems], tablefmt="github", disable_numparse=True)


def machine_figure(systems: Mapping[str, Reports], out: Path) -> Path:
    """A PNG of every machine's hmean as grouped bars, one colour per system, one panel per split; each
    panel's title gives every system's official score."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    splits = [s for s in _splits(systems) if any(reports.get(s) for reports in systems.values())]
    if not splits:
        raise AsdbenchError("no split has ground truth: there is nothing to plot")
    figure, axes = plt.subplots(1, len(splits), figsize=(6 * len(splits), 4.5), squeeze=False, sharey=True)
    width = 0.8 / len(systems)
    for axis, split in zip(axes[0], splits):
        units = _units(systems, split)
        positions = np.arange(len(units))
        scores = []
        for index, (name, reports) in enumerate(systems.items()):
            report = reports.get(split)
            hmeans = {(m.machine, m.section): 100 * m.hmean for m in report.machines} if report else {}
            axis.bar(positions + (index - (len(systems) - 1) / 2) * width,
                     [hmeans.get(unit, np.nan) for unit in units], width, label=name)
            scores.append(f"{name} {_percent(report, None)}")
        axis.axhline(50, color="grey", linewidth=0.8, linestyle="--")  # chance
        axis.set_xticks(positions, [_unit_label(unit, units, _unit_word(systems, split)) for unit in units], rotation=30, ha="right")
        axis.set_title(f"{split}: official score " + ", ".join(scores), fontsize="medium")
        axis.set_ylim(0, 100)
    axes[0][0].set_ylabel("hmean of the machine's AUCs and pAUCs (%)")  # which ones: its year's (docs/metrics.md)
    axes[0][0].legend(loc="lower left", fontsize="small")
    return save_figure(figure, out, bbox_inches="tight")


def disk_usage(path: Path) -> int:
    """Bytes taken by the files under ``path`` (0 when it does not exist)."""
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def files_written(run_dir: Path, training_dir: Path, splits: list[str], extra: Mapping[str, Path] = {}) -> str:
    """Where a run put what, one line each."""
    lines = [f"  run:         {run_dir}  (spec.json, results.json, provenance.json)",
             f"  score files: {run_dir / 'scores'}/{{{','.join(splits)}}}  ({SCORE_FILE_PATTERNS})",
             f"  training:    {training_dir}  (checkpoints/, embeddings/, trained.json)"]
    lines += [f"  {name + ':':<12} {path}" for name, path in extra.items()]
    return "\n".join(lines)


def space_used(places: Mapping[str, Path]) -> str:
    """'name PATH SIZE' for each place, the disk space a user may want back."""
    return "\n".join(f"  {name + ':':<12} {human_size(disk_usage(path)):>9}  {path}" for name, path in places.items())


def _splits(systems: Mapping[str, Reports]) -> list[str]:
    return list(dict.fromkeys(split for reports in systems.values() for split in reports))


def _units(systems: Mapping[str, Reports], split: str) -> list[tuple[str, str]]:
    """(machine, section) of every machine section any system has a report of in ``split``."""
    return sorted({(m.machine, m.section) for reports in systems.values() if reports.get(split)
                   for m in reports[split].machines})


def _unit_word(systems: Mapping[str, Reports], split: str) -> str:
    """What the reports of ``split`` call a unit (``section``; ``id`` in 2020): a split without any report has no
    units to label."""
    return next((reports[split].UNIT_WORD for reports in systems.values() if reports.get(split)), "section")


def _unit_label(unit: tuple[str, str], units: list[tuple[str, str]], word: str) -> str:
    """A machine's name, with its section (``word``: what the split's report calls it, a 2020 one ``id``) where a
    machine of the split has several."""
    several = len({section for _, section in units}) > 1
    return f"{unit[0]} {word} {unit[1]}" if several else unit[0]


def _percent(report: Report | None, unit: tuple[str, str] | None) -> str:
    if report is None:
        return "-"
    if unit is None:
        return f"{100 * report.headline[1]:.2f}" + ("" if report.official_score is not None else NOT_OFFICIAL)
    hmeans = {(m.machine, m.section): m.hmean for m in report.machines}
    return f"{100 * hmeans[unit]:.2f}" if unit in hmeans else "-"
