"""Waveform augmentations, applied in training only, before the frontends."""

from __future__ import annotations

import torch
from torch import nn

from asdbench.errors import AsdbenchError


class Mixup(nn.Module):
    """``mixup`` on the raw waveform: with ``probability`` per sample, mix it with a random partner.

    lambda ~ U(0, 1) per sample, partners from one random permutation of the batch; the soft targets are mixed
    with the same lambda, so each row still sums to one.
    """

    def __init__(self, *, probability: float = 0.5) -> None:
        super().__init__()
        if not 0 <= probability <= 1:
            raise AsdbenchError(f"augmentation 'mixup': probability must be in [0, 1], got {probability}")
        self.probability = probability

    def forward(self, waveforms: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.training:
            return waveforms, targets
        batch, device = waveforms.shape[0], waveforms.device
        partner = torch.randperm(batch, device=device)
        lam = torch.rand(batch, 1, device=device)
        lam = torch.where(torch.rand(batch, 1, device=device) < self.probability, lam, torch.ones_like(lam))
        mixed = lam * waveforms + (1 - lam) * waveforms[partner]
        return mixed, lam * targets + (1 - lam) * targets[partner]
