"""Losses, auxiliary terms, mixup and backends against direct computations and hand-made examples."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from asdbench.errors import AsdbenchError
from asdbench_methods import factories
from asdbench_methods.losses import SubClusterHead


def soft_targets(batch, classes, seed=0):
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, classes, batch), rng.integers(0, classes, batch)
    lam = rng.uniform(size=(batch, 1))
    eye = np.eye(classes)
    return torch.tensor(lam * eye[a] + (1 - lam) * eye[b], dtype=torch.float32)


def test_scac_scale_is_the_fixed_adacos_value():
    assert SubClusterHead(8, 167, 16, False).scale == pytest.approx(11.16, abs=0.01)
    assert SubClusterHead(8, 148, 16, False).scale == pytest.approx(10.99, abs=0.01)


def test_scac_loss_equals_a_direct_computation():
    torch.manual_seed(0)
    loss = factories.scac([4, 3], 5, subclusters=3)
    branches = [torch.randn(6, 4), torch.randn(6, 3)]
    targets = soft_targets(6, 5)
    z = torch.cat(branches, 1).numpy().astype(np.float64)
    w = loss.head.centres.numpy().astype(np.float64)
    cos = (z / np.linalg.norm(z, axis=1, keepdims=True)) @ (w / np.linalg.norm(w, axis=0, keepdims=True))
    s = math.sqrt(2) * math.log(5 * 3 - 1)
    p = np.exp(s * cos) / np.exp(s * cos).sum(1, keepdims=True)
    per_class = p.reshape(6, 5, 3).sum(-1)
    expected = -(targets.numpy() * np.log(per_class)).sum(1).mean()
    assert loss(branches, targets).item() == pytest.approx(expected, rel=1e-5)


@pytest.mark.slow
def test_fixed_centres_stay_and_trainable_centres_move():
    torch.manual_seed(0)
    fixed, trainable = SubClusterHead(4, 3, 2, False), SubClusterHead(4, 3, 2, True)
    before = fixed.centres.clone(), trainable.centres.detach().clone()
    z = torch.randn(5, 4, requires_grad=True)
    targets = soft_targets(5, 3)
    optimiser = torch.optim.AdamW([z, *fixed.parameters(), *trainable.parameters()], lr=0.1)
    (fixed(z, targets) + trainable(z, targets)).backward()
    optimiser.step()
    assert torch.equal(fixed.centres, before[0]) and "centres" not in dict(fixed.named_parameters())
    assert not torch.equal(trainable.centres.detach(), before[1])


def test_subspace_loss_is_the_sum_of_one_head_per_branch():
    torch.manual_seed(0)
    loss = factories.subspace([4, 3, 2], 5, subclusters=2, weight=0.5)
    branches = [torch.randn(6, d) for d in (4, 3, 2)]
    targets = soft_targets(6, 5)
    expected = 0.5 * sum(head(z, targets) for head, z in zip(loss.heads, branches))
    assert loss(branches, targets).item() == pytest.approx(expected.item())
    assert all(isinstance(h.centres, torch.nn.Parameter) for h in loss.heads)


def test_featex_labels_of_kept_and_exchanged_samples():
    torch.manual_seed(3)
    featex = factories.featex([2, 2], 3, probability=0.5)
    targets = torch.eye(3)[[0, 1, 2, 0, 1, 2, 0, 1]]
    branches = [torch.arange(8.0)[:, None].repeat(1, 2), 100 + torch.arange(8.0)[:, None].repeat(1, 2)]
    torch.manual_seed(7)
    z_ex, labels = featex.exchange(branches, targets)
    assert labels.shape == (8, 9)
    torch.testing.assert_close(labels.sum(1), torch.ones(8))
    kept = labels[:, :3].sum(1) == 1
    assert 0 < kept.sum() < 8, "with p=0.5 some samples are exchanged and some kept"
    for row in range(8):
        if kept[row]:
            torch.testing.assert_close(labels[row, :3], targets[row])
            assert z_ex[row, 0] == row and z_ex[row, 2] == 100 + row
        else:
            source_1, source_2 = int(z_ex[row, 0]), int(z_ex[row, 2]) - 100
            torch.testing.assert_close(labels[row, 3:6], targets[source_1] / 2)
            torch.testing.assert_close(labels[row, 6:9], targets[source_2] / 2)
    assert featex.head.classes == 9 and isinstance(featex.head.centres, torch.nn.Parameter)


def test_mixup_mixes_waveforms_and_labels_with_the_same_lambda():
    torch.manual_seed(0)
    mixup = factories.mixup(probability=1.0).train()
    waveforms = torch.eye(6) * 10
    targets = torch.eye(6)
    mixed, mixed_targets = mixup(waveforms, targets)
    torch.testing.assert_close(mixed_targets.sum(1), torch.ones(6))
    torch.testing.assert_close(mixed / 10, mixed_targets)  # one-hot rows make waveform == label mixing
    assert (mixed_targets.max(1).values < 1).any()
    unchanged = factories.mixup(probability=0.0).train()(waveforms, targets)
    assert torch.equal(unchanged[0], waveforms)
    evaluated = factories.mixup(probability=1.0).eval()(waveforms, targets)
    assert torch.equal(evaluated[0], waveforms) and torch.equal(evaluated[1], targets)


@pytest.mark.parametrize("factory", [lambda: factories.adacos([4], 3), lambda: factories.arcface([4], 3)])
def test_adacos_and_arcface_fall_as_embeddings_approach_their_centre(factory):
    torch.manual_seed(0)
    loss = factory().train()
    targets = torch.eye(3)[[0, 1, 2, 0]]
    centres = loss.centres.detach().T
    far = [torch.randn(4, 4)]
    near = [centres[[0, 1, 2, 0]] + 0.01 * torch.randn(4, 4)]
    assert loss(near, targets).item() < loss(far, targets).item()


def test_adacos_updates_its_scale_in_training_only():
    torch.manual_seed(0)
    loss = factories.adacos([4], 3)
    initial = float(loss.scale)
    loss.eval()([torch.randn(6, 4)], torch.eye(3)[[0, 1, 2] * 2])
    assert float(loss.scale) == initial
    loss.train()([torch.randn(6, 4)], torch.eye(3)[[0, 1, 2] * 2])
    assert float(loss.scale) != initial


def test_kmeans_target_backend_on_a_hand_made_example():
    """Published formula: 1 - e . c with the raw (shorter) k-means means, so source distances carry 1 - |c|."""
    angles = np.radians([0, 2, -2, 90, 92, 88])
    source = np.stack([np.cos(angles), np.sin(angles)], 1)
    target = np.array([[-1.0, 0.0]])
    tests = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
    shortfall = 1 - (1 + 2 * np.cos(np.radians(2))) / 3  # 1 - |c| of each source centre
    for normalise, expected in ((False, [shortfall, shortfall, 0, 1]), (True, [0, 0, 0, 1])):
        backend = factories.kmeans_target(clusters=2, normalise_centres=normalise)
        backend.fit(np.concatenate([source, target]), np.array(["source"] * 6 + ["target"]))
        np.testing.assert_allclose(backend.score(tests), expected, atol=1e-12)
    assert shortfall > 1e-4  # the two variants differ
    with pytest.raises(AsdbenchError, match="lower the backend's `clusters`"):
        factories.kmeans_target(clusters=16).fit(source, np.array(["source"] * 6))


def test_knn_backend_mean_cosine_distance():
    backend = factories.knn(k=2)
    backend.fit(np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]]), np.array(["source"] * 3))
    np.testing.assert_allclose(backend.score(np.array([[1.0, 0.0]])), [0.5])
