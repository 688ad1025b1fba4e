"""AdaProj: a class owns a subspace, its adaptive scale follows the published formula, and the loss equals an
independent numpy computation of ASDKit's forward pass."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from asdbench_methods import factories
from asdbench_methods.adaproj import EPS


def soft_targets(batch: int, classes: int, seed: int = 0) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, classes, batch), rng.integers(0, classes, batch)
    lam = rng.uniform(size=(batch, 1))
    eye = np.eye(classes)
    return torch.tensor(lam * eye[a] + (1 - lam) * eye[b], dtype=torch.float32)


def reference(z: np.ndarray, bases: np.ndarray, targets: np.ndarray, scale: float, training: bool
              ) -> tuple[float, float]:
    """ASDKit's AdaProj.forward written again in float64 numpy: (loss, scale after the step)."""
    x = z / np.linalg.norm(z, axis=1, keepdims=True)
    w = bases / np.linalg.norm(bases, axis=2, keepdims=True)
    cos = np.empty((len(x), len(w)))
    for i, xi in enumerate(x):
        for c, wc in enumerate(w):
            projection = sum((xi @ wj) * wj for wj in wc)
            cos[i, c] = xi @ projection / np.linalg.norm(projection)
    if training:
        top = np.max(scale * cos)
        mass = np.where(targets < 1, np.exp(scale * cos - top), np.exp(-top)).sum(1).mean()
        theta = np.arccos(np.clip(cos, -1 + EPS, 1 - EPS))
        weighted = np.sort((targets * theta).sum(1))
        median = weighted[(len(weighted) - 1) // 2]  # torch.median: the lower middle value
        scale = (top + np.log(mass)) / (np.cos(min(np.pi / 4, median)) + EPS)
    logits = scale * cos
    log_p = logits - logits.max(1, keepdims=True)
    log_p -= np.log(np.exp(log_p).sum(1, keepdims=True))
    return float(-(targets * log_p).sum(1).mean()), float(scale)


def test_an_embedding_in_a_class_subspace_has_cosine_one_wherever_it_lies_there():
    torch.manual_seed(0)
    loss = factories.adaproj([6, 4], 3, subspace_dim=4)
    orthonormal = torch.linalg.qr(torch.randn(10, 10))[0].T  # rows orthonormal
    loss.bases.copy_(torch.stack([orthonormal[0:4], orthonormal[4:8], torch.cat([orthonormal[8:10],
                                                                                 orthonormal[0:2]])]))
    coefficients = torch.randn(5, 4) * torch.tensor([[10.0], [0.1], [1.0], [3.0], [0.5]])
    z = coefficients @ orthonormal[0:4]  # five points anywhere in class 0's subspace, at any length
    cosine = loss.cosine([z[:, :6], z[:, 6:]])
    torch.testing.assert_close(cosine[:, 0], torch.ones(5))
    assert (cosine[:, 1] < 0.999).all(), "a subspace orthogonal to class 0's is not cosine 1"


def test_scale_starts_at_the_adacos_value_and_updates_in_training_only():
    assert factories.adaproj([8], 148).scale.item() == pytest.approx(math.sqrt(2) * math.log(147))
    torch.manual_seed(0)
    loss = factories.adaproj([8], 5, subspace_dim=2)
    z, targets = torch.randn(6, 8), soft_targets(6, 5)
    start = loss.scale.clone()
    loss.eval()
    loss([z], targets)
    assert torch.equal(loss.scale, start)
    loss.train()
    loss([z], targets)
    assert not torch.equal(loss.scale, start)
    fixed = factories.adaproj([8], 5, subspace_dim=2, adaptive_scale=False)
    fixed([z], targets)
    assert fixed.scale.item() == pytest.approx(start.item())


@pytest.mark.parametrize("training", [True, False])
def test_loss_and_scale_equal_a_numpy_computation_of_the_published_formula(training):
    torch.manual_seed(1)
    loss = factories.adaproj([5, 3], 4, subspace_dim=3)
    loss.train(training)
    branches, targets = [torch.randn(7, 5), torch.randn(7, 3)], soft_targets(7, 4, seed=2)
    z = torch.cat(branches, 1).numpy().astype(np.float64)
    expected_loss, expected_scale = reference(z, loss.bases.numpy().astype(np.float64), targets.numpy().astype(
        np.float64), loss.scale.item(), training)
    assert loss(branches, targets).item() == pytest.approx(expected_loss, rel=1e-5)
    assert loss.scale.item() == pytest.approx(expected_scale, rel=1e-5)


def test_gradients_reach_the_embeddings_and_only_trainable_subspaces_move():
    torch.manual_seed(0)
    z, targets = torch.randn(6, 8, requires_grad=True), soft_targets(6, 3)
    fixed, trainable = factories.adaproj([8], 3, subspace_dim=2), factories.adaproj([8], 3, subspace_dim=2, trainable_subspaces=True)
    (fixed([z], targets) + trainable([z], targets)).backward()
    assert z.grad is not None and torch.isfinite(z.grad).all() and z.grad.abs().sum() > 0
    assert "bases" not in dict(fixed.named_parameters()) and not fixed.bases.requires_grad
    assert trainable.bases.grad is not None and trainable.bases.grad.abs().sum() > 0
