"""The official DCASE Task 2 file formats: names, attribute tables, evaluator ground truth. Writers and parsers.

Confirmed against public copies (2026-11): the evaluators' ground-truth CSVs (nttcslab/dcase2024_task2_evaluator:
``ground_truth_data`` rows ``section_00_0001.wav,0``; ``ground_truth_domain`` the same with 0 = source and
1 = target; ``ground_truth_attributes`` rows ``short name, labelled name without .wav, full name``, no header)
and ``attributes_00.csv`` (header ``file_name,d1p,d1v[,d2p,d2v,...]``, rows ``<machine>/<subset>/<file>.wav``
followed by key/value pairs), and the released 2024 hidden attributes
(nttcslab/dcase2024_task2_evaluator ``ground_truth_attributes_all/{dev_data,eval_data}/<machine>/
attributes_00_{train,test}_correspondence.csv``: header ``source_file_name,target_file_name``, the full name with
the real attributes first, the ``noAttribute`` name on disk second). Some released labelled names leave out
``_test_`` (RoboticArm), so ground-truth names are read with :func:`labelled_tail`, which tolerates that.

DCASE 2025 adds a ``supplemental/`` folder per machine, of clean machine sound named in two forms: the eval
``section_00_machine_0001_.wav`` (the baseline's README) and the dev
``section_00_machine_source_0000_noAttribute.wav`` (the listing of Zenodo record 15097779); noise-only recordings
are taken to be named ``section_00_noise_...``, by analogy, not confirmed (:func:`parse_supplemental_name`).
DCASE 2026 has two-channel files (near microphone in channel 0, far in channel 1). docs/datasets.md gives every
year's layout and where each fact comes from.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from asdbench.errors import DataError
from asdbench.files.atomic import atomic_path, write_text_atomic

if TYPE_CHECKING:
    import pandas as pd

NO_ATTRIBUTE = "noAttribute"
SAMPLE_RATE = 16_000
"""The sample rate (Hz) of all DCASE Task 2 audio, defined here once; ``asdbench.data.audio`` re-exports it."""
LABELLED_NAME = re.compile(
    r"^section_(?P<section>\d{2})_(?P<domain>source|target)_(?P<subset>train|test)_"
    r"(?P<label>normal|anomaly)_(?P<index>\d{4})_(?P<attributes>.+)\.wav$"
)
SHORT_NAME = re.compile(r"^section_(?P<section>\d{2})_(?P<index>\d{4})\.wav$")
SUPPLEMENTAL_KINDS = {"machine": "clean machine sound", "noise": "noise only"}
"""What a supplemental clip holds, by the word its name carries."""
SUPPLEMENTAL_NAME = re.compile(r"^section_(?P<section>\d{2})_(?P<kind>machine|noise)(?:_(?P<rest>.*))?\.wav$")
"""A supplemental clip: what it holds is the word after the section; the rest is read by :data:`SUPPLEMENTAL_FORMS`."""
SUPPLEMENTAL_FORMS = (
    re.compile(r"^(?P<index>\d{4})_(?P<attributes>.*)$"),  # eval: section_00_machine_0001_.wav (baseline README)
    re.compile(r"^(?P<domain>source|target)_(?P<index>\d{4})_(?P<attributes>.+)$"),  # dev: Zenodo 15097779 listing
)
"""The rest of the two real forms of supplemental names, after ``section_00_<kind>_``."""
INFO_FILE = "synth.json"
"""What a dataset written by ``asdbench synth`` describes itself in, at its root (written last): the mark of a
synthetic dataset, whose machine names are its own."""


@dataclass(frozen=True)
class ParsedName:
    """The fields of a DCASE clip file name. Short eval test names carry only section and index."""

    file: str
    section: str
    index: int
    domain: str = "unknown"
    subset: str | None = "test"  # None: the name does not say (DCASE 2020)
    label: str = "unknown"
    attribute_string: str = ""

    @property
    def attributes(self) -> dict[str, str]:
        return attributes_from_string(self.attribute_string)


def parse_file_name(name: str) -> ParsedName:
    """Parse ``section_00_<domain>_<subset>_<label>_<id>_<attrs>.wav`` or the eval short ``section_00_<id>.wav``."""
    match = LABELLED_NAME.match(name)
    if match:
        return ParsedName(name, match["section"], int(match["index"]), match["domain"], match["subset"],
                          match["label"], match["attributes"])
    match = SHORT_NAME.match(name)
    if match:
        return ParsedName(name, match["section"], int(match["index"]))
    raise DataError(
        f"{name}: not a DCASE Task 2 clip name; expected "
        "section_00_<source|target>_<train|test>_<normal|anomaly>_<id>_<attributes>.wav or section_00_<id>.wav"
    )


def channel_count(channels: int) -> str:
    """``"mono"``, ``"2 channels"``: how messages name a file's channels."""
    return "mono" if channels == 1 else f"{channels} channels"


@dataclass(frozen=True)
class SupplementalName:
    """The fields of a supplemental clip's name, ``section_00_<machine|noise>_<rest>.wav``: what the clip holds
    (``kind``), and the domain and attributes where ``rest`` is one of the real forms. ``assumed`` says what
    was taken on trust in reading it ("" where nothing was)."""

    file: str
    section: str
    kind: str  # a key of SUPPLEMENTAL_KINDS
    domain: str = "unknown"
    attribute_string: str = ""
    assumed: str = ""


def parse_supplemental_name(name: str, path: Path) -> SupplementalName:
    """Parse ``name``, the name of the clip ``path`` in a ``supplemental/`` folder: any name whose field after
    the section says ``machine`` or ``noise`` (an error naming the file otherwise). A rest of the name in
    neither real form is kept as read, and the row says so: real names may come in forms not seen yet."""
    match = SUPPLEMENTAL_NAME.match(name)
    if not match:
        raise DataError(f"{path}: not a supplemental clip name; expected section_00_machine_<id>_.wav or "
                        "section_00_machine_<source|target>_<id>_<attributes>.wav (clean machine sound, or any "
                        "name section_00_machine_...), or section_00_noise_... (noise only)")
    kind, rest = match["kind"], match["rest"] or ""
    form = next((found for found in (f.match(rest) for f in SUPPLEMENTAL_FORMS) if found), None)
    assumed = [] if form else [f"name form not confirmed: read as {SUPPLEMENTAL_KINDS[kind]} from the word "
                               f"{kind!r} after the section; the rest of the name ({rest!r}) is not interpreted"]
    if kind == "noise":
        assumed.append("noise-only clip names are not confirmed: section_00_noise_... read by analogy with "
                       "section_00_machine_...")
    fields = form.groupdict() if form else {}
    return SupplementalName(name, match["section"], kind, fields.get("domain") or "unknown",
                            fields.get("attributes", ""), "; ".join(assumed))


def supplemental_file_name(kind: str, index: int, section: str) -> str:
    return f"section_{section}_{kind}_{index:04d}_.wav"


LENIENT_LABELLED_NAME = re.compile(
    r"^section_\d{2}_(?:source|target)_(?:train_|test_)?(?:normal|anomaly)_\d+_(?P<attributes>.+?)(?:\.wav)?$"
)
CORRESPONDENCE_HEADER = ("source_file_name", "target_file_name")


def labelled_tail(name: str, source: Path) -> str:
    """The attribute tail of a labelled name in an organisers' truth file (``_test_`` may be missing)."""
    match = LENIENT_LABELLED_NAME.match(Path(name).name)
    if not match:
        raise DataError(f"{source}: {name!r} is not a labelled DCASE clip name")
    return match["attributes"]


def attributes_from_string(attribute_string: str) -> dict[str, str]:
    """``spd_20_lod_3`` -> {"spd": "20", "lod": "3"}; ``noAttribute`` and odd-length tails -> {} / by position."""
    if attribute_string in ("", NO_ATTRIBUTE):
        return {}
    parts = attribute_string.split("_")
    if len(parts) % 2:
        return {f"a{i}": part for i, part in enumerate(parts)}
    return dict(zip(parts[0::2], parts[1::2]))


def attribute_string(attributes: Mapping[str, str]) -> str:
    return "_".join(f"{key}_{value}" for key, value in attributes.items()) if attributes else NO_ATTRIBUTE


def clip_file_name(subset: str, domain: str, label: str, index: int, attribute_string: str,
                   section: str) -> str:
    return f"section_{section}_{domain}_{subset}_{label}_{index:04d}_{attribute_string}.wav"


def eval_test_file_name(index: int, section: str) -> str:
    return f"section_{section}_{index:04d}.wav"


# --- writers ----------------------------------------------------------------------------------------------


def csv_text(rows: Sequence[Sequence[object]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def attributes_file(machine_dir: Path, section: str) -> Path:
    """A machine section's attribute table: ``attributes_<section>.csv`` beside its ``train/`` and ``test/``."""
    return machine_dir / f"attributes_{section}.csv"


def write_attributes_csv(machine_dir: Path, machine: str, section: str,
                         rows: Sequence[tuple[str, str, Mapping[str, str]]]) -> Path:
    """``attributes_<section>.csv``: one row per (subset, file name, ordered attributes)."""
    width = max([len(attrs) for _, _, attrs in rows] + [1])
    header = ["file_name"] + [f"d{i}{kind}" for i in range(1, width + 1) for kind in ("p", "v")]
    table = [header]
    for subset, name, attrs in rows:
        pairs = [item for pair in attrs.items() for item in pair] if attrs else [NO_ATTRIBUTE, ""]
        table.append([f"{machine}/{subset}/{name}"] + pairs + [""] * (2 * width - len(pairs)))
    return write_text_atomic(attributes_file(machine_dir, section), csv_text(table))


@dataclass(frozen=True)
class EvalTruth:
    """The ground truth of one eval test clip, as the official evaluator's three CSVs hold it."""

    short_name: str
    labelled_name: str
    full_name: str
    is_anomaly: bool
    is_target: bool


def ground_truth_file(gt_root: Path, kind: str, machine: str, section: str) -> Path:
    return gt_root / f"ground_truth_{kind}" / f"ground_truth_{machine}_section_{section}_test.csv"


def write_ground_truth(gt_root: Path, machine: str, section: str, rows: Sequence[EvalTruth], *,
                       with_attributes: bool = True) -> None:
    """The evaluator's ground truth of one machine section: labels, domains and (but for the 2022 evaluator's
    layout, ``with_attributes`` false) the labelled and full names."""
    ordered = sorted(rows, key=lambda row: row.short_name)
    write_text_atomic(ground_truth_file(gt_root, "data", machine, section),
                       csv_text([[r.short_name, int(r.is_anomaly)] for r in ordered]))
    write_text_atomic(ground_truth_file(gt_root, "domain", machine, section),
                       csv_text([[r.short_name, int(r.is_target)] for r in ordered]))
    if with_attributes:
        write_text_atomic(ground_truth_file(gt_root, "attributes", machine, section),
                           csv_text([[r.short_name, r.labelled_name.removesuffix(".wav"), r.full_name]
                                     for r in ordered]))


def hidden_attributes_file(root: Path, split: str, machine: str, section: str, subset: str) -> Path:
    return root / f"{split}_data" / machine / f"attributes_{section}_{subset}_correspondence.csv"


def write_hidden_attributes(root: Path, split: str, machine: str, section: str, subset: str,
                            rows: Sequence[tuple[str, str]]) -> Path:
    """The released truth of a ``noAttribute`` machine from (file name on disk, full name with real attributes)
    pairs, in the organisers' layout (full name first, under a header)."""
    table = [list(CORRESPONDENCE_HEADER)] + [[full, on_disk] for on_disk, full in sorted(rows)]
    return write_text_atomic(hidden_attributes_file(root, split, machine, section, subset), csv_text(table))


def write_wav(path: Path, audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> None:
    """16-bit PCM, written to a temporary name and renamed, so a killed writer leaves no half file."""
    import soundfile  # here, so that reading the layouts' names and constants (every reader) loads no audio library

    with atomic_path(path) as temporary:
        soundfile.write(temporary, np.clip(audio, -1.0, 1.0), sample_rate, subtype="PCM_16", format="WAV")


def read_csv_lines(path: Path) -> list[tuple[int, list[str]]]:
    """(line number, row) of each non-empty row of a CSV file read as UTF-8 (a leading BOM is allowed).

    A missing file, or bytes that are not UTF-8, is a DataError naming the file and the line.
    """
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path} not found") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DataError(f"{path}, line {line}: byte {data[exc.start]:#04x} is not UTF-8; expected a UTF-8 CSV "
                        "file") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    return [(reader.line_num, row) for row in reader if row]


def read_rows(path: Path, columns: int = 1) -> list[list[str]]:
    """Rows of a headerless CSV, each of at least ``columns`` columns; else a DataError naming file and line."""
    rows = read_csv_lines(path)
    for line, row in rows:
        if len(row) < columns:
            raise DataError(f"{path}, line {line}: {len(row)} column(s) {row!r}; expected at least {columns}")
    return [row for _, row in rows]


def true_attributes(rows: pd.DataFrame) -> pd.Series:
    """Each clip's real attribute string: its visible attributes, else the released hidden ones, else ''
    (what a pseudo-labelling is judged against, and the classes of the ground-truth feature space)."""
    visible = rows["attribute_string"].where(rows["attribute_string"] != NO_ATTRIBUTE, "")
    hidden = rows["hidden_attributes"].map(lambda a: attribute_string(a) if a else "")
    return visible.where(visible != "", hidden)
