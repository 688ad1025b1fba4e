"""Pseudo-label tables in the store: computed once per identity, read back by every run that shares it.

The output lives in ``<runs>/pseudolabels/<hash>/``, named by the hash of everything that shapes it (dataset,
seed, the ``[pseudolabel]`` section, and the run's system and training options when the feature space
registers ``uses_system=True``), so runs that share a labelling share one computation. It is claimed while it is
computed (:mod:`asdbench.store.claims`), so two processes never compute one table twice::

    labels.csv       path, file, split, machine, section, domain, label (train clips of pseudo-labelled units)
    quality.json     adjusted Rand index and NMI against the hidden truth, per unit, where truth exists
    spaces/          <split>.<machine>.<section>.npz: the 2-D space (coordinates, files, domains, truth, labels)
    featurespace.json  {"featurespace": <hash>}: the feature-space embeddings it reduced and clustered,
                     ``<runs>/featurespaces/<hash>/`` (asdbench.store.featurespaces), which tables of other
                     reducers and clusterers share (a table computed before they were stored apart has none)
    spec.json        what was computed
    code.json        the code it was computed with (asdbench.store.codeprint): a table made with other code than is
                     installed is set aside and computed again before it is reused (asdbench.store.stale.refresh),
                     and one without it is incomplete, and computed again
    error.json       the last attempt's error, where it failed

The labelling itself is :mod:`asdbench.pseudolabel.labelling`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from asdbench.contract.protocols import TrainedSystems
from asdbench.contract.registry import Registry
from asdbench.data.layout import true_attributes
from asdbench.errors import AsdbenchError
from asdbench.files.atomic import write_json_atomic, write_text_atomic
from asdbench.pseudolabel.labelling import LabellingComponent, label_unit, quality, unit_rows, units_to_label
from asdbench.runtime.progress import progress_bar
from asdbench.spec.identity import RunSpec, spec_hash
from asdbench.store import codeprint, featurespaces, stale
from asdbench.store.claims import Claim, file_claim
from asdbench.store.layout import FEATURESPACE_FILE, FEATURESPACES, PSEUDOLABELS, SPEC, read_json
from asdbench.store.once import compute_once

LABELS = "labels.csv"


@dataclass(frozen=True)
class PseudoLabels:
    directory: Path
    table: pd.DataFrame
    quality: dict[str, dict[str, float]]
    feature_space: Path | None
    """The feature-space embeddings it clustered; None for a table computed before they were stored apart."""

    def by_path(self) -> pd.Series:
        return self.table.set_index("path")["label"]


def identity(spec: RunSpec, registry: Registry) -> dict[str, Any]:
    """What shapes the table of ``spec``: its feature space's identity's parts, with the whole ``[pseudolabel]``
    section in place of the feature space (as before feature spaces were stored apart, so that every table keeps
    its hash)."""
    return featurespaces.shaped_by(spec, registry, "pseudolabel", spec.canonical["pseudolabel"])


def compute(spec: RunSpec, registry: Registry, runs_root: Path, manifests: dict[str, pd.DataFrame], *,
            systems: TrainedSystems, claim: Callable[[Path], Claim | None] = file_claim,
            progress: bool = True) -> PseudoLabels:
    """The label table of ``spec``'s ``[pseudolabel]`` section, computed once in ``runs_root`` (claimed with
    ``claim``, its failure recorded in its ``error.json``) and then read back; ``systems`` trains what a feature space
    asks for (see hookspecs.TrainedSystems)."""
    shaped_by = identity(spec, registry)
    directory = runs_root / PSEUDOLABELS / spec_hash(shaped_by)
    stale.refresh(directory, spec.canonical, codeprint.PSEUDOLABELS, registry)

    def finished() -> bool:  # whole: labels.csv is written after code.json
        return (directory / LABELS).exists() and codeprint.recorded(directory) is not None

    def label() -> None:
        directory.mkdir(parents=True, exist_ok=True)
        write_json_atomic(directory / SPEC, shaped_by)
        _label(spec, registry, runs_root, directory, manifests, systems, claim, progress)

    compute_once(directory, claim=claim, finished=finished, compute=label, progress=progress)
    return _read(directory)


def _label(spec: RunSpec, registry: Registry, runs_root: Path, directory: Path, manifests: dict[str, pd.DataFrame],
           systems: TrainedSystems, claim: Callable[[Path], Claim | None], progress: bool) -> None:
    config = spec.canonical["pseudolabel"]
    # reducer and clusterer first: their options are checked before the feature space does any work
    reducer, clusterer = (LabellingComponent.build(registry, kind, config[key])
                          for kind, key in (("reducers", "reducer"), ("clusterers", "clusterer")))
    jobs = [(split, machine, section) for split, manifest in manifests.items()
            for machine, section in units_to_label(manifest, config["machines"])]
    if not jobs:
        raise AsdbenchError(f"pseudo-labelling found no machine to label (machines = {config['machines']!r}): "
                            "every machine has attribute labels; use machines = 'all' to conceal them")
    space_dir, outputs = featurespaces.embeddings(spec, registry, runs_root, manifests, jobs, systems=systems,
                                                  claim=claim, progress=progress)
    write_json_atomic(directory / FEATURESPACE_FILE, {"featurespace": space_dir.name})
    (directory / "spaces").mkdir(parents=True, exist_ok=True)
    tables, found = [], {}
    for split, machine, section in progress_bar(jobs, desc="pseudo-labelling", unit="unit", disable=not progress):
        rows = unit_rows(manifests[split], machine, section)
        key = featurespaces.unit_name((split, machine, section))
        table, coordinates = label_unit(outputs[key], reducer, clusterer, rows, config)
        tables.append(table)
        train_rows = rows[rows["subset"] == "train"]
        truth = true_attributes(train_rows).to_numpy()
        agreement = quality(table, train_rows)
        if agreement is not None:
            found[key] = agreement
        np.savez(directory / "spaces" / f"{key}.npz", coordinates=coordinates,  # no pickles
                 files=table["file"].to_numpy(str), domains=table["domain"].to_numpy(str),
                 truth=truth.astype(str), labels=table["label"].to_numpy(str))
    write_json_atomic(directory / "quality.json", found)
    codeprint.record(directory, spec.canonical, codeprint.PSEUDOLABELS, registry)
    write_text_atomic(directory / LABELS, pd.concat(tables, ignore_index=True).to_csv(index=False))


def _read(directory: Path) -> PseudoLabels:
    quality_file, space_file = directory / "quality.json", directory / FEATURESPACE_FILE
    space = read_json(space_file) if space_file.exists() else None
    return PseudoLabels(directory, pd.read_csv(directory / LABELS, dtype=str),
                        json.loads(quality_file.read_text()) if quality_file.exists() else {},
                        directory.parent.parent / FEATURESPACES / space["featurespace"] if space else None)
