"""Attentive statistics pooling of a sequence of features, as ASDKit's ``AttnStatPool``
(``TakuyaFujimura/dcase-asd-toolkit`` ``asdit/models/modules.py``), which its BEATs + LoRA recipe
(``config/train/frontend/dis_beats.yaml``: ``projection_type = "attn_stat_pool"``) puts before the projection.

Each channel gets its own softmax weights over the sequence, computed from the features and their global mean and
standard deviation (a 1x1-conv bottleneck of a sixteenth of the channels); the weighted mean and weighted standard
deviation are concatenated and mapped back to the channel count: BatchNorm, Linear(2C, C), BatchNorm.
"""

from __future__ import annotations

import torch
from torch import nn

FLOOR = 1e-4  # ASDKit's clamp of the variances before the square root


class AttentiveStatsPooling(nn.Module):
    """``(B, N, C)`` -> ``(B, C)``."""

    def __init__(self, channels: int, bottleneck_ratio: int = 16) -> None:
        super().__init__()
        hidden = max(channels // bottleneck_ratio, 1)
        self.attention = nn.Sequential(
            nn.Conv1d(3 * channels, hidden, kernel_size=1), nn.ReLU(), nn.BatchNorm1d(hidden), nn.Tanh(),
            nn.Conv1d(hidden, channels, kernel_size=1), nn.Softmax(dim=2),
        )
        self.output = nn.Sequential(nn.BatchNorm1d(2 * channels), nn.Linear(2 * channels, channels),
                                    nn.BatchNorm1d(channels))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        x = features.transpose(1, 2)  # (B, C, N)
        length = x.shape[-1]
        mean = x.mean(dim=2, keepdim=True).expand(-1, -1, length)
        std = x.var(dim=2, keepdim=True).clamp(min=FLOOR).sqrt().expand(-1, -1, length)
        weights = self.attention(torch.cat([x, mean, std], dim=1))  # (B, C, N), each channel sums to 1 over N
        mu = (x * weights).sum(dim=2)
        sigma = ((x.pow(2) * weights).sum(dim=2) - mu.pow(2)).clamp(min=FLOOR).sqrt()
        return self.output(torch.cat([mu, sigma], dim=1))
