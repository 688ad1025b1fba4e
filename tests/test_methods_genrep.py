"""GenRep's backend: MemMixup and domain normalisation against a direct numpy computation written as the
published code's loops are."""

from __future__ import annotations

import numpy as np
import pytest

from asdbench.errors import AsdbenchError
from asdbench_methods import factories
from asdbench_methods.genrep import memmixup


def machine(sources: int = 12, targets: int = 3, dim: int = 5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    embeddings = np.concatenate([rng.normal(size=(sources, dim)), 2.0 + rng.normal(size=(targets, dim))])
    return embeddings, np.array(["source"] * sources + ["target"] * targets)


def published_memmixup(source: np.ndarray, target: np.ndarray, support: int, alpha: float) -> np.ndarray:
    """The authors' loops: for each target clip, its ``support`` nearest source clips, nearest first."""
    mixed = []
    for t in target:
        distances = np.sqrt(((source - t) ** 2).sum(1))
        for index in np.argsort(distances)[:support]:
            mixed.append(alpha * t + (1 - alpha) * source[index])
    return np.array(mixed)


def test_memmixup_mixes_each_target_clip_with_its_nearest_source_clips():
    embeddings, domains = machine()
    source, target = embeddings[domains == "source"], embeddings[domains == "target"]
    mixed = memmixup(source, target, support=4, alpha=0.9)
    assert mixed.shape == (3 * 4, 5)
    np.testing.assert_allclose(mixed, published_memmixup(source, target, 4, 0.9), rtol=1e-12)
    assert len(memmixup(source, target, support=990, alpha=0.9)) == 3 * 12, "K_s beyond the source clips: all"


@pytest.mark.parametrize("normalise", [True, False])
def test_scores_equal_a_direct_computation_of_knn_memmixup_and_domain_normalisation(normalise):
    embeddings, domains = machine()
    backend = factories.genrep(k=2, mix_support=4, alpha=0.8, domain_normalisation=normalise)
    backend.fit(embeddings, domains)
    tests = np.random.default_rng(9).normal(size=(7, 5)) + np.linspace(0, 2, 7)[:, None]
    source, target = embeddings[domains == "source"], embeddings[domains == "target"]
    bank = np.concatenate([target, published_memmixup(source, target, 4, 0.8)])

    def knn(queries, members):
        return np.array([np.sort(np.sqrt(((members - q) ** 2).sum(1)))[:2].mean() for q in queries])

    d_source, d_target = knn(tests, source), knn(tests, bank)
    if normalise:
        d_source = (d_source - d_source.mean()) / d_source.std()
        d_target = (d_target - d_target.mean()) / d_target.std()
    np.testing.assert_allclose(backend.score(tests), np.minimum(d_source, d_target), rtol=1e-9, atol=1e-12)


def test_memmixup_brings_a_clip_between_target_and_source_closer_to_the_target_bank():
    embeddings, domains = machine()
    source, target = embeddings[domains == "source"], embeddings[domains == "target"]
    clip = (0.7 * target[0] + 0.3 * source.mean(0))[None]
    plain = factories.genrep(mix_support=0, domain_normalisation=False)
    mixed = factories.genrep(mix_support=12, alpha=0.7, domain_normalisation=False)
    for backend in (plain, mixed):
        backend.fit(embeddings, domains)
    assert mixed.score(clip)[0] < plain.score(clip)[0]


def test_domain_normalisation_needs_a_spread_and_a_machine_needs_target_clips():
    embeddings, domains = machine()
    backend = factories.genrep(mix_support=2)
    backend.fit(embeddings, domains)
    with pytest.raises(AsdbenchError, match="no spread"):
        backend.score(embeddings[:1])
    with pytest.raises(AsdbenchError, match="no target-domain clips"):
        factories.genrep().check_data(np.array(["source"] * 5))
