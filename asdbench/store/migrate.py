"""Moving a run store written before trainings and scorings were told apart into the two-level layout.

Until then a run was one directory, ``<store>/<hash of the whole spec>/``, holding its checkpoints,
embeddings, score files and results. Such a directory becomes a training directory (named by its training
hash; see :mod:`asdbench.store.stages`) with its scoring inside; where two old runs share a training (they differ only
in their backend or ensemble), the first one's training is kept, the second one's checkpoints and
embeddings fill what the first lacks, and whatever is left of it goes to ``<store>/.migrated/`` (nothing is
deleted). Pseudo-label tables whose identity included the run's backend are renamed by their new identity.
Nothing is recomputed. A store is migrated when it is opened, under a store-wide lock; the old runs'
files are moved, not copied, so it takes milliseconds.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from asdbench.files.atomic import write_json_atomic
from asdbench.spec.identity import RunSpec, spec_hash, training_identity
from asdbench.spec.schema import DECISION_QUANTILE
from asdbench.store.layout import HASH, PSEUDOLABELS, RESULTS, TRAINED, TRAINING_SPEC

LEGACY_SPEC = "spec.json"
MIGRATED = ".migrated"


def legacy_runs(root: Path) -> list[Path]:
    """Run directories of the one-level layout directly under ``root``."""
    if not root.is_dir():
        return []
    return sorted(d for d in root.iterdir() if HASH.fullmatch(d.name) and (d / LEGACY_SPEC).is_file()
                  and not (d / TRAINING_SPEC).exists())


def migrate_store(root: Path) -> int:
    """Migrate every one-level run of ``root``; returns how many were moved."""
    if not legacy_runs(root):
        return 0
    with FileLock(str(root / ".migrate.lock")):
        renamed = _migrate_pseudolabels(root)
        moved = [run for run in legacy_runs(root) if _migrate_run(root, run, renamed)]
    if moved:
        print(f"asdbench: moved {len(moved)} runs of {root} to the two-level layout (a directory per training, "
              "one per scoring inside it)", file=sys.stderr)
    return len(moved)


def upgraded(canonical: dict[str, Any]) -> dict[str, Any]:
    """An old canonical spec in today's form: the decision quantile it was scored with made explicit."""
    canonical = copy.deepcopy(canonical)
    canonical["system"].setdefault("decision_quantile", DECISION_QUANTILE)
    return canonical


def _migrate_run(root: Path, old: Path, renamed: dict[str, str]) -> bool:
    lock = FileLock(str(old / ".lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        print(f"asdbench: {old} is being computed by an older asdbench; it is left in the old layout for now",
              file=sys.stderr)
        return False
    try:
        spec = RunSpec(upgraded(json.loads((old / LEGACY_SPEC).read_text())))
        training = root / spec.training_hash
        if training.exists():
            _fill(training, old)
        else:
            os.rename(old, training)
        source = old if old.exists() else training
        run = training / spec.scoring_hash
        run.mkdir(exist_ok=True)
        for name in ("scores", RESULTS, "error.json"):
            if (source / name).exists() and not (run / name).exists():
                os.replace(source / name, run / name)
        if (source / "provenance.json").exists():
            shutil.copy2(source / "provenance.json", run / "provenance.json")
        write_json_atomic(run / LEGACY_SPEC, spec.canonical)
        if (run / RESULTS).exists():
            results = json.loads((run / RESULTS).read_text())
            trained = {key: results[key] for key in ("num_classes", "pseudolabel") if key in results}
            if "pseudolabel" in trained:
                directory = trained["pseudolabel"]["directory"]
                trained["pseudolabel"]["directory"] = renamed.get(directory, directory)
            write_json_atomic(run / RESULTS, {
                **{k: v for k, v in results.items() if k != "hash"}, **trained,
                "training": spec.training_hash, "scoring": spec.scoring_hash})
            if not (training / TRAINED).exists():
                write_json_atomic(training / TRAINED, trained)
        write_json_atomic(training / TRAINING_SPEC, training_identity(spec.canonical))
        if source is training:
            (training / LEGACY_SPEC).unlink()
        else:
            (root / MIGRATED).mkdir(exist_ok=True)
            os.rename(old, root / MIGRATED / old.name)
    finally:
        lock.release()
    return True


def _fill(training: Path, old: Path) -> None:
    """Move the checkpoints and embeddings of ``old`` that ``training`` lacks into it."""
    for folder in ("checkpoints", "embeddings"):
        for path in sorted((old / folder).glob("epoch_*")):
            target = training / folder / path.name
            if not target.exists():
                target.parent.mkdir(exist_ok=True)
                os.replace(path, target)


def _migrate_pseudolabels(root: Path) -> dict[str, str]:
    """Rename label tables whose identity held scoring fields; returns old directory -> new directory."""
    renamed: dict[str, str] = {}
    for directory in sorted((root / PSEUDOLABELS).glob("*/spec.json")):
        shaped_by = json.loads(directory.read_text())
        if "system" not in shaped_by:
            continue
        new = {**shaped_by, **training_identity({"system": shaped_by["system"], "train": shaped_by["train"]})}
        if new == shaped_by:
            continue
        old_dir, new_dir = directory.parent, directory.parent.parent / spec_hash(new)
        if new_dir.exists():
            (root / MIGRATED / PSEUDOLABELS).mkdir(parents=True, exist_ok=True)
            os.rename(old_dir, root / MIGRATED / PSEUDOLABELS / old_dir.name)
        else:
            os.rename(old_dir, new_dir)
            write_json_atomic(new_dir / "spec.json", new)
        renamed[str(old_dir)] = str(new_dir)
    return renamed

