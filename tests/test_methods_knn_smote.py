"""kNN + SMOTE: synthetic target embeddings lie between target neighbours, their number is set by the ratio, and a
target-like clip scores lower than with plain kNN when target clips are few."""

from __future__ import annotations

import numpy as np
import pytest

from asdbench.errors import AsdbenchError
from asdbench_methods import factories
from asdbench_methods.knnsmote import smote_targets
from asdbench_methods.neighbours import unit_rows


def machine(sources: int = 40, targets: int = 5, dim: int = 8, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Unit embeddings: sources around e0, a few targets spread around e1."""
    rng = np.random.default_rng(seed)
    source = np.eye(dim)[0] + 0.05 * rng.normal(size=(sources, dim))
    target = np.eye(dim)[1] + 0.3 * rng.normal(size=(targets, dim))
    return unit_rows(np.concatenate([source, target])), np.array(["source"] * sources + ["target"] * targets)


def test_synthetic_targets_lie_on_segments_to_one_of_their_nearest_target_neighbours():
    embeddings, domains = machine()
    is_target = domains == "target"
    target = embeddings[is_target]
    oversampled = smote_targets(embeddings, is_target, ratio=0.5, neighbours=2, seed=0)
    assert len(oversampled) == int(0.5 * 40) == 20
    np.testing.assert_array_equal(oversampled[:5], target)
    distances = np.linalg.norm(target[:, None] - target[None], axis=2)
    neighbours = np.argsort(distances, axis=1)[:, 1:3]  # each target's 2 nearest other targets
    for point in oversampled[5:]:
        on_segment = False
        for i in range(5):
            for j in neighbours[i]:
                step = target[j] - target[i]
                u = (point - target[i]) @ step / (step @ step)
                if 0 <= u <= 1 and np.allclose(target[i] + u * step, point, atol=1e-9):
                    on_segment = True
        assert on_segment, "a synthetic embedding off every segment to a nearest target neighbour"


def test_oversampling_is_seeded_and_a_ratio_already_met_adds_nothing():
    embeddings, domains = machine()
    is_target = domains == "target"
    first = smote_targets(embeddings, is_target, ratio=0.5, neighbours=2, seed=3)
    np.testing.assert_array_equal(first, smote_targets(embeddings, is_target, ratio=0.5, neighbours=2, seed=3))
    assert not np.array_equal(first, smote_targets(embeddings, is_target, ratio=0.5, neighbours=2, seed=4))
    assert len(smote_targets(embeddings, is_target, ratio=0.1, neighbours=2, seed=0)) == 5  # 0.1 * 40 < 5
    assert len(smote_targets(embeddings, is_target, ratio=0.0, neighbours=2, seed=0)) == 5


def test_a_target_like_clip_scores_lower_than_with_plain_knn():
    embeddings, domains = machine(targets=4)
    target = embeddings[domains == "target"]
    between = unit_rows(((target[0] + target[1]) / 2)[None])  # a normal target clip no training clip matches
    smote, plain = factories.knn_smote(smote_ratio=1.0, smote_neighbors=3), factories.knn_smote(smote_ratio=0.0)
    for backend in (smote, plain):
        backend.fit(embeddings, domains)
    assert smote.score(between)[0] < 0.5 * plain.score(between)[0]
    source_like = embeddings[:1]
    assert smote.score(source_like)[0] == plain.score(source_like)[0] == 0.0


def test_score_is_half_the_smaller_domain_distance_of_unit_vectors():
    embeddings, domains = machine()
    backend = factories.knn_smote(k_source=2, k_target=1, smote_ratio=0.0)
    backend.fit(embeddings, domains)
    queries = unit_rows(np.random.default_rng(5).normal(size=(3, 8)))
    d = np.linalg.norm(queries[:, None] - embeddings[None], axis=2)
    source = np.sort(d[:, domains == "source"], axis=1)[:, :2].mean(1)
    target = d[:, domains == "target"].min(1)
    np.testing.assert_allclose(backend.score(queries), np.minimum(source, target) / 2, rtol=1e-12)


def test_machines_smote_cannot_use_are_refused_before_training():
    with pytest.raises(AsdbenchError, match="no target-domain clips"):
        factories.knn_smote().check_data(np.array(["source"] * 20))
    with pytest.raises(AsdbenchError, match="smote_neighbors=2"):
        factories.knn_smote().check_data(np.array(["source"] * 20 + ["target"] * 2))
