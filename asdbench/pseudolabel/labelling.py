"""Pseudo-attribute labels (Sec. III-B): per unit (a machine section of a split), a feature space's embeddings,
reduced, clustered per domain.

A unit's label table names one class per cluster, prefixed with its split, machine, section and domain, so no two
units or domains ever share a class. Storing tables, and reusing them across runs, is the store's
(:mod:`asdbench.store.pseudolabels`), and so is storing the feature space's output apart
(:mod:`asdbench.store.featurespaces`), so that labellings of other reducers and clusterers share it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from asdbench.contract.boundary import check_clusters, check_feature_space_output, check_reduced, plugin_call
from asdbench.contract.registration import Registration
from asdbench.contract.registry import Registry
from asdbench.data.layout import NO_ATTRIBUTE, true_attributes
from asdbench.data.manifest import SUBSETS


def units_to_label(manifest: pd.DataFrame, which: str) -> list[tuple[str, str]]:
    """The (machine, section) of each unit of one split to pseudo-label: every one (``which = "all"``), or those
    whose training clips all conceal their attributes ("unlabelled")."""
    train = manifest[manifest["subset"] == "train"]
    if which == "all":
        return sorted(train.groupby(["machine", "section"]).groups)
    hidden = train.groupby(["machine", "section"])["attribute_string"].apply(lambda s: (s == NO_ATTRIBUTE).all())
    return sorted(hidden[hidden].index)


def unit_rows(manifest: pd.DataFrame, machine: str, section: str) -> pd.DataFrame:
    """A unit's train and test rows in manifest order: what its feature space embeds (supplemental clips are not
    the machine's; the dataset option ``supplemental = "train"`` makes the clean ones training clips)."""
    chosen = (manifest["machine"] == machine) & (manifest["section"] == section) & manifest["subset"].isin(SUBSETS)
    return manifest[chosen].reset_index(drop=True)


@dataclass(frozen=True)
class LabellingComponent:
    """A built component and its registration: calls into it are named in errors and their results checked
    against the contract (asdbench.contract.boundary)."""

    product: Any
    registration: Registration

    @classmethod
    def build(cls, registry: Registry, kind: str, component: dict[str, Any], *runtime: Any) -> LabellingComponent:
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


def label_unit(output: np.ndarray, reducer: LabellingComponent, clusterer: LabellingComponent, rows: pd.DataFrame,
               config: dict[str, Any]) -> tuple[pd.DataFrame, np.ndarray]:
    """The label table of one unit's training clips (``rows``: its train and test rows; ``output``: what its
    feature space made of them, checked), and the coordinates of its training clips in the reduced space.
    ``config``: the run's canonical ``[pseudolabel]`` section."""
    train = (rows["subset"] == "train").to_numpy()
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
    prefix = (rows.loc[train, "split"] + "/" + rows.loc[train, "machine"] + "/" + rows.loc[train, "section"] + "/"
              + rows.loc[train, "domain"])
    table = rows.loc[train, ["path", "file", "split", "machine", "section", "domain"]].assign(
        label=("pseudo/" + prefix + "/" + pd.Series(clusters, index=prefix.index).astype(str)).to_numpy()
    )
    return table.reset_index(drop=True), coordinates


def quality(table: pd.DataFrame, train_rows: pd.DataFrame) -> dict[str, float] | None:
    """How a unit's pseudo-labels agree with its true attributes (visible or released hidden ones): adjusted
    Rand index and NMI over the clips whose truth is known, with the number of clusters and of true classes; None
    where no clip's truth is known."""
    truth = true_attributes(train_rows).to_numpy()
    known = truth != ""
    if not known.any():
        return None
    reference = table["domain"].to_numpy()[known] + "/" + truth[known]
    labels = table["label"].to_numpy()[known]
    return {"ari": float(adjusted_rand_score(reference, labels)),
            "nmi": float(normalized_mutual_info_score(reference, labels)),
            "clusters": int(table["label"].nunique()), "true_classes": int(len(set(reference)))}
