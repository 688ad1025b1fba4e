"""The facts of each DCASE Task 2 year in one table: what its data holds and how it is scored.

Everything that differs between years is a field of :class:`Year`: the machine types of each split, the sections
of each machine, the channels of a file, the longest clip, whether machines have a ``supplemental/`` folder, the
layout of the evaluator's ground truth, the official metric and the options of the year's dataset reader. The
dataset readers (:mod:`asdbench.data.readers`: one per row), the manifest (:mod:`asdbench.data.manifest`), the
command line (``--year``), the synthetic presets (:mod:`asdbench.synth.presets`) and docs/datasets.md (whose
table a test checks against this one) all read it, so that a new year is a row here, plus a reader where its
layout differs. docs/datasets.md gives the public source of every fact, and marks what could not be confirmed.

A machine folder that is not in its year's list is warned about, not refused (:func:`warn_unknown_machines`): a
re-packaging may add or rename machines, and the user's data is still read; but 2024 data read as ``dcase2023``
(``dataset.name``, ``--year``) does not pass unnoticed.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from asdbench.data.layout import INFO_FILE
from asdbench.errors import DataError

SPLITS = ("dev", "eval")
GROUND_TRUTH_LAYOUTS = {
    "evaluator-2023": "ground_truth_<data|domain|attributes>/ground_truth_<machine>_section_<nn>_test.csv, rows "
                      "<clip>,<0|1> (label: normal|anomaly; domain: source|target) and <clip>,<labelled name>,"
                      "<full name>",
}
"""The layouts of the organisers' evaluator ground truth, by name: what :attr:`Year.ground_truth` names."""
METRICS = {
    "dcase2020": "AUC and pAUC (p = 0.1) per machine ID, and each machine type's arithmetic means of them; no "
                 "official score (the evaluator has none, and the 2020 challenge ranked teams by a rule on their "
                 "ranks); asdbench's summary is the arithmetic mean over machine types of each one's mean AUC and "
                 "pAUC (ASDKit's official20); the 2020 evaluator's report (asdbench.scoring.reports.dcase2020)",
    "dcase2021": "the harmonic mean, over every machine, section and domain, of AUC and pAUC (p = 0.1) within the "
                 "domain (its normal clips against its anomalous clips), each clamped below at machine epsilon; the "
                 "2021 evaluator's report (asdbench.scoring.reports.dcase2021)",
    "dcase2022": "as dcase2023, per section; the 2022 evaluator's report adds each machine type's mean rows over its "
                 "sections (asdbench.scoring.reports.dcase2022)",
    "dcase2023": "the harmonic mean, over every machine and section, of AUC (source) and AUC (target) (that domain's "
                 "normal clips against every anomalous clip) and pAUC (p = 0.1, every clip), each clamped below at "
                 "machine epsilon; the 2023-2025 evaluators' report (asdbench.scoring.metrics)",
}
"""The official reports, by the evaluator whose report each is: what :attr:`Year.metric` names."""
SCORE_FILES = {
    "id": "anomaly_score_<machine>_id_<nn>.csv, the section being the machine ID; no decision files",
    "section": "anomaly_score_<machine>_section_<nn>_test.csv and decision_result_<machine>_section_<nn>_test.csv",
    "section-domain": "anomaly_score_<machine>_section_<nn>_<source|target>_test.csv and "
                      "decision_result_<machine>_section_<nn>_<source|target>_test.csv, each of one domain's clips",
}
"""The names of the official submission files, by layout: what :attr:`Year.score_files` names."""
READER_OPTIONS = ("ground_truth", "hidden_attributes", "supplemental", "channel")
"""The options a year's dataset reader may take besides ``root`` (asdbench.data.readers documents each)."""


@dataclass(frozen=True)
class Year:
    """One year of DCASE Task 2 data, as the organisers distribute and score it."""

    year: int
    machines: Mapping[str, tuple[str, ...]]
    """Split -> the organisers' machine types, in the order of their lists."""
    sections: Mapping[str, tuple[str, ...]]
    """Split -> the sections every machine type of that split has (``"00"``: the clip names' ``section_00``)."""
    channels: int
    """Channels of every audio file."""
    longest_clip_seconds: float
    """The longest clip of the year's data."""
    supplemental: bool
    """Whether machines may have a ``supplemental/`` folder beside ``train/`` and ``test/``."""
    ground_truth: str
    """The layout of the evaluator's ground truth (a key of :data:`GROUND_TRUTH_LAYOUTS`)."""
    metric: str
    """The official report and score (a key of :data:`METRICS`)."""
    score_files: str
    """The names of the official submission files (a key of :data:`SCORE_FILES`)."""
    options: tuple[str, ...]
    """The options of the year's dataset reader besides ``root`` (some of :data:`READER_OPTIONS`)."""

    @property
    def dataset(self) -> str:
        """The name of the year's dataset reader: ``dcase2023``."""
        return f"dcase{self.year}"


_DEV_2023 = ("bearing", "fan", "gearbox", "slider", "ToyCar", "ToyTrain", "valve")
_ONE_SECTION = {"dev": ("00",), "eval": ("00",)}

YEARS: dict[int, Year] = {year.year: year for year in (
    Year(2023, {"dev": _DEV_2023,
                "eval": ("bandsaw", "grinder", "shaker", "ToyDrone", "ToyNscale", "ToyTank", "Vacuum")},
         _ONE_SECTION, channels=1, longest_clip_seconds=18.0, supplemental=False, ground_truth="evaluator-2023",
         metric="dcase2023", score_files="section", options=("ground_truth",)),
    Year(2024, {"dev": _DEV_2023,
                "eval": ("3DPrinter", "AirCompressor", "BrushlessMotor", "HairDryer", "HoveringDrone", "RoboticArm",
                         "Scanner", "ToothBrush", "ToyCircuit")},
         _ONE_SECTION, channels=1, longest_clip_seconds=12.0, supplemental=False, ground_truth="evaluator-2023",
         metric="dcase2023", score_files="section", options=("ground_truth", "hidden_attributes")),
    Year(2025, {"dev": _DEV_2023,
                "eval": ("AutoTrash", "BandSealer", "CoffeeGrinder", "HomeCamera", "Polisher", "ScrewFeeder", "ToyPet",
                         "ToyRCCar")},
         _ONE_SECTION, channels=1, longest_clip_seconds=12.0, supplemental=True, ground_truth="evaluator-2023",
         metric="dcase2023", score_files="section", options=("ground_truth", "hidden_attributes", "supplemental")),
    Year(2026, {"dev": ("ToyCar", "ToyCarEmu", "bearingEmu", "fan", "gearboxEmu", "sliderEmu", "valveEmu"),
                "eval": ("ToyDrone", "ToothBrush", "SewingMachine", "BlowerDustCollector", "Sander")},
         _ONE_SECTION, channels=2, longest_clip_seconds=16.0, supplemental=True, ground_truth="evaluator-2023",
         metric="dcase2023", score_files="section", options=("ground_truth", "hidden_attributes", "supplemental", "channel")),
)}
"""Every year asdbench reads, by year (docs/datasets.md gives the source of each fact)."""


def year_facts(year: int) -> Year:
    """The row of ``year``; a DataError naming the years asdbench reads for another."""
    if year not in YEARS:
        raise DataError(f"unsupported DCASE year {year}; asdbench reads the Task 2 layouts of "
                        f"{', '.join(map(str, YEARS))}")
    return YEARS[year]


def warn_unknown_machines(root: Path, machines: Iterable[str], year: int, split: str, where: Path) -> None:
    """Warn, naming ``where`` (the split's folder), about machines not in ``year``'s ``split`` list, and which
    other years list them all; nothing for a synthetic dataset at ``root`` (its machines are the generator's)."""
    if (root / INFO_FILE).exists():
        return
    known = set(YEARS[year].machines[split])
    unknown = sorted(set(machines) - known, key=str.lower)
    if not unknown:
        return
    years = [other for other, facts in YEARS.items() if other != year and set(unknown) <= set(facts.machines[split])]
    hint = (f"they are DCASE {' and '.join(map(str, years))} {split} machines: is the year right (dataset.name, "
            "--year)?") if years else f"read as DCASE {year} data all the same (the lists: docs/datasets.md)"
    warnings.warn(f"{where}: {', '.join(unknown)} {'is not a' if len(unknown) == 1 else 'are not'} DCASE {year} "
                  f"Task 2 {split} machine{'s' if len(unknown) > 1 else ''} ({', '.join(sorted(known, key=str.lower))}); "
                  f"{hint}", stacklevel=3)
