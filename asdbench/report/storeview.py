"""A run store as a person looks at it: the list of what it holds (``asdbench ls``), one training or run in full
(``asdbench show``: what it is in words, its results, its provenance and history), and what pruning would remove
(``asdbench prune``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from tabulate import tabulate

from asdbench.contract.registry import Registry
from asdbench.errors import AsdbenchError
from asdbench.files.damaged import DamagedFile
from asdbench.grid.expand import Grid
from asdbench.report.terminal import fitted_table, human_size
from asdbench.report.words import scoring_words, training_words
from asdbench.store.history import read_history
from asdbench.store.layout import DATA_FILE, HASH, RESULTS, read_json
from asdbench.store.listing import ASIDE, SCORING, SPACE, TABLE, TRAINING, Entry, entries, total_size
from asdbench.store.provenance import PROVENANCE


def listing(root: Path, registry: Registry, width: int) -> str:
    """Every entry of the store, a line each (scorings indented under their training), what it is cut to
    ``width`` characters; then the totals."""
    found = entries(root)
    rows = [{"kind": entry.kind, "name": ("  " if entry.kind == SCORING else "") + entry.name, "state": entry.state,
             "size": human_size(entry.size), "age": entry.age(), "what": _what(entry, registry)} for entry in found]
    counts = {kind: sum(e.kind == kind for e in found) for kind in (TRAINING, SCORING, TABLE, SPACE, ASIDE)}
    total = human_size(sum(e.size for e in found))
    spaces = f"{counts[SPACE]} feature spaces, " if counts[TABLE] or counts[SPACE] else ""  # only where labelled
    summary = (f"{counts[TRAINING]} trainings, {counts[SCORING]} scorings, {counts[TABLE]} pseudo-label tables, "
               f"{spaces}{counts[ASIDE]} set aside: {total} in {root}")
    table = fitted_table(rows, "what", width) if rows else "(empty store)"
    return f"{table}\n\n{summary}"


def _what(entry: Entry, registry: Registry) -> str:
    record = entry.record or {}
    if entry.kind == TRAINING:
        return training_words(record, registry) if record else "(no training.json)"
    if entry.kind == SCORING:
        return scoring_words(record, registry) if record else "(no spec.json yet)"
    if entry.kind == TABLE:
        pseudo = record.get("pseudolabel", {})
        return "pseudo-labels of " + ", ".join(str(pseudo.get(key, {}).get("name", "?"))
                                               for key in ("feature_space", "reducer", "clusterer"))
    if entry.kind == SPACE:
        return f"embeddings of feature space {record.get('feature_space', {}).get('name', '?')}"
    return "set aside: never read again"


def find(given: str, root: Path) -> Path:
    """The training or scoring directory ``given`` names: a path, or a hash (or its first characters) of a training
    or scoring in the store ``root``."""
    path = Path(given)
    if path.is_dir():
        return path
    if root.is_dir():
        matches = [e.path for e in entries(root) if e.kind in (TRAINING, SCORING) and e.name.startswith(given)]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise AsdbenchError(f"{given!r} begins {len(matches)} hashes in {root}: "
                                f"{', '.join(m.name for m in matches[:5])}; give more of it")
    raise AsdbenchError(f"{given}: no such training or run folder, nor a hash of one in {root} (`asdbench ls {root}`)")


def show(directory: Path, registry: Registry) -> str:
    """A training or scoring directory in full."""
    is_scoring = HASH.fullmatch(directory.name) and HASH.fullmatch(directory.parent.name)
    training_dir = directory.parent if is_scoring else directory
    listed = {e.path: e for e in entries(training_dir.parent) if e.kind in (TRAINING, SCORING)}
    training = listed.get(training_dir)
    if training is None:
        raise AsdbenchError(f"{directory} is no training or run folder of an asdbench store")
    lines = [_heading(training), f"  {_what(training, registry)}"]
    if is_scoring:
        scoring = listed[directory]
        lines += [_heading(scoring), f"  {_what(scoring, registry)}", *_results(directory)]
    else:
        scorings = [e for path, e in listed.items() if path.parent == training_dir]
        lines += ["", f"{len(scorings)} scorings:"] + [f"  {e.name} ({e.state}): {_what(e, registry)}"
                                                        f"{_official(e.path)}" for e in scorings]
    lines += _provenance(directory if is_scoring else training_dir, "scoring" if is_scoring else "training")
    if is_scoring:
        lines += _provenance(training_dir, "training")
    lines += _data(training_dir)
    lines += _history(training_dir)
    return "\n".join(lines)


def referenced(grids: Sequence[Grid], registry: Registry) -> tuple[set[str], set[tuple[str, str]], set[str] | None]:
    """What the runs of ``grids`` refer to in a store: their trainings, their (training, scoring) pairs, and their
    pseudo-label tables; None for the tables where one cannot be named (its data is not there to fingerprint):
    then every table is kept."""
    from asdbench.spec.identity import spec_hash
    from asdbench.store.pseudolabels import identity

    specs = [run.spec for grid in grids for run in grid.runs]
    tables: set[str] | None = set()
    for spec in specs:
        if "pseudolabel" in spec.canonical and tables is not None:
            shaped_by = identity(spec, registry)
            tables = None if shaped_by["data"] is None else tables | {spec_hash(shaped_by)}
    return ({spec.training_hash for spec in specs}, {(spec.training_hash, spec.scoring_hash) for spec in specs},
            tables)


def prune_plan(dropped: Sequence[Entry]) -> str:
    """What pruning removes, a line each, and the space it frees."""
    rows = [{"kind": e.kind, "path": str(e.path), "state": e.state, "size": human_size(total_size(e))}
            for e in dropped]
    freed = human_size(sum(total_size(e) for e in dropped))
    if not rows:
        return "nothing to remove: every entry is referred to by a grid given"
    return tabulate(rows, headers="keys", tablefmt="simple", disable_numparse=True) + \
        f"\n\n{len(rows)} entries, {freed}"


def _heading(entry: Entry) -> str:
    return f"{entry.kind} {entry.name}: {entry.state}, {human_size(entry.size)}, changed {entry.age()} ago"


def _results(directory: Path) -> list[str]:
    from asdbench.scoring.official import report_from_dict  # scikit-learn: only where a run's results are shown

    results = read_json(directory / RESULTS) if (directory / RESULTS).exists() else None
    if not results:
        return ["", "no results yet"]
    lines, machines, headers = ["", "per split (%):"], [], []
    for split, data in results.get("splits", {}).items():
        if not data:
            lines.append(f"  {split}: no ground truth (score files only)")
            continue
        report = report_from_dict(data)
        name, value = report.headline
        lines.append(f"  {split}: {name} {100 * value:.2f}")
        columns = ("hmean", *report.SCORE_FIELDS)  # one year's report: the same columns in every split
        headers = ["split", "machine", report.UNIT_WORD, *columns]
        machines += [[split, m.machine, m.section, *(f"{100 * getattr(m, c):.2f}" for c in columns)]
                     for m in report.machines]
    if machines:
        table = tabulate(machines, headers=headers, tablefmt="simple", disable_numparse=True)
        lines += ["", "per machine section (%):", *("  " + line for line in table.splitlines())]
    return lines


def _official(directory: Path) -> str:
    results = read_json(directory / RESULTS) if (directory / RESULTS).exists() else None
    if not results:
        return ""
    scores = [f"{split} {100 * report['official_score']:.2f}" for split, report in results.get("splits", {}).items()
              if report and report.get("official_score") is not None]  # DCASE 2020 has none
    return f" [{', '.join(scores)}]" if scores else ""


def _provenance(directory: Path, what: str) -> list[str]:
    try:
        record: dict[str, Any] = read_json(directory / PROVENANCE) or {}
    except DamagedFile:
        return ["", f"{what} provenance: {directory / PROVENANCE} cannot be read"]
    if not record:
        return ["", f"{what} provenance: none recorded"]
    started, finished = record.get("started"), record.get("finished")
    took = ""
    if started and finished:
        took = f" (took {_duration(datetime.fromisoformat(finished) - datetime.fromisoformat(started))})"
    checkouts = ", ".join(f"{name} {c['commit'][:12] if c.get('commit') else '?'}{' (dirty)' if c.get('dirty') else ''}"
                          for name, c in (record.get("checkouts") or {}).items() if c)
    versions = ", ".join(f"{name} {version}" for name, version in (record.get("distributions") or {}).items())
    lines = ["", f"{what} provenance:",
             f"  host: {record.get('host', '?')}", f"  command: {' '.join(record.get('command', [])) or '?'}",
             f"  started: {started or '?'}, finished: {finished or 'not yet'}{took}",
             f"  distributions: {versions or '?'}",
             f"  checkouts: {checkouts or 'none (installed, not from a git checkout)'}",
             f"  torch {record.get('torch', '?')}, numpy {record.get('numpy', '?')}, "
             f"python {record.get('python', '?')}" + (f", device {record['device']}" if "device" in record else "")]
    if record.get("earlier"):
        lines.append(f"  resumed: {len(record['earlier'])} earlier attempts, the first started "
                     f"{record['earlier'][0].get('started', '?')} on {record['earlier'][0].get('host', '?')}")
    return lines


def _data(training_dir: Path) -> list[str]:
    """The fingerprint of the data the training was made on (asdbench.store.datacheck)."""
    try:
        record = read_json(training_dir / DATA_FILE)
    except DamagedFile:
        return ["", f"data: {training_dir / DATA_FILE} cannot be read"]
    if record is None:
        return ["", f"data: no fingerprint recorded (no {DATA_FILE})"]
    return ["", f"data fingerprint: {record.get('fingerprint') or 'none (a dataset type without one)'}"]


def _history(training_dir: Path) -> list[str]:
    history = read_history(training_dir)
    if not history:
        return []
    machines = [[e["machine"]] if "machine" in e else [] for e in history]  # a machinewise training's models
    rows = [[*machine, e["epoch"], f"{e.get('loss', float('nan')):.4f}", f"{e.get('seconds', float('nan')):.3g}",
             e.get("finished", "")] for machine, e in zip(machines, history)]
    headers = ["machine type"] * any(machines) + ["epoch", "loss", "seconds", "finished"]
    table = tabulate(rows, headers=headers, tablefmt="simple", disable_numparse=True)
    total = sum(e.get("seconds", 0) for e in history)
    return ["", f"history ({len(history)} epochs, {total:.1f} s of training):", *("  " + line for line in
                                                                                  table.splitlines())]


def _duration(delta: Any) -> str:
    seconds = delta.total_seconds()
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.1f} min" if seconds >= 60 \
        else f"{seconds:.0f} s"
