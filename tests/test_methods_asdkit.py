"""ASDKit's backends against ASDKit's code: ``asdkit-kmeans`` (its ``Kmeans``), ``asdkit-knn`` and ``knn-smote`` (its
``Knn`` without and with SMOTE) on two DCASE-sized machines of fixed embeddings, to 1e-6 absolute.

``tests/golden/asdkit.npz`` holds the scores of ASDKit's own modules (TakuyaFujimura/dcase-asd-toolkit at ed27d82),
made by ``tests/golden/regenerate_asdkit.sh``; ``tests/golden/inputs.py`` rebuilds the embeddings here. The paper's
``kmeans-target`` and asdbench's ``knn`` are other backends, and the last tests hold them apart from ASDKit's.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from asdbench.contract.registry import get_registry
from asdbench.errors import AsdbenchError
from tests.golden import inputs

GOLDEN = Path(__file__).parent / "golden" / "asdkit.npz"
TOLERANCE = 1e-6
"""ASDKit computes in float32 (its embeddings are float32), asdbench in float64: measured at most 9e-8."""
BACKENDS = {
    "kmeans16": ("asdkit-kmeans", {}),
    "kmeans4": ("asdkit-kmeans", {"clusters": 4}),
    "knn_1_1": ("asdkit-knn", {}),
    "knn_4_2": ("asdkit-knn", {"k_source": 4, "k_target": 2}),
    "knn_smote_1_1": ("knn-smote", {}),
    "knn_smote_3_2": ("knn-smote", {"k_source": 3, "k_target": 2}),
}
"""Golden key (tests/golden/make_asdkit_reference.py) -> the asdbench backend and options that compute it."""


@pytest.fixture(scope="module")
def golden() -> dict[str, np.ndarray]:
    with np.load(GOLDEN) as data:
        stored = dict(data)
    for name in inputs.ASDKIT_SETS:
        data = inputs.asdkit_set(name)
        np.testing.assert_allclose(inputs.fingerprint(np.concatenate([data["train"].ravel(), data["test"].ravel()])),
                                   stored[f"{name}/input"], rtol=1e-9, atol=1e-9,
                                   err_msg="tests/golden/inputs.py no longer rebuilds the generator's input")
    return stored


def domains(is_target: np.ndarray) -> np.ndarray:
    return np.where(is_target == 1, "target", "source")


def fitted(backend: str, options: dict, data: dict[str, np.ndarray]):
    made = get_registry().create("backends", backend, **options)
    made.fit(data["train"], domains(data["train_is_target"]))
    return made


@pytest.mark.parametrize("name", inputs.ASDKIT_SETS)
@pytest.mark.parametrize("key", BACKENDS)
def test_asdkit_backends_equal_asdkits_code(golden, name, key):
    data = inputs.asdkit_set(name)
    backend = fitted(*BACKENDS[key], data)
    for split in ("train", "test"):
        np.testing.assert_allclose(backend.score(data[split]), golden[f"{name}/{key}/{split}"], rtol=0,
                                   atol=TOLERANCE, err_msg=f"{BACKENDS[key][0]} {split} scores on {name}")


@pytest.mark.parametrize("name", inputs.ASDKIT_SETS)
def test_the_papers_kmeans_target_is_not_asdkits_kmeans(golden, name):
    """Raw centres and ten k-means starts (the authors' code) move scores far past float noise."""
    data = inputs.asdkit_set(name)
    for clusters, key in ((16, "kmeans16"), (4, "kmeans4")):
        paper = fitted("kmeans-target", {"clusters": clusters}, data).score(data["test"])
        assert np.abs(paper - golden[f"{name}/{key}/test"]).max() > 1e-2


def test_asdbench_knn_ranks_as_asdkit_knn_for_one_neighbour_only(golden):
    """One pooled bank and ``1 - cos``: for k = 1 a monotone map of ASDKit's score, for k > 1 not even that."""
    data = inputs.asdkit_set(inputs.ASDKIT_SETS[0])
    one = fitted("knn", {"k": 1}, data).score(data["test"])
    np.testing.assert_allclose(np.sqrt(2 * one) / 2, golden["asdkit-a/knn_1_1/test"], rtol=0, atol=TOLERANCE)
    pooled = fitted("knn", {"k": 4}, data).score(data["test"])
    separate = fitted("asdkit-knn", {"k_source": 4, "k_target": 4}, data).score(data["test"])
    assert (np.argsort(pooled) != np.argsort(separate)).any()


def test_default_knn_is_still_the_mean_cosine_distance_over_one_bank():
    data = inputs.asdkit_set(inputs.ASDKIT_SETS[1])
    train = data["train"].astype(np.float64)
    cosine = 1 - data["test"].astype(np.float64) @ train.T / np.linalg.norm(train, axis=1)
    expected = np.sort(cosine, axis=1)[:, :3].mean(axis=1)
    np.testing.assert_allclose(fitted("knn", {"k": 3}, data).score(data["test"]), expected, rtol=0, atol=1e-6)


def test_asdkit_backends_name_themselves_in_their_errors():
    registry = get_registry()
    with pytest.raises(AsdbenchError, match="backend 'asdkit-kmeans': 3 source-domain training clips for 16"):
        registry.create("backends", "asdkit-kmeans").check_data(np.array(["source"] * 3 + ["target"]))
    with pytest.raises(AsdbenchError, match="backend 'asdkit-knn': no target-domain clips"):
        registry.create("backends", "asdkit-knn").check_data(np.array(["source"] * 20))
    with pytest.raises(AsdbenchError, match="backend 'asdkit-knn': 2 target-domain embeddings for k_target=3"):
        registry.create("backends", "asdkit-knn", k_target=3).check_data(np.array(["source"] * 20 + ["target"] * 2))
    with pytest.raises(AsdbenchError, match="backend 'asdkit-knn': score\\(\\) called before fit\\(\\)"):
        registry.create("backends", "asdkit-knn").score(np.ones((1, 4)))


def test_the_sota_grids_asdkit_rows_score_with_asdkits_backends():
    """The k-means rows use ASDKit's Kmeans (16 clusters), the kNN + SMOTE rows its Knn with default.yaml's SMOTE
    setting; each pair shares one training."""
    from asdbench.grid.expand import load_grid

    runs = load_grid(Path(__file__).resolve().parent.parent / "leaderboard" / "sota.toml").runs
    systems = {run.coordinates["system"]: run.spec for run in runs}
    for network in ("BEATs", "EAT"):
        kmeans, smote = systems[f"{network} + LoRA + SCAC (k-means)"], systems[f"{network} + LoRA + SCAC (kNN + SMOTE)"]
        assert kmeans.system["backend"] == {"name": "asdkit-kmeans", "clusters": 16, "seed": 0}
        assert smote.system["backend"] == {"name": "knn-smote", "k_source": 1, "k_target": 1, "smote_ratio": 0.2,
                                           "smote_neighbors": 2, "seed": 0}
        assert kmeans.training_hash == smote.training_hash
