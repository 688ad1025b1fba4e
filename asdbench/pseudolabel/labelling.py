"""Pseudo-attribute labels (Sec. III-B): per machine, embed -> reduce -> cluster per domain -> label table.

The output lives in ``<runs>/pseudolabels/<hash>/``, named by the hash of everything that shapes it (dataset,
seed, the ``[pseudolabel]`` section, and the run's system and training options when the feature space
registers ``uses_system=True``), so runs that share a labelling share one computation::

    labels.csv       path, file, split, machine, domain, label (train clips of pseudo-labelled machines)
    quality.json     adjusted Rand index and NMI against the hidden truth, per machine, where truth exists
    spaces/          <split>.<machine>.npz: the 2-D space (coordinates, files, domains, truth, pseudo labels)
    spec.json        what was computed
    code.json        the code it was computed with (asdbench.store.codeprint): a table made with other code than is
                     installed is set aside and computed again before it is reused (asdbench.store.stale.refresh)

Labels are prefixed with split, machine and domain, so no two machines or domains ever share a class.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from asdbench.contract.boundary import check_clusters, check_feature_space_output, check_reduced, plugin_call
from asdbench.contract.protocols import FeatureSpaceContext, TrainedSystems
from asdbench.contract.registry import Registration, Registry
from asdbench.data.layout import NO_ATTRIBUTE, true_attributes
from asdbench.data.manifest import SUBSETS
from asdbench.errors import AsdbenchError
from asdbench.files.atomic import write_json_atomic, write_text_atomic
from asdbench.runtime.progress import progress_bar
from asdbench.spec.validate import RunSpec, spec_hash, training_identity
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


def machines_to_label(manifest: pd.DataFrame, which: str) -> list[str]:
    train = manifest[manifest["subset"] == "train"]
    if which == "all":
        return sorted(train["machine"].unique())
    hidden = train.groupby("machine")["attribute_string"].apply(lambda s: (s == NO_ATTRIBUTE).all())
    return sorted(hidden[hidden].index)


def compute(spec: RunSpec, registry: Registry, runs_root: Path, manifests: dict[str, pd.DataFrame], *,
            systems: TrainedSystems, progress: bool = True) -> PseudoLabels:
    """The label table of ``spec``'s ``[pseudolabel]`` section, computed once in ``runs_root`` and then read
    back; ``systems`` trains what a feature space asks for (see hookspecs.TrainedSystems)."""
    shaped_by = identity(spec, registry)
    directory = runs_root / PSEUDOLABELS / spec_hash(shaped_by)
    stale.refresh(directory, spec.canonical, codeprint.PSEUDOLABELS, registry)
    if (directory / LABELS).exists():
        return _read(directory)
    config = spec.canonical["pseudolabel"]
    (directory / "spaces").mkdir(parents=True, exist_ok=True)
    write_json_atomic(directory / "spec.json", shaped_by)
    context = FeatureSpaceContext(spec.dataset, spec.system, spec.train, spec.seed, manifests,
                                  directory / "feature-space", systems)
    # reducer and clusterer first: their options are checked before the feature space does any work
    reducer, clusterer = (_Component.build(registry, kind, config[key])
                          for kind, key in (("reducers", "reducer"), ("clusterers", "clusterer")))
    space = _Component.build(registry, "feature_spaces", config["feature_space"], context)
    tables, quality = [], {}
    jobs = [(split, machine) for split, manifest in manifests.items()
            for machine in machines_to_label(manifest, config["machines"])]
    for split, machine in progress_bar(jobs, desc="pseudo-labelling", unit="machine", disable=not progress):
        manifest = manifests[split]
        # train and test clips only: supplemental clips are not the machine's (a "train" option makes them train)
        rows = manifest[(manifest["machine"] == machine) & manifest["subset"].isin(SUBSETS)].reset_index(drop=True)
        table, coordinates = _label_machine(space, reducer, clusterer, rows, config)
        tables.append(table)
        truth = true_attributes(rows[rows["subset"] == "train"]).to_numpy()
        known = truth != ""
        if known.any():
            reference = table["domain"].to_numpy()[known] + "/" + truth[known]
            quality[f"{split}.{machine}"] = {
                "ari": float(adjusted_rand_score(reference, table["label"].to_numpy()[known])),
                "nmi": float(normalized_mutual_info_score(reference, table["label"].to_numpy()[known])),
                "clusters": int(table["label"].nunique()),
                "true_classes": int(len(set(reference))),
            }
        np.savez(directory / "spaces" / f"{split}.{machine}.npz", coordinates=coordinates,  # strings, never pickles
                 files=table["file"].to_numpy(str), domains=table["domain"].to_numpy(str),
                 truth=truth.astype(str), labels=table["label"].to_numpy(str))
    if not tables:
        raise AsdbenchError(f"pseudo-labelling found no machine to label (machines = {config['machines']!r}): "
                            "every machine has attribute labels; use machines = 'all' to conceal them")
    write_json_atomic(directory / "quality.json", quality)
    codeprint.record(directory, spec.canonical, codeprint.PSEUDOLABELS, registry)
    write_text_atomic(directory / LABELS, pd.concat(tables, ignore_index=True).to_csv(index=False))
    return _read(directory)


@dataclass(frozen=True)
class _Component:
    """A built component and its registration: calls into it are named in errors and their results checked
    against the contract (asdbench.contract.boundary)."""

    product: Any
    registration: Registration

    @classmethod
    def build(cls, registry: Registry, kind: str, component: dict[str, Any], *runtime: Any) -> _Component:
        return cls(registry.build(kind, component, *runtime), registry.get(kind, component["name"]))

    def embed(self, rows: pd.DataFrame) -> np.ndarray:
        with plugin_call(self.registration, "embed"):
            output = self.product.embed(rows)
        return check_feature_space_output(output, len(rows), self.registration)

    def reduce(self, embeddings: np.ndarray) -> np.ndarray:
        with plugin_call(self.registration, "fit_transform"):
            reduced = self.product.fit_transform(embeddings)
        return check_reduced(reduced, len(embeddings), self.registration)

    def cluster(self, points: np.ndarray, max_clusters: int) -> np.ndarray:
        with plugin_call(self.registration, "fit_predict"):
            labels = self.product.fit_predict(points, max_clusters)
        return check_clusters(labels, len(points), max_clusters, self.registration)


def _label_machine(space: _Component, reducer: _Component, clusterer: _Component, rows: pd.DataFrame,
                   config: dict[str, Any]) -> tuple[pd.DataFrame, np.ndarray]:
    train = (rows["subset"] == "train").to_numpy()
    output = space.embed(rows)
    domains = rows.loc[train, "domain"].to_numpy()
    if output.ndim == 1:  # the space names the classes itself
        clusters, coordinates = output[train].astype(str), np.zeros((int(train.sum()), 0))
    else:
        fit_rows = np.ones(len(rows), bool) if config["transductive"] else train
        coordinates = reducer.reduce(output[fit_rows].astype(np.float64))[train[fit_rows]]
        clusters = np.empty(len(coordinates), dtype=object)
        for domain, limit in (("source", config["max_clusters_source"]), ("target", config["max_clusters_target"])):
            in_domain = domains == domain
            if in_domain.any():
                clusters[in_domain] = clusterer.cluster(coordinates[in_domain],
                                                        min(limit, int(in_domain.sum()))).astype(str)
    prefix = rows.loc[train, "split"] + "/" + rows.loc[train, "machine"] + "/" + rows.loc[train, "domain"]
    table = rows.loc[train, ["path", "file", "split", "machine", "domain"]].assign(
        label=("pseudo/" + prefix + "/" + pd.Series(clusters, index=prefix.index).astype(str)).to_numpy()
    )
    return table.reset_index(drop=True), coordinates


def _read(directory: Path) -> PseudoLabels:
    import json

    quality_file = directory / "quality.json"
    return PseudoLabels(directory, pd.read_csv(directory / LABELS, dtype=str),
                        json.loads(quality_file.read_text()) if quality_file.exists() else {})
