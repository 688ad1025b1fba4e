"""Angular-margin losses on the branch embeddings, and the auxiliary FeatEx and subspace terms.

Every loss takes ``(branch_embeddings, targets)`` with soft targets ``(B, C)`` (mixup mixes one-hots), so a
main loss and an auxiliary term compose by addition (eq. 2 and 5 of the paper). Main losses see
z_cat, the concatenation of the branches.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from asdbench.api import AsdbenchError
from asdbench_methods.dtypes import at_least_float32


def soft_cross_entropy(log_probabilities: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of -sum_c t_c log p_c."""
    return -(targets * log_probabilities).sum(dim=1).mean()


class SubClusterHead(nn.Module):
    """Sub-cluster AdaCos over ``classes`` classes with ``subclusters`` centres each, and a fixed scale.

    The probability of a class is the sum of the softmax over all C*K sub-clusters of its K centres; the scale
    is fixed at sqrt(2) * ln(C*K - 1), the AdaCos value for a uniform start (Wilkinghoff's SCAdaCos; the
    authors' configs never enable the dynamic update). Fixed centres are a buffer, so no optimiser moves them.
    """

    def __init__(self, dim: int, classes: int, subclusters: int, trainable: bool) -> None:
        super().__init__()
        if classes < 1:
            raise AsdbenchError(f"loss 'scac': needs at least one class, got {classes}")
        self.classes, self.subclusters = classes, subclusters
        centres = nn.init.xavier_uniform_(torch.empty(dim, classes * subclusters))
        if trainable:
            self.centres = nn.Parameter(centres)
        else:
            self.register_buffer("centres", centres)
        self.scale = math.sqrt(2) * math.log(max(classes * subclusters - 1, 2))

    def log_probabilities(self, embeddings: torch.Tensor) -> torch.Tensor:
        centres = F.normalize(at_least_float32(self.centres), dim=0)
        cosine = F.normalize(at_least_float32(embeddings), dim=1) @ centres
        log_sub = torch.log_softmax(self.scale * cosine, dim=1).view(-1, self.classes, self.subclusters)
        return torch.logsumexp(log_sub, dim=2)

    def forward(self, embeddings: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return soft_cross_entropy(self.log_probabilities(embeddings), targets)


class SubClusterAdaCos(nn.Module):
    """``scac``: sub-cluster AdaCos on z_cat (the paper's main loss, fixed centres by default)."""

    def __init__(self, branch_dims: Sequence[int], num_classes: int, /, *, subclusters: int,
                 trainable_centres: bool) -> None:
        super().__init__()
        self.head = SubClusterHead(sum(branch_dims), num_classes, subclusters, trainable_centres)

    def forward(self, branches: Sequence[torch.Tensor], targets: torch.Tensor) -> torch.Tensor:
        return self.head(torch.cat(list(branches), dim=1), targets)


class _CentreLoss(nn.Module):
    """Shared by AdaCos and ArcFace: one centre per class on z_cat, fixed (buffer) or trainable."""

    def __init__(self, dim: int, num_classes: int, trainable: bool) -> None:
        super().__init__()
        centres = nn.init.xavier_uniform_(torch.empty(dim, num_classes))
        if trainable:
            self.centres = nn.Parameter(centres)
        else:
            self.register_buffer("centres", centres)

    def cosine(self, branches: Sequence[torch.Tensor]) -> torch.Tensor:
        z = at_least_float32(torch.cat(list(branches), dim=1))
        centres = F.normalize(at_least_float32(self.centres), dim=0)
        return (F.normalize(z, dim=1) @ centres).clamp(-1 + 1e-7, 1 - 1e-7)


class AdaCos(_CentreLoss):
    """``adacos``: AdaCos (Zhang et al., 2019) with its adaptive scale, on z_cat.

    During training the scale is updated each step from the batch: s = ln(B_avg) / cos(min(pi/4, theta_med)),
    where B_avg is the mean over the batch of sum_c (1 - t_c) exp(s cos theta_c) (the non-target mass, with
    soft targets weighting each class by how much it is *not* the target) and theta_med is the median angle
    to each sample's dominant target class. Targets and probabilities use the same class order (the authors'
    dormant repeat/view mismatch does not arise with one centre per class).
    """

    def __init__(self, branch_dims: Sequence[int], num_classes: int, /, *, trainable_centres: bool) -> None:
        super().__init__(sum(branch_dims), num_classes, trainable_centres)
        self.register_buffer("scale", torch.tensor(math.sqrt(2) * math.log(max(num_classes - 1, 2))))

    def forward(self, branches: Sequence[torch.Tensor], targets: torch.Tensor) -> torch.Tensor:
        cosine = self.cosine(branches)
        if self.training:
            with torch.no_grad():
                non_target = ((1 - targets) * torch.exp(self.scale * cosine)).sum(dim=1).mean()
                angles = torch.acos(cosine.gather(1, targets.argmax(dim=1, keepdim=True)))
                median = torch.clamp(angles.median(), max=math.pi / 4)
                self.scale = torch.log(non_target.clamp_min(1.0 + 1e-6)) / torch.cos(median)
        return soft_cross_entropy(torch.log_softmax(self.scale * cosine, dim=1), targets)


class ArcFace(_CentreLoss):
    """``arcface``: additive angular margin (Deng et al., 2019) on z_cat.

    With soft targets, each class's angle is increased by ``margin`` times its target weight, so a one-hot
    target gives exactly ArcFace and a mixup of two classes shares the margin between them.
    """

    def __init__(self, branch_dims: Sequence[int], num_classes: int, /, *, margin: float, scale: float,
                 trainable_centres: bool) -> None:
        super().__init__(sum(branch_dims), num_classes, trainable_centres)
        self.margin, self.scale = margin, scale

    def forward(self, branches: Sequence[torch.Tensor], targets: torch.Tensor) -> torch.Tensor:
        angles = torch.acos(self.cosine(branches))
        logits = self.scale * torch.cos(torch.clamp(angles + self.margin * targets, max=math.pi))
        return soft_cross_entropy(torch.log_softmax(logits, dim=1), targets)


class SubspaceLoss(nn.Module):
    """``subspace`` (eq. 5): one trainable-centre sub-cluster head per branch, on that branch's embedding alone.

    Each network g_m must then identify the labels from its own input, as FeatEx encourages, with D*C*K
    parameters per branch instead of FeatEx's D*M*C*K(M+1).
    """

    def __init__(self, branch_dims: Sequence[int], num_classes: int, /, *, subclusters: int,
                 weight: float) -> None:
        super().__init__()
        self.heads = nn.ModuleList(SubClusterHead(dim, num_classes, subclusters, trainable=True)
                                   for dim in branch_dims)
        self.weight = weight

    def forward(self, branches: Sequence[torch.Tensor], targets: torch.Tensor) -> torch.Tensor:
        return self.weight * sum(head(z, targets) for head, z in zip(self.heads, branches))


class FeatEx(nn.Module):
    """``featex`` (eq. 2-4): classify whether the branch embeddings of z_ex come from one clip, and which.

    With probability ``probability`` per sample the sample is exchanged: each branch m takes its embedding
    from an independent random permutation p_m of the batch, and its label over (M+1)*C classes is
    [0, t_{p_1}/M, ..., t_{p_M}/M]; a kept sample has [t, 0, ..., 0]. For the paper's M = 2 with one branch
    kept this is eq. 4's [l_i, 0, 0] / [0, l_i/2, l_j/2]; like the authors' code, every branch is permuted
    (coincidences are not excluded). A trainable-centre sub-cluster head scores z_ex.
    """

    def __init__(self, branch_dims: Sequence[int], num_classes: int, /, *, probability: float, subclusters: int,
                 weight: float) -> None:
        super().__init__()
        self.branches = len(branch_dims)
        self.head = SubClusterHead(sum(branch_dims), (self.branches + 1) * num_classes, subclusters, trainable=True)
        self.probability, self.weight = probability, weight

    def exchange(self, branches: Sequence[torch.Tensor], targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """z_ex and its (M+1)*C labels."""
        return self.exchange_with(branches, targets, *self.draw(targets.shape[0], targets.device))

    def draw(self, batch: int, device: torch.device) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """The random part: which samples are exchanged, and one permutation per branch."""
        exchanged = torch.rand(batch, device=device) < self.probability
        return exchanged, [torch.randperm(batch, device=device) for _ in range(self.branches)]

    def exchange_with(self, branches: Sequence[torch.Tensor], targets: torch.Tensor, exchanged: torch.Tensor,
                      permutations: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """The deterministic part, given the draws (the golden tests give it the reference's draws)."""
        z_ex = torch.cat([torch.where(exchanged[:, None], z[p], z) for z, p in zip(branches, permutations)], dim=1)
        kept = torch.cat([targets] + [torch.zeros_like(targets)] * self.branches, dim=1)
        swapped = torch.cat([torch.zeros_like(targets)] + [targets[p] / self.branches for p in permutations], dim=1)
        return z_ex, torch.where(exchanged[:, None], swapped, kept)

    def forward(self, branches: Sequence[torch.Tensor], targets: torch.Tensor) -> torch.Tensor:
        z_ex, labels = self.exchange(branches, targets)
        return self.weight * self.head(z_ex, labels)
