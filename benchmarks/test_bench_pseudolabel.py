"""The pseudo-label pipeline per machine: reduce + cluster at DCASE size, the Triplet space end to end, and a
clusterer x reducer sweep over one Triplet space."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import GridSearchCV

from asdbench.contract.registry import get_registry
from asdbench.data.manifest import build_manifest
from asdbench.pseudolabel.labelling import units_to_label
from asdbench.spec.validate import validate_spec
from asdbench.store import pseudolabels as pseudolabel
from asdbench.store.store import Store
from asdbench_methods.featurespaces import TripletSpace

from measure import measure


def dcase_sized_embeddings(rng):
    """1000 training clips of one machine (990 source in 6 attribute groups, 10 target), 384-d like z_cat."""
    centres = rng.normal(size=(7, 384))
    groups = np.concatenate([np.repeat(np.arange(6), 165), np.full(10, 6)])
    return centres[groups] + 0.3 * rng.normal(size=(1000, 384)), np.where(groups < 6, "source", "target")


def bic_by_cross_validation(points, limit):
    """The reference's model selection: GridSearchCV over 1..limit full-covariance GMMs, each scored by -BIC on
    5 held-out folds (unshuffled KFold), the best refitted on all points."""
    search = GridSearchCV(GaussianMixture(covariance_type="full", random_state=0),
                          {"n_components": range(1, limit + 1)}, scoring=lambda model, x: -model.bic(x))
    return search.fit(points).predict(points)


@pytest.mark.parametrize("way", ["asdbench", "reference"])
def test_reduce_and_cluster_one_machine(benchmark, way):
    registry = get_registry()
    embeddings, domains = dcase_sized_embeddings(np.random.default_rng(0))

    def label():
        points = registry.create("reducers", "umap", seed=0).fit_transform(embeddings)
        for domain, limit in (("source", 16), ("target", 2)):
            chosen = points[domains == domain]
            if way == "asdbench":
                registry.create("clusterers", "gmm-bic", seed=0).fit_predict(chosen, limit)
            else:
                bic_by_cross_validation(chosen, limit)

    measure(benchmark, label, clips=len(embeddings), work="pseudo-labels: UMAP + GMM/BIC, 1 machine",
            way=way, rounds=3, warmup_rounds=1)  # the warm-up pays numba's compilation


def test_triplet_pipeline_per_machine(benchmark, ci_dataset, tmp_path):
    """Train the per-machine Triplet model, embed, reduce, cluster: the whole pipeline of every hidden machine."""
    registry = get_registry()
    spec = validate_spec({
        "dataset": {"name": "synth", "root": str(ci_dataset), "splits": ["dev"]},
        "system": {"labels": "pseudo:triplet", "frontends": ["stft"], "networks": ["spectrogram-resnet"],
                   "loss": "scac", "backend": "knn"},
    }, registry)
    manifests = {"dev": build_manifest(ci_dataset, 2024, "dev")}
    machines = [machine for machine, _ in units_to_label(manifests["dev"], "unlabelled")]
    fresh = (tmp_path / f"round{i}" for i in itertools.count())
    measure(benchmark, lambda: pseudolabel.compute(spec, registry, next(fresh), manifests, systems=None,
                                                   progress=False),
            clips=int(manifests["dev"]["machine"].isin(machines).sum()),
            work=f"pseudo-labels: Triplet pipeline, {len(machines)} machines", way="asdbench", rounds=1)
    benchmark.extra_info["seconds_per_machine"] = round(benchmark.stats["mean"] / len(machines), 2)


SWEEP = [{"reducer": reducer, "clusterer": clusterer}
         for reducer in ({"name": "umap"}, {"name": "umap", "n_neighbors": 5, "min_dist": 0.5})
         for clusterer in ({"name": "gmm-bic", "selection": "in-sample"}, "hdbscan", "kmeans")]
"""gmm-bic / hdbscan / kmeans x two UMAP settings (the tiny preset has too few target clips for held-out BIC)."""


@pytest.mark.parametrize("way", ["asdbench", "a feature space per table (before)"])
def test_clusterer_sweep_over_one_triplet_space(benchmark, tiny_dataset, tmp_path, monkeypatch, way):
    """The six tables of a sweep: their Triplet space computed once, or (as before feature spaces were stored apart)
    once per table, which computing each table in a store of its own reproduces."""
    registry = get_registry()
    specs = [validate_spec({
        "dataset": {"name": "synth", "root": str(tiny_dataset), "splits": ["dev"]},
        "system": {"labels": "pseudo:triplet", "frontends": ["stft"], "networks": ["spectrogram-resnet"],
                   "loss": "scac", "backend": "knn"},
        "pseudolabel": {"feature_space": {"name": "triplet", "clip_seconds": 2.5}, **setting},
    }, registry) for setting in SWEEP]
    manifests = {"dev": build_manifest(tiny_dataset, 2024, "dev")}
    registry.create("reducers", "umap").fit_transform(np.random.default_rng(0).normal(size=(20, 4)))  # numba compiles
    fresh = (tmp_path / f"store{i}" for i in itertools.count())
    trained, train = [], TripletSpace._train

    def counted(self, manifest, *args):
        trained.append(manifest["machine"].iloc[0])
        return train(self, manifest, *args)

    monkeypatch.setattr(TripletSpace, "_train", counted)

    def sweep():
        shared = next(fresh)
        for spec in specs:
            root = shared if way == "asdbench" else next(fresh)
            pseudolabel.compute(spec, registry, root, manifests, systems=Store(root).systems(spec, registry),
                                progress=False)

    measure(benchmark, sweep, clips=len(manifests["dev"]) * len(specs),
            work=f"pseudo-labels: {len(specs)} clusterer x UMAP settings, one Triplet space", way=way, rounds=1)
    units = len(units_to_label(manifests["dev"], "unlabelled"))
    assert len(trained) == units * (1 if way == "asdbench" else len(specs)), "each unit's network trained once"
