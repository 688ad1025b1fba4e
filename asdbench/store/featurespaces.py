"""Feature-space embeddings in the store: computed once per identity, read back by every pseudo-label table that
reduces and clusters them, whatever its reducer and clusterer.

They live in ``<runs>/featurespaces/<hash>/``, named by the hash of what shapes them only (dataset, its data
fingerprint, seed, the ``[pseudolabel]`` section's ``feature_space``, and the run's system and training options when
the feature space registers ``uses_system=True``), so that a reducer or clusterer ablation never computes them again::

    spec.json        what shapes them
    code.json        the code they are computed with (asdbench.store.codeprint, stage "featurespace"), written before
                     any unit is embedded: embeddings made with other code than is installed are set aside and
                     computed again (asdbench.store.stale.refresh), never reused
    units/           <split>.<machine>.<section>.npz: the feature space's output for one unit's train and test rows
                     in manifest order (``output``: embeddings, or class names), with those rows' ``paths``; each
                     written whole (temporary file and rename) as soon as it is computed, so an interrupted
                     computation resumes at the next unit
    work/            the feature space's own folder (FeatureSpaceContext.work_dir)
    systems.json     the trainings its feature space trained in the store (asdbench.store.store.StoreSystems)
    error.json       the last attempt's error, where it failed

A unit is embedded when a table first needs it: a table of every machine (``machines = "all"``) embeds the units a
table of the unlabelled ones did not. The labelling is :mod:`asdbench.store.pseudolabels`.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from asdbench.contract.protocols import FeatureSpaceContext, TrainedSystems
from asdbench.contract.registry import Registry
from asdbench.files.atomic import atomic_path, write_json_atomic
from asdbench.files.damaged import DamagedFile, set_aside
from asdbench.pseudolabel.labelling import LabellingComponent, unit_rows
from asdbench.runtime.progress import progress_bar
from asdbench.spec.identity import RunSpec, spec_hash, training_identity
from asdbench.store import codeprint, datacheck, stale
from asdbench.store.claims import Claim, file_claim
from asdbench.store.layout import FEATURESPACES, SPEC
from asdbench.store.once import compute_once

UNITS = "units"
Unit = tuple[str, str, str]
"""A unit to embed: (split, machine, section)."""


def shaped_by(spec: RunSpec, registry: Registry, section: str, options: Any) -> dict[str, Any]:
    """The identity of a computation on ``spec``'s data and seed whose own options are ``options``, under the key
    ``section``; with the run's system and training options where its feature space trains the run's system
    (``uses_system``), since they shape what it embeds."""
    registration = registry.get("feature_spaces", spec.canonical["pseudolabel"]["feature_space"]["name"])
    found = {"dataset": spec.dataset, "data": datacheck.current_fingerprint(spec.dataset, registry),
             "seed": spec.seed, section: options}
    if registration.meta.get("uses_system"):
        training = training_identity(spec.canonical)  # how the system is scored does not shape what it embeds
        found |= {"system": {k: v for k, v in training["system"].items() if k != "labels"},
                  "train": training["train"]}
    return found


def identity(spec: RunSpec, registry: Registry) -> dict[str, Any]:
    """What shapes the feature space's embeddings of ``spec``: not its reducer, clusterer or cluster counts."""
    return shaped_by(spec, registry, "feature_space", spec.canonical["pseudolabel"]["feature_space"])


def directory_of(spec: RunSpec, registry: Registry, runs_root: Path) -> Path:
    return runs_root / FEATURESPACES / spec_hash(identity(spec, registry))


def unit_name(unit: Unit) -> str:
    return ".".join(unit)


def embeddings(spec: RunSpec, registry: Registry, runs_root: Path, manifests: dict[str, pd.DataFrame],
               units: list[Unit], *, systems: TrainedSystems, claim: Callable[[Path], Claim | None] = file_claim,
               progress: bool = True) -> tuple[Path, dict[str, np.ndarray]]:
    """The feature space's output for each of ``units``, by :func:`unit_name`, computed in ``runs_root`` where it
    is not there yet (claimed with ``claim``), and the directory that holds it. ``systems`` trains what the feature
    space asks for (see hookspecs.TrainedSystems)."""
    directory = directory_of(spec, registry, runs_root)
    stale.refresh(directory, spec.canonical, codeprint.FEATURESPACE, registry)
    rows = {unit: unit_rows(manifests[unit[0]], *unit[1:]) for unit in units}

    def finished() -> bool:
        return codeprint.recorded(directory) is not None and all(
            _unit_path(directory, unit).exists() for unit in units)

    def compute() -> None:
        _compute(spec, registry, directory, manifests, rows, systems, progress)

    for _ in range(2):  # damaged unit files are set aside, then embedded again
        compute_once(directory, claim=claim, finished=finished, compute=compute, progress=progress)
        outputs, damaged = {}, []
        for unit, its_rows in rows.items():
            try:
                outputs[unit_name(unit)] = _read(directory, unit, its_rows)
            except DamagedFile as exc:
                damaged.append(exc)
        if not damaged:
            return directory, outputs
    raise damaged[0]


def _compute(spec: RunSpec, registry: Registry, directory: Path, manifests: dict[str, pd.DataFrame],
             rows: dict[Unit, pd.DataFrame], systems: TrainedSystems, progress: bool) -> None:
    """Embed the units that have no file yet; first record what and with which code, as a training does."""
    units_dir = directory / UNITS
    if codeprint.recorded(directory) is None and units_dir.exists():  # no attempt of asdbench's leaves units so
        set_aside(units_dir, f"no readable {codeprint.CODE_FILE} says which code made them")
    write_json_atomic(directory / SPEC, identity(spec, registry))
    if codeprint.recorded(directory) is None:
        codeprint.record(directory, spec.canonical, codeprint.FEATURESPACE, registry)
    config = spec.canonical["pseudolabel"]["feature_space"]
    context = FeatureSpaceContext(spec.dataset, spec.system, spec.train, spec.seed, manifests, directory / "work",
                                  systems)
    space = LabellingComponent.build(registry, "feature_spaces", config, context)
    missing = [unit for unit in rows if not _unit_path(directory, unit).exists()]
    for unit in progress_bar(missing, desc=f"embedding ({config['name']})", unit="unit", disable=not progress):
        output = space.embed(rows[unit])
        with atomic_path(_unit_path(directory, unit)) as temporary, open(temporary, "wb") as handle:
            np.savez(handle, output=output.astype(str) if output.ndim == 1 else output,  # no pickles
                     paths=rows[unit]["path"].to_numpy(str))


def _unit_path(directory: Path, unit: Unit) -> Path:
    return directory / UNITS / f"{unit_name(unit)}.npz"


def _read(directory: Path, unit: Unit, rows: pd.DataFrame) -> np.ndarray:
    """A unit's stored output; a file that cannot be read, or that embeds other clips than the unit's rows (the
    dataset changed where no data fingerprint says so), is set aside and raises :class:`DamagedFile`."""
    path = _unit_path(directory, unit)
    try:
        with np.load(path, allow_pickle=False) as stored:  # no code runs from a data file
            output, paths = stored["output"], stored["paths"]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        set_aside(path, f"{type(exc).__name__}: {exc}")
        raise DamagedFile(f"{path} was damaged and is set aside") from None
    expected = rows["path"].to_numpy(str)
    if len(output) != len(expected) or not np.array_equal(paths, expected):
        set_aside(path, f"it embeds {len(paths)} clips that are not the {len(expected)} clips of {unit_name(unit)} "
                        "in the dataset now")
        raise DamagedFile(f"{path} embeds other clips and is set aside")
    return output

