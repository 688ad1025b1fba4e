"""A run store as a list of what it holds, read from its files alone (no spec, no grid, no torch): each training, each
scoring under it, each pseudo-label table, each feature space's embeddings and each folder or file set aside, with
its state, size and age (``asdbench ls``); and what of it no grid refers to (``asdbench prune``).

A set-aside entry is a damaged file or a stale training or scoring renamed ``<name>.damaged-<time>-<pid>`` or
``<name>.stale-<time>-<pid>``: asdbench never reads it again, and keeps it only for a person to look at.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asdbench.files.damaged import DamagedFile
from asdbench.store.checks import scoring_problem, training_problem
from asdbench.store.claims import LOCK, held
from asdbench.store.layout import (
    CODE_FILE,
    FEATURESPACE_FILE,
    FEATURESPACES,
    HASH,
    PSEUDOLABELS,
    RESULTS,
    SPEC,
    TRAINED,
    TRAINING_SPEC,
    read_json,
)
from asdbench.store.reading import ERROR

SET_ASIDE = re.compile(r"\.(damaged|stale)-\d{8}T\d{6}-\d+(-\d+)?$")
"""The suffix a set-aside file or folder carries (asdbench.files.damaged, asdbench.store.stale)."""
SYSTEMS = "systems.json"
"""In a feature space's embeddings (in a pseudo-label table, before they were stored apart): ``{"trainings":
[...]}``, the trainings the feature space trained in the store (asdbench.store.store.StoreSystems), which no grid
names but its tables need."""

TRAINING, SCORING, TABLE, SPACE, ASIDE = "training", "scoring", "pseudolabels", "featurespace", "set aside"


@dataclass(frozen=True)
class Entry:
    """One thing a store holds."""

    kind: str
    """:data:`TRAINING`, :data:`SCORING`, :data:`TABLE`, :data:`SPACE` or :data:`ASIDE`."""
    path: Path
    state: str
    """done, running, failed, damaged, interrupted (a training with checkpoints but unfinished) or pending."""
    size: int
    """Bytes of its own files (a training's exclude its scorings')."""
    modified: float
    """The latest modification time of its files (seconds since the epoch)."""
    record: dict[str, Any] | None
    """What it is: a training's ``training.json``, a scoring's, a table's or a feature space's ``spec.json``."""

    @property
    def name(self) -> str:
        return self.path.name

    def age(self, now: float | None = None) -> str:
        """How long ago it last changed: ``42 s``, ``5 min``, ``3 h``, ``12 d``."""
        seconds = max(0.0, (time.time() if now is None else now) - self.modified)
        for unit, length in (("d", 86400), ("h", 3600), ("min", 60)):
            if seconds >= length:
                return f"{seconds / length:.0f} {unit}"
        return f"{seconds:.0f} s"


def entries(root: Path) -> list[Entry]:
    """Everything in the store ``root``, trainings in name order, each followed by its scorings; then the
    pseudo-label tables; then the feature spaces; then what is set aside. Files and folders asdbench did not write are
    left out."""
    found: list[Entry] = []
    aside: list[Entry] = []
    for directory in sorted(p for p in root.iterdir() if p.is_dir()):
        if SET_ASIDE.search(directory.name):
            aside.append(_entry(ASIDE, directory, "set aside", None, own=False))
        elif HASH.fullmatch(directory.name):
            found.append(_training(directory))
            for scoring in sorted(p for p in directory.iterdir() if p.is_dir()):
                if HASH.fullmatch(scoring.name):
                    found.append(_scoring(scoring))
                elif SET_ASIDE.search(scoring.name):
                    aside.append(_entry(ASIDE, scoring, "set aside", None, own=False))
            aside += [_entry(ASIDE, p, "set aside", None, own=False) for p in _set_aside_files(directory)]
    for kind, folder in ((TABLE, root / PSEUDOLABELS), (SPACE, root / FEATURESPACES)):
        for directory in sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []:
            if SET_ASIDE.search(directory.name):
                aside.append(_entry(ASIDE, directory, "set aside", None, own=False))
            elif HASH.fullmatch(directory.name):
                found.append(_entry(kind, directory, _labelling_state(kind, directory), _record(directory / SPEC),
                                    own=False))
    return found + aside


def unreferenced(root: Path, trainings: set[str], scorings: set[tuple[str, str]], tables: set[str] | None
                 ) -> list[Entry]:
    """What of the store ``root`` none of ``trainings``, ``scorings`` ((training, scoring) hashes) and ``tables``
    (pseudo-label table hashes; None: keep every table) refers to: a training not named (with its scorings), a
    scoring not named under a training that is, a table not named, a feature space no kept table clustered (every
    one where ``tables`` is None), and everything set aside; what lies inside another of them goes with it and is not
    listed again. A training that a kept feature space trained (its ``systems.json``, or a table's of before feature
    spaces were stored apart) is kept."""
    listed = entries(root)
    kept_tables = {e.name for e in listed if e.kind == TABLE and (tables is None or e.name in tables)}
    clustered = {_featurespace(root / PSEUDOLABELS / table) for table in kept_tables} - {None}
    kept_spaces = {e.name for e in listed if e.kind == SPACE and (tables is None or e.name in clustered)}
    for record in [root / PSEUDOLABELS / table / SYSTEMS for table in kept_tables] + [
            root / FEATURESPACES / space / SYSTEMS for space in kept_spaces]:
        trainings = trainings | set(_record_list(record))
    dropped: list[Entry] = []
    for entry in listed:
        if entry.kind == TRAINING and entry.name not in trainings:
            dropped.append(entry)
        elif entry.kind == SCORING and entry.path.parent.name in trainings and \
                (entry.path.parent.name, entry.name) not in scorings:
            dropped.append(entry)
        elif entry.kind == TABLE and entry.name not in kept_tables or entry.kind == ASIDE:
            dropped.append(entry)
        elif entry.kind == SPACE and entry.name not in kept_spaces:
            dropped.append(entry)
    return [entry for entry in dropped if not any(other.path in entry.path.parents for other in dropped)]


def total_size(entry: Entry) -> int:
    """Bytes that removing ``entry`` frees: a training's with its scorings'."""
    return _size(_files(entry.path))


def _training(directory: Path) -> Entry:
    return _entry(TRAINING, directory, _state(directory, TRAINED, lambda: training_problem(directory),
                                              interrupted=(directory / "checkpoints").is_dir()),
                  _record(directory / TRAINING_SPEC), own=True)


def _scoring(directory: Path) -> Entry:
    return _entry(SCORING, directory, _state(directory, RESULTS, lambda: scoring_problem(directory)),
                  _record(directory / SPEC), own=False)


def _state(directory: Path, finished: str, problem: Any, interrupted: bool = False) -> str:
    """As asdbench.store.reading tells a run's state, from the directory alone."""
    if (directory / finished).exists():
        try:
            return "done" if problem() is None else "damaged"
        except DamagedFile:
            return "damaged"
    if held(directory):
        return "running"
    if (directory / ERROR).exists():
        return "failed"
    return "interrupted" if interrupted else "pending"


def _labelling_state(kind: str, directory: Path) -> str:
    """A table is done once its labels are written; a feature space once it has embedded a unit and its last attempt
    did not fail (a table of other machines may embed more units)."""
    if kind == TABLE and (directory / "labels.csv").exists():
        return "done"
    if held(directory):
        return "running"
    if (directory / ERROR).exists():
        return "failed"
    embedded = (directory / CODE_FILE).exists() and any((directory / "units").glob("*.npz"))
    return "done" if kind == SPACE and embedded else "pending"


def _featurespace(table: Path) -> str | None:
    """The hash of the feature space a table clustered (its ``featurespace.json``); None where it names none."""
    try:
        record = read_json(table / FEATURESPACE_FILE)
    except DamagedFile:
        return None
    found = (record or {}).get("featurespace")
    return found if isinstance(found, str) else None


def _entry(kind: str, path: Path, state: str, record: dict[str, Any] | None, *, own: bool) -> Entry:
    """``own``: count a training's files only, not those of the scorings under it."""
    files = list(_files(path, own))
    modified = max((f.stat().st_mtime for f in files), default=path.stat().st_mtime)
    return Entry(kind, path, state, _size(files), modified, record)


def _files(path: Path, own: bool = False) -> Iterator[Path]:
    """The files under ``path``; ``own``: a training's own, not its scorings' nor what is set aside in it."""
    if path.is_file():
        yield path
        return
    for item in path.iterdir():
        if own and (SET_ASIDE.search(item.name) or HASH.fullmatch(item.name)):
            continue
        if item.is_dir():
            yield from _files(item, own)
        elif item.name != LOCK:
            yield item


def _set_aside_files(directory: Path) -> Iterable[Path]:
    """The damaged files set aside in a training and its checkpoint and embedding folders."""
    for folder in (directory, directory / "checkpoints", directory / "embeddings"):
        if folder.is_dir():
            yield from sorted(p for p in folder.iterdir() if p.is_file() and SET_ASIDE.search(p.name))


def _size(files: Iterable[Path]) -> int:
    return sum(f.stat().st_size for f in files if not f.is_symlink())


def _record(path: Path) -> dict[str, Any] | None:
    try:
        return read_json(path)
    except DamagedFile:
        return None


def _record_list(path: Path) -> list[str]:
    """The trainings a table's ``systems.json`` names (``{"trainings": [...]}``); none where it cannot be read."""
    try:
        found = json.loads(path.read_text()).get("trainings", [])
    except (OSError, ValueError, AttributeError):
        return []
    return [name for name in found if isinstance(name, str)] if isinstance(found, list) else []
