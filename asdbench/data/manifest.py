"""Read the DCASE 2023-2026 Task 2 layouts in place into one manifest (a DataFrame, one row per clip).

Nothing under the dataset root is ever written, renamed or moved. Eval test clips, named
``section_00_<id>.wav``, get their labels and domains from the official evaluator's ground-truth CSVs;
without them they are "unknown" (they can still be scored, not evaluated).

Clips of a machine's ``supplemental/`` folder (DCASE 2025) are rows of their own subset, ``supplemental``, with
``content`` saying what they hold ("machine": clean machine sound, "noise": noise only; the clips of train/ and
test/ are "mixture"s of both); no training or scoring reads them unless the dataset option ``supplemental =
"train"`` makes the clean ones training clips (:func:`use_supplemental`). Every row names the channel a run reads
(``channel``) of its file's ``channels``: DCASE 2026 files are two-channel, and says in ``assumed`` what was taken
on trust in reading it ("" where nothing was: so far only supplemental clip names leave something unconfirmed).

Every clip named in a machine's folders is read or refused, naming the file: a link that leads nowhere, a clip of
another section than ``00``, an anomalous clip among the training clips, a WAV file cut short. A machine folder of
another year's machine types is warned about (asdbench.data.years).
"""

from __future__ import annotations

import errno
import os
import re
from pathlib import Path

import pandas as pd
import soundfile

from asdbench.data.layout import (
    AUDIO_CHANNELS,
    CORRESPONDENCE_HEADER,
    NO_ATTRIBUTE,
    ONE_SECTION,
    SAMPLE_RATE,
    ParsedName,
    attributes_from_string,
    channel_count,
    ground_truth_file,
    hidden_attributes_file,
    labelled_tail,
    parse_file_name,
    parse_supplemental_name,
    read_csv_lines,
    read_rows,
)
from asdbench.data.wavheader import check_whole_wav
from asdbench.data.years import warn_unknown_machines
from asdbench.errors import DataError

SPLITS = ("dev", "eval")
SUBSETS = ("train", "test")
SUPPLEMENTAL = "supplemental"
SUPPLEMENTAL_USES = ("none", "train")
"""Values of the dataset option ``supplemental``: leave the supplemental clips out, or train on the clean ones."""
COLUMNS = ["path", "file", "dataset", "split", "machine", "section", "subset", "domain", "label", "attributes",
           "attribute_string", "hidden_attributes", "content", "channels", "channel", "assumed"]
GROUND_TRUTH_NAME = re.compile(r"^ground_truth_(?P<machine>.+)_section_\d{2}_test\.csv$")


def split_dir(root: Path, split: str) -> Path:
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; splits: {', '.join(SPLITS)}")
    return Path(root) / f"{split}_data" / "raw"


def list_machines(root: Path, split: str) -> list[str]:
    raw = split_dir(root, split)
    if not raw.is_dir():
        raise DataError(
            f"{raw} not found: expected the official layout ROOT/{split}_data/raw/<machine>/{{train,test}}/*.wav"
        )
    entries = [p for p in raw.iterdir() if not p.name.startswith(".")]
    broken = next((p for p in entries if p.is_symlink() and not p.exists()), None)
    if broken is not None:  # a machine left out would leave its figures out of every mean, without a word
        raise DataError(f"{broken}: in place of a machine folder, {_what_is(broken)}")
    machines = sorted(p.name for p in entries if p.is_dir())
    if not machines:
        raise DataError(f"{raw} holds no machine folders")
    return machines


def build_manifest(root: Path, year: int, split: str, *, ground_truth: Path | None = None,
                   hidden_attributes: Path | None = None, check_audio: bool = True, supplemental: str = "none",
                   channel: int = 0) -> pd.DataFrame:
    """The manifest of one split (columns :data:`COLUMNS`), read at ``channel`` of each file, with the clean
    supplemental clips as training clips where ``supplemental = "train"``; see the module docstring."""
    if year not in AUDIO_CHANNELS:
        raise DataError(f"unsupported DCASE year {year}; asdbench reads the Task 2 layouts of "
                        f"{', '.join(map(str, AUDIO_CHANNELS))}")
    channels = AUDIO_CHANNELS[year]
    if isinstance(channel, bool) or channel not in range(channels):
        raise DataError(f"channel {channel!r}: DCASE {year} audio is {channel_count(channels)}, so channel is one of "
                        f"{', '.join(map(str, range(channels)))}")
    root = Path(root).expanduser().resolve()
    ground_truth = Path(ground_truth) if ground_truth is not None else None
    hidden_attributes = Path(hidden_attributes) if hidden_attributes is not None else None
    if hidden_attributes is not None and not hidden_attributes.is_dir():
        problem = "is not a folder" if hidden_attributes.exists() else "not found"
        raise DataError(f"hidden attributes {hidden_attributes} {problem}: expected the folder of the released "
                        "<dev_data|eval_data>/<machine>/attributes_00_<train|test>_correspondence.csv files")
    machines = list_machines(root, split)
    warn_unknown_machines(root, machines, year, split, split_dir(root, split))
    if ground_truth is not None and split == "eval":
        _check_ground_truth_machines(ground_truth, machines, split_dir(root, split))
    rows: list[dict] = []
    for machine in machines:
        rows.extend(_machine_rows(root, year, split, machine, ground_truth, hidden_attributes, check_audio))
    manifest = pd.DataFrame(rows, columns=COLUMNS).assign(channels=channels, channel=channel)
    return use_supplemental(manifest, supplemental, split_dir(root, split))


def clip_counts(manifest: pd.DataFrame) -> pd.DataFrame:
    """Clips per machine (rows) and per subset, domain and label (columns, "train source normal"); supplemental
    clips are counted by what they hold ("machine" or "noise"), as they have no label."""
    shown = manifest.assign(label=manifest["label"].where(manifest["content"] == "mixture", manifest["content"]))
    counts = shown.groupby(["machine", "subset", "domain", "label"]).size().unstack(["subset", "domain", "label"])
    counts.columns = [" ".join(map(str, column)) for column in counts.columns]
    return counts.fillna(0).astype(int)


def use_supplemental(manifest: pd.DataFrame, use: str, where: Path) -> pd.DataFrame:
    """The manifest with its clean supplemental clips made source-domain normal training clips whose attributes
    are unknown (``noAttribute``) where ``use`` is "train"; noise-only clips stay supplemental. ``where`` (the
    split's folder) is named when it has no clean supplemental clip to use."""
    if use not in SUPPLEMENTAL_USES:
        raise DataError(f"supplemental {use!r}: expected one of {', '.join(map(repr, SUPPLEMENTAL_USES))}")
    if use == "none":
        return manifest
    clean = ((manifest["subset"] == SUPPLEMENTAL) & (manifest["content"] == "machine")).to_numpy()
    if not clean.any():
        raise DataError(f"{where}: no machine has clean machine sound in a supplemental/ folder "
                        "(section_00_machine_<id>_.wav) to train on; use supplemental = \"none\"")
    manifest = manifest.copy()
    manifest.loc[clean, ["subset", "domain", "label", "attribute_string"]] = ["train", "source", "normal", NO_ATTRIBUTE]
    return manifest


def _check_ground_truth_machines(gt_root: Path, machines: list[str], raw: Path) -> None:
    """Every machine the evaluator's ground truth lists must be on disk: a score over fewer machines than the
    evaluator's would pass for the official one."""
    folder = gt_root / "ground_truth_data"
    if not folder.is_dir():
        return  # reading the first machine's file names what is missing
    for path in sorted(folder.iterdir()):
        match = GROUND_TRUTH_NAME.match(path.name)
        if match and match["machine"] not in machines:
            raise DataError(f"{path}: ground truth of machine {match['machine']!r}, which is not in {raw} "
                            f"(machines there: {', '.join(machines)})")


def _machine_rows(root: Path, year: int, split: str, machine: str, ground_truth: Path | None,
                  hidden_root: Path | None, check_audio: bool) -> list[dict]:
    machine_dir = split_dir(root, split) / machine
    attribute_table = _attribute_table(machine_dir / "attributes_00.csv")
    truth = _ground_truth(ground_truth, machine) if ground_truth and split == "eval" else None
    rows = []
    for subset in SUBSETS:
        folder = machine_dir / subset
        if not folder.is_dir():
            raise DataError(f"{folder} not found: each machine needs train/ and test/ folders")
        hidden = _hidden_attributes(hidden_root, split, machine, subset) if hidden_root else {}
        clips = _clip_files(folder)
        if not clips:
            raise DataError(f"{folder}: no clips (*.wav); every machine needs {subset} clips")
        for path in clips:
            parsed = parse_file_name(_clip_name(path))
            _check_section(parsed.section, path, year)
            if check_audio:
                check_audio_file(path, year)
            row = {"path": str(path), "file": parsed.file, "dataset": f"dcase{year}", "split": split,
                   "machine": machine, "section": parsed.section, "subset": subset, "content": "mixture",
                   "assumed": ""}
            if parsed.attribute_string:  # a labelled name
                if parsed.subset != subset:
                    raise DataError(f"{path}: a {parsed.subset} clip in the {subset}/ folder")
                if subset == "train" and parsed.label != "normal":
                    raise DataError(f"{path}: a clip labelled {parsed.label} in the train/ folder; DCASE Task 2 "
                                    "trains on normal clips only")
                row.update(_labelled(parsed, path, attribute_table), hidden_attributes={})
            elif split == "eval" and subset == "test":
                row.update(_from_ground_truth(parsed, path, truth))
            else:
                raise DataError(f"{path}: short clip names are only used for eval test clips")
            if parsed.file in hidden:
                row["hidden_attributes"] = attributes_from_string(hidden[parsed.file])
            rows.append(row)
    if truth is not None:
        on_disk = {r["file"] for r in rows if r["subset"] == "test"}
        stray = sorted(set(truth) - on_disk)
        if stray:
            raise DataError(f"{truth[stray[0]]['source']}: ground truth lists {len(stray)} clips not found in "
                            f"{machine_dir / 'test'}, e.g. {stray[0]}")
    return rows + _supplemental_rows(machine_dir / SUPPLEMENTAL, year, split, machine, check_audio)


def _supplemental_rows(folder: Path, year: int, split: str, machine: str, check_audio: bool) -> list[dict]:
    """The clips of a machine's ``supplemental/`` folder (none where it has none), unlabelled, in the domain and
    with the attributes their names give (the dev names do, the eval names do not)."""
    if not folder.is_dir():
        return []
    rows = []
    for path in _clip_files(folder):
        parsed = parse_supplemental_name(_clip_name(path), path)
        _check_section(parsed.section, path, year)
        if check_audio:
            check_audio_file(path, year)
        rows.append({"path": str(path), "file": parsed.file, "dataset": f"dcase{year}", "split": split,
                     "machine": machine, "section": parsed.section, "subset": SUPPLEMENTAL, "domain": parsed.domain,
                     "label": "unknown", "attributes": attributes_from_string(parsed.attribute_string),
                     "attribute_string": parsed.attribute_string, "hidden_attributes": {}, "content": parsed.kind,
                     "assumed": parsed.assumed})
    return rows


def _labelled(parsed: ParsedName, path: Path, table: dict[str, dict[str, str]] | None) -> dict:
    attributes: dict[str, str] = {}
    if parsed.attribute_string != NO_ATTRIBUTE:
        if table is None:
            attributes = parsed.attributes
        elif parsed.file in table:
            attributes = table[parsed.file]
        else:
            raise DataError(f"{path}: no row {parsed.file!r} in {path.parent.parent / 'attributes_00.csv'}")
    return {"domain": parsed.domain, "label": parsed.label, "attributes": attributes,
            "attribute_string": parsed.attribute_string}


def _from_ground_truth(parsed: ParsedName, path: Path, truth: dict[str, dict] | None) -> dict:
    if truth is None:
        return {"domain": "unknown", "label": "unknown", "attributes": {}, "attribute_string": "",
                "hidden_attributes": {}}
    if parsed.file not in truth:
        source = next(iter(truth.values()))["source"] if truth else "the ground truth"
        raise DataError(f"{path}: not in the ground truth {source}")
    entry = truth[parsed.file]
    return {"domain": entry["domain"], "label": entry["label"], "attributes": entry["attributes"],
            "attribute_string": entry["attribute_string"], "hidden_attributes": entry["hidden"]}


def _attribute_table(path: Path) -> dict[str, dict[str, str]] | None:
    """Clip file name -> attributes, from ``attributes_00.csv`` (None where there is none).

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
        name = _row_file_name(row[0])
        if name in line_of:
            raise DataError(f"{path}: lines {line_of[name]} and {line} both give the attributes of {name}")
        line_of[name] = line
        table[name] = _attribute_pairs(row[1:], path, line)
    return table


def _attribute_pairs(values: list[str], path: Path, line: int) -> dict[str, str]:
    """Key/value columns of one ``attributes_00.csv`` row; empty trailing pairs pad short rows, and
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


def _row_file_name(entry: str) -> str:
    """``dev_data/raw/fan/train/x.wav``, ``fan/train/x.wav``, ``x.wav`` and ``x`` all name ``x.wav``."""
    name = entry.strip().rsplit("/", 1)[-1]
    return _clip_name(Path(name))


def _clip_files(folder: Path) -> list[Path]:
    """The ``.wav`` files of a folder, whatever the case of their extension (``.WAV`` from some copies); an entry
    named like a clip that is no readable file (a broken link, a folder) is an error naming it, not left out."""
    named = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".wav")
    for path in named:
        if not path.is_file():
            raise DataError(f"{path}: named like a clip, but {_what_is(path)}; expected a WAV file")
    return named


def _what_is(path: Path) -> str:
    """What a path that is not a file is, in words."""
    if path.is_symlink():
        try:
            path.stat()
        except FileNotFoundError:
            return f"a symbolic link to {os.readlink(path)}, which does not exist"
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                return "a symbolic link that leads back to itself (a loop)"
            return f"a symbolic link that cannot be followed ({exc.strerror})"
    return "a folder" if path.is_dir() else "not a regular file"


def _check_section(section: str, path: Path, year: int) -> None:
    if section != ONE_SECTION:
        raise DataError(f"{path}: section {section}; DCASE {year} Task 2 has one section per machine type, "
                        f"section {ONE_SECTION}")


def _clip_name(path: Path) -> str:
    """A clip's name as the organisers' files spell it: ``x.WAV`` and ``x`` are ``x.wav``."""
    return f"{path.stem}.wav" if path.suffix.lower() == ".wav" else f"{path.name}.wav"


def _ground_truth(gt_root: Path, machine: str) -> dict[str, dict]:
    """short name -> label, domain and attributes from the evaluator's three CSVs for one machine."""
    labels_file = ground_truth_file(gt_root, "data", machine)
    domains_file = ground_truth_file(gt_root, "domain", machine)
    attributes_file = ground_truth_file(gt_root, "attributes", machine)
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


def _hidden_attributes(root: Path, split: str, machine: str, subset: str) -> dict[str, str]:
    """file name -> the real attribute tail, from a released correspondence file (empty where absent)."""
    path = hidden_attributes_file(root, split, machine, subset)
    if not path.exists():
        return {}
    rows = read_rows(path, columns=2)
    if not rows or tuple(rows[0][:2]) != CORRESPONDENCE_HEADER:
        raise DataError(f"{path}: expected the header {','.join(CORRESPONDENCE_HEADER)}")
    return {_row_file_name(on_disk): labelled_tail(full, path) for full, on_disk, *_ in rows[1:]}


def check_audio_file(path: Path, year: int) -> None:
    """16 kHz with the channels of ``year``'s data (:data:`AUDIO_CHANNELS`), readable, whole: checked from the
    header."""
    check_whole_wav(path)
    try:
        info = soundfile.info(str(path))
    except (RuntimeError, soundfile.LibsndfileError) as exc:
        raise DataError(f"{path}: unreadable audio ({exc})") from None
    if info.samplerate != SAMPLE_RATE:
        raise DataError(f"{path}: sample rate {info.samplerate} Hz; DCASE Task 2 audio is {SAMPLE_RATE} Hz")
    if info.channels != AUDIO_CHANNELS[year]:
        raise DataError(f"{path}: {channel_count(info.channels)}; DCASE {year} Task 2 audio is "
                        f"{channel_count(AUDIO_CHANNELS[year])}")
