"""The DCASE 2021 Task 2 formats: test clips in one folder per domain, names that always say their domain, and the
evaluator's ground truth in one file per machine, section and domain. Writers and parsers.

docs/datasets.md gives the sources: ``train/section_00_source_train_normal_0000_<attributes>.wav``,
``source_test/section_00_source_test_anomaly_0000.wav`` and ``target_test/...`` (the 2021 baseline's README; a dev
test name's attribute tail is not confirmed, so one is read where present), eval test clips
``section_03_source_test_0000.wav``, and the 2021 evaluator's ``ground_truth_data/ground_truth_<machine>_section_<nn>_
<source|target>_test.csv`` with rows ``<eval test name>,<0|1>``. The attribute tail of a training clip's name is read
as it is: its form differs between machine types.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from asdbench.data.layout import ParsedName, csv_text, read_csv_lines
from asdbench.errors import DataError
from asdbench.files.atomic import write_text_atomic

DOMAIN_TEST_FOLDERS = {"source_test": "source", "target_test": "target"}
"""The folders of a machine's test clips, and the domain of each."""
LABELLED_2021 = re.compile(r"^section_(?P<section>\d{2})_(?P<domain>source|target)_(?P<subset>train|test)_"
                           r"(?P<label>normal|anomaly)_(?P<index>\d{4})(?:_(?P<attributes>.+))?\.wav$")
SHORT_2021 = re.compile(r"^section_(?P<section>\d{2})_(?P<domain>source|target)_test_(?P<index>\d{4})\.wav$")
GROUND_TRUTH_2021 = re.compile(r"^ground_truth_(?P<machine>.+)_section_(?P<section>\d{2})_(?P<domain>source|target)"
                               r"_test\.csv$")


def parse_2021_name(name: str) -> ParsedName:
    """``section_<nn>_<source|target>_<train|test>_<normal|anomaly>_<4 digits>[_<attributes>].wav`` or the eval test
    name ``section_<nn>_<source|target>_test_<4 digits>.wav`` (domain known, label not)."""
    match = LABELLED_2021.match(name)
    if match:
        return ParsedName(name, match["section"], int(match["index"]), match["domain"], match["subset"],
                          match["label"], match["attributes"] or "")
    match = SHORT_2021.match(name)
    if match:
        return ParsedName(name, match["section"], int(match["index"]), match["domain"])
    raise DataError(f"{name}: not a DCASE 2021 Task 2 clip name; expected section_<nn>_<source|target>_<train|test>_"
                    "<normal|anomaly>_<id>[_<attributes>].wav or section_<nn>_<source|target>_test_<id>.wav")


def clip_file_name_2021(subset: str, domain: str, label: str, index: int, attribute_string: str, section: str) -> str:
    tail = f"_{attribute_string}" if attribute_string else ""
    return f"section_{section}_{domain}_{subset}_{label}_{index:04d}{tail}.wav"


def eval_test_file_name_2021(domain: str, index: int, section: str) -> str:
    return f"section_{section}_{domain}_test_{index:04d}.wav"


def ground_truth_file_2021(gt_root: Path, machine: str, section: str, domain: str) -> Path:
    return gt_root / "ground_truth_data" / f"ground_truth_{machine}_section_{section}_{domain}_test.csv"


def write_ground_truth_2021(gt_root: Path, machine: str, section: str, domain: str,
                            rows: Sequence[tuple[str, bool]]) -> Path:
    """One machine section's ground truth of one domain: (eval test name, anomalous) rows, sorted by name."""
    return write_text_atomic(ground_truth_file_2021(gt_root, machine, section, domain),
                             csv_text([[name, int(anomalous)] for name, anomalous in sorted(rows)]))


def read_truth_2021(gt_root: Path, machine: str, section: str) -> dict[str, dict]:
    """Eval test name -> its label and domain (no attributes) for one machine section: both domains' files."""
    truth = {}
    for domain in ("source", "target"):
        path = ground_truth_file_2021(gt_root, machine, section, domain)
        for line, row in read_csv_lines(path):
            if len(row) < 2 or row[1].strip() not in ("0", "1"):
                raise DataError(f"{path}, line {line}: expected <eval test name>,<0|1>, got {row!r}")
            truth[row[0]] = {"label": "anomaly" if row[1].strip() == "1" else "normal", "domain": domain,
                             "attributes": {}, "attribute_string": "", "hidden": {}, "source": str(path)}
    return truth


def truth_units_2021(gt_root: Path) -> list[tuple[Path, str, str]]:
    """(file, machine, section) of every ground-truth file of the 2021 layout under ``gt_root``."""
    folder = gt_root / "ground_truth_data"
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.iterdir()):
        match = GROUND_TRUTH_2021.match(path.name)
        if match:
            found.append((path, match["machine"], match["section"]))
    return found
