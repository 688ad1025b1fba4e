"""What the organisers' CSV files say of the clips: the attribute tables beside each machine's clips, the
evaluator's ground truth of the eval test clips, and the released attributes of machines that conceal them."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from asdbench.data.clipfiles import clip_name
from asdbench.data.layout import (
    CORRESPONDENCE_HEADER,
    NO_ATTRIBUTE,
    attributes_from_string,
    ground_truth_file,
    hidden_attributes_file,
    labelled_tail,
    read_csv_lines,
    read_rows,
)
from asdbench.errors import DataError

GROUND_TRUTH_NAME = re.compile(r"^ground_truth_(?P<machine>.+)_section_(?P<section>\d{2})_test\.csv$")


def truth_units(gt_root: Path) -> list[tuple[Path, str, str]]:
    """(file, machine, section) of every ground-truth file of the 2022-2026 layout under ``gt_root``."""
    folder = gt_root / "ground_truth_data"
    if not folder.is_dir():
        return []  # reading the first machine's file names what is missing
    found = []
    for path in sorted(folder.iterdir()):
        match = GROUND_TRUTH_NAME.match(path.name)
        if match:
            found.append((path, match["machine"], match["section"]))
    return found


def check_ground_truth_covered(listed: Iterable[tuple[Path, str, str]], sections: Mapping[str, Sequence[str]],
                               raw: Path) -> None:
    """Every machine section a ground truth lists (``listed``: (file, machine, section)) must be on disk (``raw``:
    the split's folder, whose machines have ``sections``): a score over fewer of them than the evaluator's would
    pass for the official one."""
    for path, machine, section in listed:
        if machine not in sections:
            raise DataError(f"{path}: ground truth of machine {machine!r}, which is not in {raw} "
                            f"(machines there: {', '.join(sections)})")
        if section not in sections[machine]:
            raise DataError(f"{path}: ground truth of section {section} of {machine}, which it does not have in {raw} "
                            f"(its sections: {', '.join(sections[machine])})")


def attribute_table(path: Path) -> dict[str, dict[str, str]] | None:
    """Clip file name -> attributes, from a machine section's ``attributes_<section>.csv`` (None where there is none).

    Releases and re-packagings name a clip ``<machine>/<subset>/<file>.wav``,
    ``dev_data/raw/<machine>/<subset>/<file>.wav`` or just ``<file>.wav``, and one 2023 eval machine (ToyDrone)
    writes the bare stem; a row is therefore keyed by its file name alone, which is unique within a machine.
    """
    if not path.exists():
        return None
    table: dict[str, dict[str, str]] = {}
    line_of: dict[str, int] = {}
    rows = read_csv_lines(path)
    header = rows[0][1] if rows else None
    if not header or header[0] != "file_name":
        raise DataError(f"{path}: expected a header starting with file_name, got {header!r}")
    for line, row in rows[1:]:
        name = row_file_name(row[0])
        if name in line_of:
            raise DataError(f"{path}: lines {line_of[name]} and {line} both give the attributes of {name}")
        line_of[name] = line
        table[name] = _attribute_pairs(row[1:], path, line)
    return table


def _attribute_pairs(values: list[str], path: Path, line: int) -> dict[str, str]:
    """Key/value columns of one ``attributes_<section>.csv`` row; empty trailing pairs pad short rows, and
    ``noAttribute`` stands alone. A key without a value, or a value without a key, would silently lose the
    clip's attributes."""
    values = values + [""] * (len(values) % 2)
    pairs = {}
    for key, value in zip(values[0::2], values[1::2]):
        if key and not value and key != NO_ATTRIBUTE:
            raise DataError(f"{path}, line {line}: attribute {key!r} has no value; expected key,value pairs")
        if value and not key:
            raise DataError(f"{path}, line {line}: value {value!r} has no attribute name; expected key,value pairs")
        if key and key != NO_ATTRIBUTE:
            pairs[key] = value
    return pairs


def row_file_name(entry: str) -> str:
    """``dev_data/raw/fan/train/x.wav``, ``fan/train/x.wav``, ``x.wav`` and ``x`` all name ``x.wav``."""
    name = entry.strip().rsplit("/", 1)[-1]
    return clip_name(Path(name))


def read_ground_truth(gt_root: Path, machine: str, section: str) -> dict[str, dict]:
    """short name -> label, domain and attributes from the evaluator's three CSVs for one machine."""
    labels_file = ground_truth_file(gt_root, "data", machine, section)
    domains_file = ground_truth_file(gt_root, "domain", machine, section)
    attributes_file = ground_truth_file(gt_root, "attributes", machine, section)
    labels = {row[0]: row[1] for row in read_rows(labels_file, columns=2)}
    domains = {row[0]: row[1] for row in read_rows(domains_file, columns=2)}
    attributes = {row[0]: row[1:] for row in read_rows(attributes_file, columns=2)} \
        if attributes_file.exists() else {}
    if set(labels) != set(domains):
        raise DataError(f"{labels_file} and {domains_file} list different clips")
    truth = {}
    for name, label in labels.items():
        if label not in ("0", "1") or domains[name] not in ("0", "1"):
            raise DataError(f"{labels_file}: row {name!r} must have 0/1 label and domain")
        labelled, full = (attributes.get(name, []) + ["", ""])[:2]
        attribute_tail = labelled_tail(labelled, attributes_file) if labelled else ""
        hidden = attributes_from_string(labelled_tail(full, attributes_file)) \
            if full and attribute_tail == NO_ATTRIBUTE else {}
        truth[name] = {
            "label": "anomaly" if label == "1" else "normal",
            "domain": "target" if domains[name] == "1" else "source",
            "attributes": attributes_from_string(attribute_tail),
            "attribute_string": attribute_tail,
            "hidden": hidden,
            "source": str(labels_file),
        }
    return truth


def read_hidden_attributes(root: Path, split: str, machine: str, section: str, subset: str) -> dict[str, str]:
    """file name -> the real attribute tail, from a released correspondence file (empty where absent)."""
    path = hidden_attributes_file(root, split, machine, section, subset)
    if not path.exists():
        return {}
    rows = read_rows(path, columns=2)
    if not rows or tuple(rows[0][:2]) != CORRESPONDENCE_HEADER:
        raise DataError(f"{path}: expected the header {','.join(CORRESPONDENCE_HEADER)}")
    return {row_file_name(on_disk): labelled_tail(full, path) for full, on_disk, *_ in rows[1:]}
