"""The DCASE 2020 Task 2 formats: clips named by machine ID instead of section, and the evaluator's one
ground-truth file. Writers and parsers.

docs/datasets.md gives the sources: clips ``normal_id_01_00000000.wav`` / ``anomaly_id_01_00000263.wav`` in ``train/``
and ``test/`` (the 2020 baseline's README), eval test clips ``id_05_00000000.wav``, and ``eval_data_list.csv`` (Zenodo
record 3951620; the 2020 evaluator reads it): no header, a line holding a machine type before that machine's rows
``<eval test name>,<labelled name>,<0|1>``. A machine ID is read as the clip's section (``id_01`` -> ``"01"``), and,
as DCASE 2020 has no domains, every clip is of the source domain (as ASDKit reads 2020).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from asdbench.data.layout import ParsedName, csv_text, read_csv_lines
from asdbench.errors import DataError
from asdbench.files.atomic import write_text_atomic

LABELLED_2020 = re.compile(r"^(?P<label>normal|anomaly)_id_(?P<section>\d{2})_(?P<index>\d{8})\.wav$")
SHORT_2020 = re.compile(r"^id_(?P<section>\d{2})_(?P<index>\d{8})\.wav$")
EVAL_DATA_LIST = "eval_data_list.csv"
"""The name of the 2020 evaluator's ground-truth file."""


def parse_2020_name(name: str) -> ParsedName:
    """``<normal|anomaly>_id_<nn>_<8 digits>.wav`` (a train or dev test clip) or ``id_<nn>_<8 digits>.wav`` (an eval
    test clip): the ID is the section, the domain always "source"; the name does not say train or test."""
    match = LABELLED_2020.match(name)
    if match:
        return ParsedName(name, match["section"], int(match["index"]), "source", None, match["label"])
    match = SHORT_2020.match(name)
    if match:
        return ParsedName(name, match["section"], int(match["index"]), "source")
    raise DataError(f"{name}: not a DCASE 2020 Task 2 clip name; expected <normal|anomaly>_id_<nn>_<8 digits>.wav or "
                    "id_<nn>_<8 digits>.wav")


def clip_file_name_2020(label: str, section: str, index: int) -> str:
    return f"{label}_id_{section}_{index:08d}.wav"


def eval_test_file_name_2020(section: str, index: int) -> str:
    return f"id_{section}_{index:08d}.wav"


def eval_data_list(gt_root: Path) -> Path:
    """The ground-truth file: ``gt_root`` itself where it is a file, else its ``eval_data_list.csv``."""
    return gt_root if gt_root.is_file() else gt_root / EVAL_DATA_LIST


def read_eval_data_list(path: Path) -> dict[str, dict[str, tuple[str, str, int]]]:
    """Machine -> eval test name -> (labelled name, label, line) from ``eval_data_list.csv``; a DataError naming
    the file and line for a row before any machine line, a label other than 0/1, or a name twice."""
    table: dict[str, dict[str, tuple[str, str, int]]] = {}
    machine = None
    for line, row in read_csv_lines(path):
        if len(row) == 1 or (len(row) > 1 and not any(row[1:])):
            machine = row[0].strip()
            table.setdefault(machine, {})
            continue
        if machine is None:
            raise DataError(f"{path}, line {line}: a clip row before the first machine line")
        if len(row) < 3 or row[2].strip() not in ("0", "1"):
            raise DataError(f"{path}, line {line}: expected <eval test name>,<labelled name>,<0|1>, got {row!r}")
        if row[0] in table[machine]:
            raise DataError(f"{path}, line {line}: {row[0]} is listed twice for {machine}")
        table[machine][row[0]] = (row[1], "anomaly" if row[2].strip() == "1" else "normal", line)
    return table


def write_eval_data_list(path: Path, rows: Mapping[str, Sequence[tuple[str, str, bool]]]) -> Path:
    """``eval_data_list.csv`` from machine -> (eval test name, labelled name, anomalous) rows, each machine's sorted
    by name as the organisers' file is."""
    table: list[list[object]] = []
    for machine, clips in rows.items():
        table.append([machine])
        table += [[name, labelled, int(anomalous)] for name, labelled, anomalous in sorted(clips)]
    return write_text_atomic(path, csv_text(table))


def read_truth_2020(gt_root: Path, machine: str, section: str) -> dict[str, dict]:
    """Eval test name -> its label (domain "source", no attributes) for one machine ID, from ``eval_data_list.csv``."""
    path = eval_data_list(gt_root)
    rows = read_eval_data_list(path).get(machine, {})
    return {name: {"label": label, "domain": "source", "attributes": {}, "attribute_string": "", "hidden": {},
                   "source": str(path)}
            for name, (_, label, _) in rows.items() if name.startswith(f"id_{section}_")}


def truth_units_2020(gt_root: Path) -> list[tuple[Path, str, str]]:
    """(file, machine, ID) of every machine ID ``eval_data_list.csv`` lists."""
    path = eval_data_list(gt_root)
    if not path.is_file():
        return []
    return sorted({(path, machine, name[3:5]) for machine, rows in read_eval_data_list(path).items() for name in rows})
