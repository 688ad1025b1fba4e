"""Read the DCASE Task 2 layouts in place into one manifest (a DataFrame, one row per clip).

Nothing under the dataset root is ever written, renamed or moved. A machine type has the sections its year's
facts give for the split (:mod:`asdbench.data.years`), each with its clips, its ``attributes_<section>.csv`` and,
for the eval split, its ground truth. Eval test clips, named ``section_<nn>_<id>.wav``, get their labels and
domains from the official evaluator's ground-truth CSVs; without them they are "unknown" (they can still be
scored, not evaluated).

Clips of a machine's ``supplemental/`` folder (DCASE 2025) are rows of their own subset, ``supplemental``, with
``content`` saying what they hold ("machine": clean machine sound, "noise": noise only; the clips of train/ and
test/ are "mixture"s of both); no training or scoring reads them unless the dataset option ``supplemental =
"train"`` makes the clean ones training clips (:func:`use_supplemental`). Every row names the channel a run reads
(``channel``) of its file's ``channels``: DCASE 2026 files are two-channel, and says in ``assumed`` what was taken
on trust in reading it ("" where nothing was: so far only supplemental clip names leave something unconfirmed).

Every clip named in a machine's folders is read or refused, naming the file: a link that leads nowhere, a clip of
a section its split does not have, an anomalous clip among the training clips, a WAV file cut short; a section
without train or test clips is refused, naming the folder. A machine folder of
another year's machine types is warned about (asdbench.data.years).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from asdbench.data.clipfiles import check_audio_file, clip_files, clip_name, what_is
from asdbench.data.layout import (
    NO_ATTRIBUTE,
    ParsedName,
    attributes_file,
    attributes_from_string,
    channel_count,
    parse_supplemental_name,
)
from asdbench.data.layouts import LAYOUTS, Layout
from asdbench.data.truth import attribute_table, check_ground_truth_covered, read_hidden_attributes
from asdbench.data.years import SPLITS, Year, warn_unknown_machines, year_facts
from asdbench.errors import DataError, DataNotFound

SUBSETS = ("train", "test")
SUPPLEMENTAL = "supplemental"
SUPPLEMENTAL_USES = ("none", "train")
"""Values of the dataset option ``supplemental``: leave the supplemental clips out, or train on the clean ones."""
COLUMNS = ["path", "file", "dataset", "split", "machine", "section", "subset", "domain", "label", "attributes",
           "attribute_string", "hidden_attributes", "content", "channels", "channel", "assumed"]
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
        raise DataError(f"{broken}: in place of a machine folder, {what_is(broken)}")
    machines = sorted(p.name for p in entries if p.is_dir())
    if not machines:
        raise DataError(f"{raw} holds no machine folders")
    return machines


def build_manifest(root: Path, year: int, split: str, *, ground_truth: Path | None = None,
                   hidden_attributes: Path | None = None, check_audio: bool = True, supplemental: str = "none",
                   channel: int = 0, sections: Sequence[str] | None = None) -> pd.DataFrame:
    """The manifest of one split (columns :data:`COLUMNS`), read at ``channel`` of each file, with the clean
    supplemental clips as training clips where ``supplemental = "train"``; see the module docstring. ``sections``:
    the sections of every machine of the split, where they are not the year's (a synthetic dataset's)."""
    facts = year_facts(year)
    if isinstance(channel, bool) or channel not in range(facts.channels):
        raise DataError(f"channel {channel!r}: DCASE {year} audio is {channel_count(facts.channels)}, so channel is "
                        f"one of {', '.join(map(str, range(facts.channels)))}")
    root = Path(root).expanduser().resolve()
    ground_truth = Path(ground_truth) if ground_truth is not None else None
    hidden_attributes = Path(hidden_attributes) if hidden_attributes is not None else None
    if hidden_attributes is not None and not hidden_attributes.is_dir():
        problem = "is not a folder" if hidden_attributes.exists() else "not found"
        raise DataError(f"hidden attributes {hidden_attributes} {problem}: expected the folder of the released "
                        "<dev_data|eval_data>/<machine>/attributes_<section>_<train|test>_correspondence.csv files")
    if not root.exists():
        raise DataNotFound(f"dataset root {root} not found on this machine: the data are elsewhere or not mounted")
    machines = list_machines(root, split)
    warn_unknown_machines(root, machines, year, split, split_dir(root, split))
    of_machine = {machine: tuple(sections) if sections is not None else facts.sections_of(split, machine)
                  for machine in machines}
    layout = LAYOUTS[facts.layout]
    if ground_truth is not None and split == "eval":
        check_ground_truth_covered(layout.truth_units(ground_truth), of_machine, split_dir(root, split))
    reading = _Reading(facts, layout, split, of_machine, ground_truth if split == "eval" else None, hidden_attributes,
                       check_audio)
    rows = [row for machine in machines for row in reading.machine_rows(split_dir(root, split) / machine)]
    manifest = pd.DataFrame(rows, columns=COLUMNS).assign(channels=facts.channels, channel=channel)
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
                        "(section_<nn>_machine_<id>_.wav) to train on; use supplemental = \"none\"")
    manifest = manifest.copy()
    manifest.loc[clean, ["subset", "domain", "label", "attribute_string"]] = ["train", "source", "normal", NO_ATTRIBUTE]
    return manifest


@dataclass(frozen=True)
class _Reading:
    """How the machines of one split are read: the year's facts and layout, the sections of each machine, and the
    organisers' files of truth given (eval ground truth, released hidden attributes)."""

    year: Year
    layout: Layout
    split: str
    sections: dict[str, tuple[str, ...]]  # machine -> its sections
    ground_truth: Path | None
    hidden_root: Path | None
    check_audio: bool

    def machine_rows(self, machine_dir: Path) -> list[dict]:
        """The rows of one machine type's clips, section by section: its training and test clips, then its
        ``supplemental/`` ones."""
        machine = machine_dir.name
        sections = self.sections[machine]
        tables = ({section: attribute_table(attributes_file(machine_dir, section)) for section in sections}
                  if self.layout.attribute_tables else {})
        truth = ({section: self.layout.read_truth(self.ground_truth, machine, section) for section in sections}
                 if self.ground_truth else None)
        rows = []
        for folder_name, domain in {"train": None, **self.layout.test_folders}.items():
            subset = "train" if folder_name == "train" else "test"
            folder = machine_dir / folder_name
            if not folder.is_dir():
                raise DataError(f"{folder} not found: each machine needs "
                                f"{', '.join(f'{name}/' for name in ('train', *self.layout.test_folders))} folders")
            hidden = ({section: read_hidden_attributes(self.hidden_root, self.split, machine, section, subset)
                       for section in sections} if self.hidden_root else {})
            clips = clip_files(folder)
            if not clips:
                raise DataError(f"{folder}: no clips (*.wav); every machine needs {subset} clips")
            found = [self._clip_row(path, machine, subset, domain, tables, truth, hidden) for path in clips]
            self._check_every_section(found, folder, subset, sections)
            rows += found
        if truth is not None:
            self._check_no_stray_truth(truth, rows, machine_dir)
        return rows + self._supplemental_rows(machine_dir / SUPPLEMENTAL, machine)

    def _clip_row(self, path: Path, machine: str, subset: str, folder_domain: str | None,
                  tables: dict[str, dict | None], truth: dict[str, dict] | None,
                  hidden: dict[str, dict[str, str]]) -> dict:
        parsed = self.layout.parse(clip_name(path))
        self._check_section(parsed.section, path, machine)
        if folder_domain is not None and parsed.domain != folder_domain:
            raise DataError(f"{path}: a {parsed.domain}-domain clip in the {path.parent.name}/ folder")
        if self.check_audio:
            check_audio_file(path, self.year)
        row = {"path": str(path), "file": parsed.file, "dataset": self.year.dataset, "split": self.split,
               "machine": machine, "section": parsed.section, "subset": subset, "content": "mixture", "assumed": ""}
        if parsed.label != "unknown":  # a labelled name
            if parsed.subset is not None and parsed.subset != subset:
                raise DataError(f"{path}: a {parsed.subset} clip in the {path.parent.name}/ folder")
            if subset == "train" and parsed.label != "normal":
                raise DataError(f"{path}: a clip labelled {parsed.label} in the train/ folder; DCASE Task 2 "
                                "trains on normal clips only")
            row.update(_labelled(parsed, path, tables.get(parsed.section)), hidden_attributes={})
        elif self.split == "eval" and subset == "test":
            row.update(_from_ground_truth(parsed, path, truth[parsed.section] if truth is not None else None))
        else:
            raise DataError(f"{path}: short clip names are only used for eval test clips")
        released = hidden.get(parsed.section, {})
        if parsed.file in released:
            row["hidden_attributes"] = attributes_from_string(released[parsed.file])
        return row

    def _check_section(self, section: str, path: Path, machine: str) -> None:
        sections = self.sections[machine]
        if section not in sections:
            word = "ID" if self.year.layout == "ids" else "section"
            raise DataError(f"{path}: {word} {section}; {machine} of the DCASE {self.year.year} Task 2 {self.split} data "
                            f"has {word}{'s' if len(sections) > 1 else ''} {', '.join(sections)}")

    def _check_every_section(self, rows: list[dict], folder: Path, subset: str, sections: tuple[str, ...]) -> None:
        """A section without clips would leave its figures out of every mean, without a word."""
        missing = sorted(set(sections) - {row["section"] for row in rows})
        if missing:
            raise DataError(f"{folder}: no {subset} clips of section {', '.join(missing)}; this {self.split} machine "
                            f"has sections {', '.join(sections)}")

    @staticmethod
    def _check_no_stray_truth(truth: dict[str, dict[str, dict]], rows: list[dict], machine_dir: Path) -> None:
        on_disk = {(r["section"], r["file"]) for r in rows if r["subset"] == "test"}
        for section, entries in truth.items():
            stray = sorted(name for name in entries if (section, name) not in on_disk)
            if stray:
                raise DataError(f"{entries[stray[0]]['source']}: ground truth lists {len(stray)} clips not found in "
                                f"{machine_dir} (among its test clips), e.g. {stray[0]}")

    def _supplemental_rows(self, folder: Path, machine: str) -> list[dict]:
        """The clips of a machine's ``supplemental/`` folder (none where it has none), unlabelled, in the domain
        and with the attributes their names give (the dev names do, the eval names do not)."""
        if not folder.is_dir():
            return []
        rows = []
        for path in clip_files(folder):
            parsed = parse_supplemental_name(clip_name(path), path)
            self._check_section(parsed.section, path, machine)
            if self.check_audio:
                check_audio_file(path, self.year)
            rows.append({"path": str(path), "file": parsed.file, "dataset": self.year.dataset, "split": self.split,
                         "machine": machine, "section": parsed.section, "subset": SUPPLEMENTAL,
                         "domain": parsed.domain, "label": "unknown",
                         "attributes": attributes_from_string(parsed.attribute_string),
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
            raise DataError(f"{path}: no row {parsed.file!r} in {attributes_file(path.parent.parent, parsed.section)}")
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
