"""Waveform augmentations, applied in training only, before the frontends."""

from __future__ import annotations

import torch
from torch import nn


class Mixup(nn.Module):
    """``mixup`` on the raw waveform: with ``probability`` per sample, mix it with a random partner.

    lambda ~ U(0, 1) per sample, partners from one random permutation of the batch; the soft targets are mixed
    with the same lambda, so each row still sums to one.
    """

    def __init__(self, *, probability: float) -> None:
        super().__init__()
        self.probability = probability

    def forward(self, waveforms: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.training:
            return waveforms, targets
        partner, lam = self.draw(waveforms.shape[0], waveforms.device)
        return self.mix(waveforms, targets, partner, lam)

    def draw(self, batch: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """The random part: a partner permutation and each sample's lambda ``(B, 1)``, 1 where it is not mixed."""
        partner = torch.randperm(batch, device=device)
        lam = torch.rand(batch, 1, device=device)
        return partner, torch.where(torch.rand(batch, 1, device=device) < self.probability, lam, torch.ones_like(lam))

    @staticmethod
    def mix(waveforms: torch.Tensor, targets: torch.Tensor, partner: torch.Tensor,
            lam: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The deterministic part, given the draws (the golden tests give it the reference's draws)."""
        return lam * waveforms + (1 - lam) * waveforms[partner], lam * targets + (1 - lam) * targets[partner]
