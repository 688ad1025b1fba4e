"""Finished trainings and scorings whose code has changed since they were made: found, and never reused silently.

A training or scoring is *stale* when the code fingerprint it recorded (:mod:`asdbench.store.codeprint`) differs from
the installed code's for the same stage; a run is stale when its scoring or its training is. Before any work,
``asdbench grid`` and ``asdbench run`` apply one policy to the stale stages of the runs they were given:

``refuse`` (the default)
    stop with one line per changed distribution naming the runs concerned and what changed;
``rerun`` (``--rerun changed``)
    set the stale directories aside (renamed ``<name>.stale-<time>-<pid>``, never deleted: a stale training
    with every scoring under it, since they were scored from its embeddings) and compute them again;
``keep`` (``--keep-results``)
    keep them, and record in each one's ``code.json`` that they were kept, with the code installed then and
    what had changed: a later grid with that same code does not ask again.

``asdbench status`` shows a stale run as ``stale`` whether it was kept or not (its results were not made by the
installed code). A finished training or scoring without a readable fingerprint is not stale but damaged
(:mod:`asdbench.store.checks`): every one that asdbench writes records its code before computing anything.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asdbench.contract.registry import Registry
from asdbench.errors import AsdbenchError
from asdbench.files.atomic import write_json_atomic
from asdbench.files.damaged import aside_path
from asdbench.spec.identity import RunSpec
from asdbench.store import codeprint
from asdbench.store.claims import held
from asdbench.store.codeprint import CODE_FILE, SCORING, TRAINING, Change
from asdbench.store.layout import RESULTS, TRAINED, readable_json

POLICIES = ("refuse", "rerun", "keep")
KEPT = "kept"
"""``code.json``'s list of the times a stale result was kept (``--keep-results``) and with which code."""
SHOWN_RUNS = 3
"""How many runs a line names before it says how many more."""


class CodeChanged(AsdbenchError):
    """Finished runs were made with other code than is installed, and no policy was chosen."""


@dataclass(frozen=True)
class StaleStage:
    """A finished training or scoring made with other code than is installed now."""

    directory: Path
    stage: str
    changes: list[Change]
    runs: list[str]
    installed: dict[str, codeprint.Print]
    kept: bool


@dataclass(frozen=True)
class Survey:
    stale: list[StaleStage]

    @property
    def stale_runs(self) -> set[str]:
        """The hashes of the runs whose scoring or training is stale."""
        return {run for stage in self.stale for run in stage.runs}

    @property
    def directories(self) -> set[Path]:
        """The stale trainings' and scorings' directories."""
        return {stage.directory for stage in self.stale}


def survey(specs: Iterable[RunSpec], store: Any, registry: Registry) -> Survey:
    """Every finished training and scoring of ``specs`` in ``store`` (an :class:`asdbench.store.store.Store`) whose
    recorded code differs from the installed code (one that recorded none is damaged, and left to the store)."""
    by_training: dict[Path, list[RunSpec]] = {}
    for spec in {spec.hash: spec for spec in specs}.values():
        by_training.setdefault(store.training_directory(spec), []).append(spec)
    stale = []
    for directory, runs in by_training.items():
        checks = [(directory, TRAINED, TRAINING, runs[0], [spec.hash for spec in runs])]
        checks += [(store.directory(spec), RESULTS, SCORING, spec, [spec.hash]) for spec in runs]
        for where, finished, stage, spec, concerned in checks:
            if not readable_json(where / finished):
                continue
            made_with = codeprint.recorded(where)
            if made_with is None:
                continue
            installed = codeprint.fingerprint(spec.canonical, stage, registry)
            found = codeprint.changes(made_with, installed)
            if found:
                stale.append(StaleStage(where, stage, found, concerned, installed, _kept_with(where, installed)))
    return Survey(stale)


def apply(policy: str, specs: list[RunSpec], store: Any, registry: Registry) -> None:
    """Apply ``policy`` (:data:`POLICIES`) to the stale trainings and scorings of ``specs``, before any work."""
    if policy not in POLICIES:
        raise AsdbenchError(f"unknown policy for results made with changed code {policy!r}; one of "
                            f"{', '.join(POLICIES)}")
    found = survey(specs, store, registry)
    pending = [stage for stage in found.stale if policy == "rerun" or not stage.kept]
    if not pending:
        return
    if policy == "refuse":
        raise CodeChanged(refusal(pending, store.root))
    if policy == "keep":
        for stage in pending:
            keep(stage)
        print(f"asdbench: kept {len(pending)} finished trainings or scorings made with other code than is "
              f"installed (recorded in their {CODE_FILE}); `asdbench status` shows their runs as stale",
              file=sys.stderr)
        return
    for stage in pending:
        if stage.directory.exists():  # not a scoring whose stale training was set aside with it
            _set_aside_changed(stage.directory, stage.changes, "for --rerun changed")


def refresh(directory: Path, canonical: dict[str, Any], stage: str, registry: Registry) -> None:
    """Before a finished computation that no grid's policy covers is reused (a pseudo-label table, shared by runs
    of other systems; a system a feature space trained), set it aside, saying so in one line, where the code it
    recorded differs from the installed code: it is then computed again with the installed code. One that
    another process is computing (its ``code.json`` is that process's), one that has recorded no code yet (a
    pseudo-label table writes it last but one; a training's own checks call a finished one without it damaged), or
    one whose results were kept with the installed code (``--keep-results``: it may be a run's own training) is
    left as it is."""
    made_with = codeprint.recorded(directory)
    if made_with is None or held(directory):
        return
    installed = codeprint.fingerprint(canonical, stage, registry)
    found = codeprint.changes(made_with, installed)
    if found and not _kept_with(directory, installed):
        _set_aside_changed(directory, found, "to be computed again")


def _set_aside_changed(directory: Path, changes: list[Change], why: str) -> None:
    if held(directory):
        raise AsdbenchError(f"{directory} is being computed by another process: it cannot be set aside {why} "
                            "until that process is done")
    target = set_aside(directory)
    print(f"asdbench: {directory} was made with other code ({_what(changes)}); set aside as {target.name}, it "
          "will be computed again", file=sys.stderr)


def refusal(stale: list[StaleStage], root: Path) -> str:
    """The message that stops a grid: one line per changed distribution (and change) with the runs concerned."""
    runs: dict[tuple[str, str], dict[str, None]] = {}
    for stage in stale:
        for change in stage.changes:
            runs.setdefault((change.distribution, change.what), {}).update(dict.fromkeys(stage.runs))
    lines = [f"{len({run for stage in stale for run in stage.runs})} runs in {root} would reuse a training or "
             "scoring made with other code than is installed; recompute them with --rerun changed, or keep their "
             "results with --keep-results (recorded in each run):"]
    for (distribution, what), concerned in sorted(runs.items()):
        shown = list(concerned)[:SHOWN_RUNS]
        more = f" and {len(concerned) - len(shown)} more" if len(concerned) > len(shown) else ""
        lines.append(f"  {distribution}: {what}: {len(concerned)} runs ({', '.join(shown)}{more})")
    return "\n".join(lines)


def keep(stage: StaleStage) -> None:
    """Record in the stage's ``code.json`` that its results were kept with the installed code."""
    path = stage.directory / CODE_FILE
    record = codeprint.read_record(stage.directory)
    record.setdefault(KEPT, []).append({
        "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "installed": stage.installed,
        "changes": [f"{change.distribution}: {change.what}" for change in stage.changes]})
    write_json_atomic(path, record)


def set_aside(directory: Path) -> Path:
    """Rename a stale training's or scoring's directory out of the way (never delete it)."""
    target = aside_path(directory, "stale")
    os.replace(directory, target)
    return target


def mixed_note(specs: Iterable[RunSpec], store: Any) -> str:
    """A line for under a table whose finished runs were made with different code of some distributions, or ""."""
    finished = [spec for spec in specs if readable_json(store.directory(spec) / RESULTS)]
    mixed = mixed_distributions([directory for spec in finished
                                 for directory in (store.training_directory(spec), store.directory(spec))])
    if not mixed:
        return ""
    return (f"note: these cells mix results made with different code of {', '.join(mixed)} "
            "(`asdbench status` shows the runs made with other code than is installed as stale)")


def mixed_distributions(directories: Iterable[Path]) -> list[str]:
    """The distributions whose recorded code differs among these finished trainings and scorings (each compared
    with those of its own stage), e.g. the cells of one leaderboard."""
    seen: dict[tuple[str, str], set[str]] = {}
    for directory in directories:
        record = codeprint.read_record(directory)
        for name, entry in (record.get("distributions") or {}).items():
            seen.setdefault((str(record.get("stage")), name), set()).add(json.dumps(entry, sort_keys=True))
    return sorted({name for (_, name), prints in seen.items() if len(prints) > 1})


def _kept_with(directory: Path, installed: dict[str, codeprint.Print]) -> bool:
    """Whether the stage's results were kept (``--keep-results``) with exactly the installed code."""
    return any(entry.get("installed") == installed for entry in codeprint.read_record(directory).get(KEPT, [])
               if isinstance(entry, dict))


def _what(changes: list[Change]) -> str:
    return "; ".join(f"{change.distribution}: {change.what}" for change in changes)
