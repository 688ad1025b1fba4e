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
from dataclasses import dataclass, field
from pathlib import Path

from asdbench.data.layout import INFO_FILE
from asdbench.errors import DataError

SPLITS = ("dev", "eval")
GROUND_TRUTH_LAYOUTS = {
    "evaluator-2020": "eval_data_list.csv: a line <machine> before each machine's rows <id_nn_8 digits>.wav,"
                      "<labelled name>,<0|1> (0 normal, 1 anomalous)",
    "evaluator-2021": "ground_truth_data/ground_truth_<machine>_section_<nn>_<source|target>_test.csv, rows "
                      "<clip>,<0|1>: one file per machine, section and domain",
    "evaluator-2022": "ground_truth_<data|domain>/ground_truth_<machine>_section_<nn>_test.csv, rows <clip>,<0|1> "
                      "(label: normal|anomaly; domain: source|target)",
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
LAYOUTS = {
    "ids": "<split>_data/raw/<machine>/{train,test}/<normal|anomaly>_id_<nn>_<8 digits>.wav, eval test clips "
           "id_<nn>_<8 digits>.wav: machine IDs in place of sections, no domains, no attributes",
    "domain-folders": "<split>_data/raw/<machine>/{train,source_test,target_test}/section_<nn>_<source|target>_"
                      "<train|test>_<normal|anomaly>_<4 digits>[_<attributes>].wav, eval test clips "
                      "section_<nn>_<source|target>_test_<4 digits>.wav",
    "sections": "<split>_data/raw/<machine>/{train,test}/section_<nn>_<source|target>_<train|test>_<normal|anomaly>_"
                "<4 digits>_<attributes>.wav and attributes_<nn>.csv, eval test clips section_<nn>_<4 digits>.wav",
}
"""How a year's clips are foldered and named, by name: what :attr:`Year.layout` names (asdbench.data.layouts)."""
READER_OPTIONS = ("ground_truth", "hidden_attributes", "supplemental", "channel")
"""The options a year's dataset reader may take besides ``root`` (asdbench.data.readers documents each)."""


@dataclass(frozen=True)
class Year:
    """One year of DCASE Task 2 data, as the organisers distribute and score it."""

    year: int
    machines: Mapping[str, tuple[str, ...]]
    """Split -> the organisers' machine types, in the order of their lists."""
    sections: Mapping[str, tuple[str, ...]]
    """Split -> the sections of the machine types of that split (``"00"``: the clip names' ``section_00``; for a
    year of machine IDs, ``"01"`` is ``id_01``): every machine's, where :attr:`machine_sections` names none."""
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
    layout: str = "sections"
    """How its clips are foldered and named (a key of :data:`LAYOUTS`)."""
    machine_sections: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)
    """Split -> machine type -> its sections, where they are not the split's (DCASE 2020's machine IDs)."""

    def sections_of(self, split: str, machine: str) -> tuple[str, ...]:
        """The sections (or machine IDs) of ``machine`` in ``split``: its own, else the split's."""
        return self.machine_sections.get(split, {}).get(machine, self.sections[split])

    @property
    def dataset(self) -> str:
        """The name of the year's dataset reader: ``dcase2023``."""
        return f"dcase{self.year}"


_DEV_2023 = ("bearing", "fan", "gearbox", "slider", "ToyCar", "ToyTrain", "valve")
_ONE_SECTION = {"dev": ("00",), "eval": ("00",)}
_MACHINES_2020 = ("ToyCar", "ToyConveyor", "fan", "pump", "slider", "valve")
_IDS_2020 = {split: {machine: ids[split] for machine, ids in (
    *((machine, {"dev": ("00", "02", "04", "06"), "eval": ("01", "03", "05")}) for machine in ("fan", "pump", "slider",
                                                                                              "valve")),
    ("ToyCar", {"dev": ("01", "02", "03", "04"), "eval": ("05", "06", "07")}),
    ("ToyConveyor", {"dev": ("01", "02", "03"), "eval": ("04", "05", "06")}),
)} for split in SPLITS}
_MACHINES_2021 = ("ToyCar", "ToyTrain", "fan", "gearbox", "pump", "slider", "valve")
_SIX_SECTIONS = {"dev": ("00", "01", "02"), "eval": ("03", "04", "05")}

YEARS: dict[int, Year] = {year.year: year for year in (
    Year(2020, {"dev": _MACHINES_2020, "eval": _MACHINES_2020},
         {split: tuple(sorted({s for ids in _IDS_2020[split].values() for s in ids})) for split in SPLITS},
         channels=1, longest_clip_seconds=11.0, supplemental=False, ground_truth="evaluator-2020",
         metric="dcase2020", score_files="id", options=("ground_truth",), layout="ids", machine_sections=_IDS_2020),
    Year(2021, {"dev": _MACHINES_2021, "eval": _MACHINES_2021}, _SIX_SECTIONS, channels=1, longest_clip_seconds=10.0,
         supplemental=False, ground_truth="evaluator-2021", metric="dcase2021", score_files="section-domain",
         options=("ground_truth",), layout="domain-folders"),
    Year(2022, {"dev": ("ToyCar", "ToyTrain", "bearing", "fan", "gearbox", "slider", "valve"),
                "eval": ("ToyCar", "ToyTrain", "bearing", "fan", "gearbox", "slider", "valve")},
         _SIX_SECTIONS, channels=1, longest_clip_seconds=10.0, supplemental=False, ground_truth="evaluator-2022",
         metric="dcase2022", score_files="section", options=("ground_truth",)),
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
