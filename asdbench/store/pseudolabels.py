"""Pseudo-label tables in the store: computed once per identity, read back by every run that shares it.

The output lives in ``<runs>/pseudolabels/<hash>/``, named by the hash of everything that shapes it (dataset,
seed, the ``[pseudolabel]`` section, and the run's system and training options when the feature space
registers ``uses_system=True``), so runs that share a labelling share one computation::

    labels.csv       path, file, split, machine, section, domain, label (train clips of pseudo-labelled units)
    quality.json     adjusted Rand index and NMI against the hidden truth, per unit, where truth exists
    spaces/          <split>.<machine>.<section>.npz: the 2-D space (coordinates, files, domains, truth, labels)
    spec.json        what was computed
    code.json        the code it was computed with (asdbench.store.codeprint): a table made with other code than is
                     installed is set aside and computed again before it is reused (asdbench.store.stale.refresh),
                     and one without it is incomplete, and computed again

The labelling itself is :mod:`asdbench.pseudolabel.labelling`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from asdbench.contract.protocols import FeatureSpaceContext, TrainedSystems
from asdbench.contract.registry import Registry
from asdbench.data.layout import true_attributes
from asdbench.errors import AsdbenchError
from asdbench.files.atomic import write_json_atomic, write_text_atomic
from asdbench.pseudolabel.labelling import LabellingComponent, label_unit, quality, unit_rows, units_to_label
from asdbench.runtime.progress import progress_bar
from asdbench.spec.identity import RunSpec, spec_hash, training_identity
from asdbench.store import codeprint, datacheck, stale
from asdbench.store.layout import PSEUDOLABELS

LABELS = "labels.csv"


@dataclass(frozen=True)
class PseudoLabels:
    directory: Path
    table: pd.DataFrame
    quality: dict[str, dict[str, float]]

    def by_path(self) -> pd.Series:
        return self.table.set_index("path")["label"]


def identity(spec: RunSpec, registry: Registry) -> dict[str, Any]:
    config = spec.canonical["pseudolabel"]
    registration = registry.get("feature_spaces", config["feature_space"]["name"])
    shaped_by = {"dataset": spec.dataset, "data": datacheck.current_fingerprint(spec.dataset, registry),
                 "seed": spec.seed, "pseudolabel": config}
    if registration.meta.get("uses_system"):
        training = training_identity(spec.canonical)  # how the system is scored does not shape its labels
        shaped_by |= {"system": {k: v for k, v in training["system"].items() if k != "labels"},
                      "train": training["train"]}
    return shaped_by


def compute(spec: RunSpec, registry: Registry, runs_root: Path, manifests: dict[str, pd.DataFrame], *,
            systems: TrainedSystems, progress: bool = True) -> PseudoLabels:
    """The label table of ``spec``'s ``[pseudolabel]`` section, computed once in ``runs_root`` and then read
    back; ``systems`` trains what a feature space asks for (see hookspecs.TrainedSystems)."""
    shaped_by = identity(spec, registry)
    directory = runs_root / PSEUDOLABELS / spec_hash(shaped_by)
    stale.refresh(directory, spec.canonical, codeprint.PSEUDOLABELS, registry)
    if (directory / LABELS).exists() and codeprint.recorded(directory) is not None:
        return _read(directory)  # whole: labels.csv is written after code.json
    config = spec.canonical["pseudolabel"]
    (directory / "spaces").mkdir(parents=True, exist_ok=True)
    write_json_atomic(directory / "spec.json", shaped_by)
    context = FeatureSpaceContext(spec.dataset, spec.system, spec.train, spec.seed, manifests,
                                  directory / "feature-space", systems)
    # reducer and clusterer first: their options are checked before the feature space does any work
    reducer, clusterer = (LabellingComponent.build(registry, kind, config[key])
                          for kind, key in (("reducers", "reducer"), ("clusterers", "clusterer")))
    space = LabellingComponent.build(registry, "feature_spaces", config["feature_space"], context)
    tables, found = [], {}
    jobs = [(split, machine, section) for split, manifest in manifests.items()
            for machine, section in units_to_label(manifest, config["machines"])]
    for split, machine, section in progress_bar(jobs, desc="pseudo-labelling", unit="unit", disable=not progress):
        rows = unit_rows(manifests[split], machine, section)
        table, coordinates = label_unit(space, reducer, clusterer, rows, config)
        tables.append(table)
        train_rows = rows[rows["subset"] == "train"]
        truth = true_attributes(train_rows).to_numpy()
        agreement = quality(table, train_rows)
        if agreement is not None:
            found[f"{split}.{machine}.{section}"] = agreement
        np.savez(directory / "spaces" / f"{split}.{machine}.{section}.npz", coordinates=coordinates,  # no pickles
                 files=table["file"].to_numpy(str), domains=table["domain"].to_numpy(str),
                 truth=truth.astype(str), labels=table["label"].to_numpy(str))
    if not tables:
        raise AsdbenchError(f"pseudo-labelling found no machine to label (machines = {config['machines']!r}): "
                            "every machine has attribute labels; use machines = 'all' to conceal them")
    write_json_atomic(directory / "quality.json", found)
    codeprint.record(directory, spec.canonical, codeprint.PSEUDOLABELS, registry)
    write_text_atomic(directory / LABELS, pd.concat(tables, ignore_index=True).to_csv(index=False))
    return _read(directory)


def _read(directory: Path) -> PseudoLabels:
    import json

    quality_file = directory / "quality.json"
    return PseudoLabels(directory, pd.read_csv(directory / LABELS, dtype=str),
                        json.loads(quality_file.read_text()) if quality_file.exists() else {})
