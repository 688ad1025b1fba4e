"""``adaproj``: AdaProj (Wilkinghoff, "AdaProj: Adaptively Scaled Angular Margin Subspace Projections for
Anomalous Sound Detection with Auxiliary Classification Tasks", DCASE 2024 workshop), on z_cat.

Each class k has a subspace spanned by ``subspace_dim`` basis vectors w_k1..w_km (each L2-normalised). An
embedding x (L2-normalised) is projected onto it, P_k(x) = sum_j <x, w_kj> w_kj, and its logit for k is the cosine
between x and P_k(x), scaled by an adaptive scale s. With orthonormal bases that cosine is 1 for every x in the
subspace, wherever it lies there: a class owns a subspace, not a point. As published, the bases are only
normalised, never orthogonalised (random high-dimensional vectors are nearly orthogonal), and fixed by default.

The scale starts at sqrt(2) ln(C - 1) and, in training, follows each batch as in AdaCos with the re-scaling
trick of the published code: with M = max_ic(s cos_ic), B_ic = exp(s cos_ic - M) where t_ic < 1 else exp(-M),

    s <- (M + ln(mean_i sum_c B_ic)) / (cos(min(pi/4, theta_med)) + eps),

theta_med being the median over the batch of sum_c t_ic theta_ic (the target-weighted angle; the lower middle
value for an even batch, as torch.median gives). Read from ASDKit (TakuyaFujimura/dcase-asd-toolkit,
``asdkit/losses/adaproj.py`` at ed27d82, by Fujimura and Wilkinghoff) and checked against Wilkinghoff's Keras
layer (wilkinghoff/dcase2024_task2, ``subcluster_adacos.py``, class ``AdaProj``, at c91bfb8), which differs only in
s_init (ln(C * m - 1)) and where eps is added; the defaults are ASDKit's class defaults (it publishes no AdaProj
config).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from asdbench.api import AsdbenchError
from asdbench_methods.dtypes import at_least_float32
from asdbench_methods.losses import soft_cross_entropy

EPS = 1e-7
"""ASDKit's ``eps``: the clamp of the cosines before ``acos`` and the guard of the scale's denominator."""


class AdaProj(nn.Module):
    """``adaproj``: angular margin subspace projections with an adaptive scale (main loss, on z_cat)."""

    def __init__(self, branch_dims: Sequence[int], num_classes: int, /, *, subspace_dim: int,
                 trainable_subspaces: bool, adaptive_scale: bool) -> None:
        super().__init__()
        if num_classes < 1:
            raise AsdbenchError(f"loss 'adaproj': needs at least one class, got {num_classes}")
        bases = nn.init.xavier_uniform_(torch.empty(num_classes, subspace_dim, sum(branch_dims)))
        if trainable_subspaces:
            self.bases = nn.Parameter(bases)
        else:
            self.register_buffer("bases", bases)
        # sqrt(2) ln(C - 1) as published; 2 classes or fewer would make it 0 or undefined, so C - 1 >= 2 (as the
        # other AdaCos-style losses here do)
        self.register_buffer("scale", torch.tensor(math.sqrt(2) * math.log(max(num_classes - 1, 2))))
        self.adaptive_scale = adaptive_scale

    def cosine(self, branches: Sequence[torch.Tensor]) -> torch.Tensor:
        """``(B, C)``: the cosine between each embedding and its projection onto each class's subspace."""
        x = F.normalize(at_least_float32(torch.cat(list(branches), dim=1)), dim=1)
        bases = F.normalize(at_least_float32(self.bases), dim=2)  # (C, m, D), each basis vector of unit length
        coordinates = torch.einsum("bd,cmd->bcm", x, bases)
        projections = F.normalize(torch.einsum("bcm,cmd->bcd", coordinates, bases), dim=2)
        return torch.einsum("bd,bcd->bc", x, projections)

    def update_scale(self, cosine: torch.Tensor, targets: torch.Tensor) -> None:
        """The published adaptive scale for this batch (see the module docstring)."""
        with torch.no_grad():
            scaled = self.scale * cosine
            top = scaled.max()
            mass = torch.where(targets < 1, torch.exp(scaled - top), torch.exp(-top)).sum(dim=1).mean()
            angles = torch.acos(cosine.clamp(-1 + EPS, 1 - EPS))
            median = (targets * angles).sum(dim=1).median()
            self.scale = (top + torch.log(mass)) / (torch.cos(torch.clamp(median, max=math.pi / 4)) + EPS)

    def forward(self, branches: Sequence[torch.Tensor], targets: torch.Tensor) -> torch.Tensor:
        cosine = self.cosine(branches)
        if self.training and self.adaptive_scale:
            self.update_scale(cosine, targets)
        return soft_cross_entropy(torch.log_softmax(self.scale * cosine, dim=1), targets)
