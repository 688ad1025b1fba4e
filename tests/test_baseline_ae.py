"""The DCASE Task 2 autoencoder baseline against its own code: ``log-mel``, ``dcase-ae``, ``reconstruction``,
``reconstruction-mse`` and ``selective-mahalanobis`` on fixed clips and weights.

``tests/golden/baseline_ae.npz`` holds what the baseline's modules compute (nttcslab/dcase2023_task2_baseline_ae at
9b64dc4), made by ``tests/golden/regenerate_baseline_ae.sh``; ``tests/golden/inputs.py`` rebuilds the clips and
weights here. Each stage is fed the baseline's own output of the stage before, so that a difference is found where
it arises.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from asdbench.contract.registry import get_registry
from asdbench.errors import AsdbenchError
from asdbench_methods.errorstats import ErrorStatistics, pack
from tests.golden import inputs

GOLDEN = Path(__file__).parent / "golden" / "baseline_ae.npz"


@pytest.fixture(scope="module")
def golden() -> dict[str, np.ndarray]:
    with np.load(GOLDEN) as data:
        stored = dict(data)
    for name in inputs.BASELINE_AE_SETS:
        data = inputs.baseline_ae_set(name)
        np.testing.assert_allclose(inputs.fingerprint(np.concatenate([data["train"].ravel(), data["test"].ravel()])),
                                   stored[f"{name}/input"], rtol=1e-9,
                                   err_msg="tests/golden/inputs.py no longer rebuilds the generator's input")
    return stored


def network(input_shape: tuple[int, int]) -> torch.nn.Module:
    """``dcase-ae`` with the golden weights, in evaluation mode."""
    made = get_registry().create("networks", "dcase-ae", input_shape)
    state = {key: torch.from_numpy(inputs.tensor(f"baseline-ae/{key}", tuple(value.shape)))
             for key, value in made.state_dict().items() if not key.endswith("num_batches_tracked")}
    made.load_state_dict(state, strict=False)
    return made.eval()


def statistics(golden: dict[str, np.ndarray], name: str, subset: str) -> np.ndarray:
    features = torch.from_numpy(golden[f"{name}/features/{subset}"]).float()
    with torch.no_grad():
        return network(tuple(features.shape[1:]))(features).numpy()


@pytest.mark.parametrize("name", inputs.BASELINE_AE_SETS)
@pytest.mark.parametrize("subset", ["train", "test"])
def test_log_mel_vectors_equal_the_baselines(golden, name, subset):
    waveforms = torch.from_numpy(inputs.baseline_ae_set(name)[subset])
    vectors = get_registry().create("frontends", "log-mel")(waveforms).numpy()
    expected = golden[f"{name}/features/{subset}"]
    assert vectors.shape == expected.shape
    np.testing.assert_allclose(vectors, expected, rtol=0, atol=2e-4)  # dB; measured 5e-5 (float32 FFTs in another order)


@pytest.mark.parametrize("name", inputs.BASELINE_AE_SETS)
def test_reconstruction_loss_in_training_mode_equals_the_baselines(golden, name):
    features = torch.from_numpy(golden[f"{name}/features/train"]).float()
    made = network(tuple(features.shape[1:])).train()
    loss = get_registry().create("losses", "reconstruction", [made.embedding_dim], 1)
    value = loss([made(features)], torch.ones(len(features), 1))
    np.testing.assert_allclose(value.item(), golden[f"{name}/loss"], rtol=1e-5)


@pytest.mark.parametrize("name", inputs.BASELINE_AE_SETS)
@pytest.mark.parametrize("subset", ["train", "test"])
def test_mse_scores_equal_the_baselines(golden, name, subset):
    backend = get_registry().create("backends", "reconstruction-mse")
    backend.fit(statistics(golden, name, "train"), inputs.baseline_ae_set(name)["train_domains"])
    np.testing.assert_allclose(backend.score(statistics(golden, name, subset)),
                               golden[f"{name}/scores/MSE/{subset}"], rtol=1e-5)


@pytest.mark.parametrize("name", inputs.BASELINE_AE_SETS)
def test_covariances_equal_the_baselines_pass_over_one_batch(golden, name):
    """The baseline's covariance pass with every training vector in one batch; a unit without target clips takes
    the source covariance for its target one."""
    embedded = ErrorStatistics.unpack(statistics(golden, name, "train"), "test")
    domains = inputs.baseline_ae_set(name)["train_domains"]
    for domain in ("source", "target"):
        clips = embedded.select(domains == domain) if (domains == domain).any() else embedded.select(
            domains == "source")
        covariance = clips.pooled_scatter() / (clips.vectors.sum() - 1)
        expected = golden[f"{name}/one-batch/cov_{domain}"]
        np.testing.assert_allclose(covariance, expected, rtol=0, atol=1e-4 * np.abs(expected).max())


@pytest.mark.parametrize("name", inputs.BASELINE_AE_SETS)
def test_the_baselines_per_batch_centring_moves_its_covariance_little(golden, name):
    """What asdbench does not reproduce (batches of 256 shuffled vectors, each centred on its own mean) against the
    one-batch covariance it does: the documented size of that difference."""
    for domain in ("source", "target"):
        batched, whole = golden[f"{name}/batches-256/cov_{domain}"], golden[f"{name}/one-batch/cov_{domain}"]
        assert np.linalg.norm(batched - whole) / np.linalg.norm(whole) < 0.05


@pytest.mark.parametrize("name", inputs.BASELINE_AE_SETS)
@pytest.mark.parametrize("subset", ["train", "test"])
def test_selective_mahalanobis_scores_equal_the_baselines(golden, name, subset):
    backend = get_registry().create("backends", "selective-mahalanobis")
    backend.fit(statistics(golden, name, "train"), inputs.baseline_ae_set(name)["train_domains"])
    np.testing.assert_allclose(backend.score(statistics(golden, name, subset)),
                               golden[f"{name}/scores/MAHALA/{subset}"], rtol=2e-5)  # measured 2.3e-6


def test_the_network_embeds_the_statistics_of_its_residual():
    torch.manual_seed(0)
    made = get_registry().create("networks", "dcase-ae", (6, 8), block=4).eval()
    features = torch.randn(3, 6, 8)
    with torch.no_grad():
        residual = (made.reconstruct(features) - features).numpy()
        embedded = made(features).numpy()
    np.testing.assert_allclose(embedded, pack(residual, 4), rtol=1e-5, atol=1e-6)


def test_clean_options_compute_what_they_say():
    """``cross_row_terms = false``: the mean of each row's own distance; ``covariance_divisor = "rows"``: the rows'
    sample covariance. Both from residual rows directly."""
    rng = np.random.default_rng(0)
    train, test = rng.normal(size=(12, 5, 8)), rng.normal(size=(3, 5, 8))
    domains = np.array(["source"] * 12)
    backend = get_registry().create("backends", "selective-mahalanobis", covariance_divisor="rows",
                                    cross_row_terms=False)
    backend.fit(pack(train, 4), domains)
    rows = train.reshape(-1, 4)
    precision = np.linalg.inv(np.cov(rows, rowvar=False))
    expected = np.einsum("nri,ij,nrj->nr", test.reshape(3, -1, 4), precision, test.reshape(3, -1, 4)).mean(axis=1)
    np.testing.assert_allclose(backend.score(pack(test, 4)), expected, rtol=1e-9)

    baseline = get_registry().create("backends", "selective-mahalanobis")
    baseline.fit(pack(train, 4), domains)
    mean_row = test.reshape(3, -1, 4).mean(axis=1)
    covariance = np.cov(rows, rowvar=False) * (len(rows) - 1) / (12 * 5 - 1)  # divided by the 60 vectors - 1
    expected = np.einsum("ni,ij,nj->n", mean_row, np.linalg.inv(covariance), mean_row)
    np.testing.assert_allclose(baseline.score(pack(test, 4)), expected, rtol=1e-9)


def test_reconstruction_components_refuse_other_embeddings():
    with pytest.raises(AsdbenchError, match="reconstruction network"):
        get_registry().create("losses", "reconstruction", [128], 3)
    with pytest.raises(AsdbenchError, match="one branch"):
        get_registry().create("losses", "reconstruction", [17, 17], 3)
    backend = get_registry().create("backends", "selective-mahalanobis")
    with pytest.raises(AsdbenchError, match="reconstruction network"):
        backend.fit(np.zeros((4, 16)), np.array(["source"] * 4))
    with pytest.raises(AsdbenchError, match="source-domain"):
        backend.check_data(np.array(["target"] * 4))
    with pytest.raises(AsdbenchError, match="block=100 does not divide"):
        get_registry().create("networks", "dcase-ae", (28, 640), block=100)


def test_log_mel_shape_is_what_it_declares():
    frontend = get_registry().create("frontends", "log-mel", frame_hop=3)
    features = frontend(torch.randn(2, 16000))
    assert tuple(features.shape[1:]) == frontend.output_shape(16000) == (10, 640)
    with pytest.raises(AsdbenchError, match="fewer than frames=5"):
        frontend(torch.randn(1, 1024))
