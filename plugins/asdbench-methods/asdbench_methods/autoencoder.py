"""The DCASE baseline's fully connected autoencoder, and the reconstruction loss it is trained with.

The network reconstructs every feature vector of a clip and embeds the clip as the statistics of its residual
(:mod:`asdbench_methods.errorstats`); the loss is the mean of those clips' mean squared errors, which is the
baseline's MSE over every value of the batch when the clips have equal numbers of vectors (asdbench's do: every
clip of a run is cut or tiled to one length).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from asdbench.api import AsdbenchError
from asdbench_methods.errorstats import block_of, statistics_dim

BATCH_NORM = {"momentum": 0.01, "eps": 1e-3}
"""The baseline's ``BatchNorm1d(..., momentum=0.01, eps=1e-03)`` after every hidden layer."""


def _dense(inputs: int, outputs: int) -> list[nn.Module]:
    return [nn.Linear(inputs, outputs), nn.BatchNorm1d(outputs, **BATCH_NORM), nn.ReLU()]


class DCASEAutoencoder(nn.Module):
    """``(B, V, D)`` feature vectors -> ``(B, 3 + b + b (b + 1) / 2)`` statistics of their reconstruction error.

    The layers are the baseline's ``AENet`` (``networks/dcase2023t2_ae/network.py``): an encoder of four
    Linear-BatchNorm-ReLU layers of ``hidden_dim`` units and one to the ``bottleneck_dim`` code (also batch-normed
    and rectified), a decoder of four such layers and a last Linear back to D. Every vector of every clip is one
    sample (batch norm sees all of them); the residual ``reconstruction - input`` is cut into rows of ``block``
    values, as the baseline's ``view(-1, block_size)`` with ``block_size = n_mels``.
    """

    def __init__(self, input_shape: tuple[int, ...], /, *, hidden_dim: int, bottleneck_dim: int,
                 block: int) -> None:
        super().__init__()
        if len(input_shape) != 2 or input_shape[0] < 1:
            raise AsdbenchError(f"network 'dcase-ae': needs feature vectors (V, D) per clip, such as frontend "
                                f"'log-mel' gives; got input shape {input_shape}")
        self.vectors, self.vector_dim = input_shape
        if self.vector_dim % block:
            raise AsdbenchError(f"network 'dcase-ae': block={block} does not divide the feature vectors' "
                                f"{self.vector_dim} values; set it to the frontend's n_mels")
        self.block = block
        self.embedding_dim = statistics_dim(block)
        self.encoder = nn.Sequential(*_dense(self.vector_dim, hidden_dim), *_dense(hidden_dim, hidden_dim),
                                     *_dense(hidden_dim, hidden_dim), *_dense(hidden_dim, hidden_dim),
                                     *_dense(hidden_dim, bottleneck_dim))
        self.decoder = nn.Sequential(*_dense(bottleneck_dim, hidden_dim), *_dense(hidden_dim, hidden_dim),
                                     *_dense(hidden_dim, hidden_dim), *_dense(hidden_dim, hidden_dim),
                                     nn.Linear(hidden_dim, self.vector_dim))
        self.register_buffer("upper", torch.triu_indices(block, block), persistent=False)

    def reconstruct(self, features: torch.Tensor) -> torch.Tensor:
        """``(B, V, D) -> (B, V, D)``: every vector through the autoencoder."""
        flat = features.reshape(-1, self.vector_dim)
        return self.decoder(self.encoder(flat)).reshape(features.shape)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        residual = (self.reconstruct(features).float() - features.float())
        batch, vectors = residual.shape[:2]
        rows = residual.reshape(batch, -1, self.block)
        mean = rows.mean(dim=1)
        centred = rows - mean[:, None]
        covariance = centred.transpose(1, 2) @ centred / rows.shape[1]
        counts = residual.new_tensor([vectors, rows.shape[1]]).expand(batch, 2)
        return torch.cat([residual.pow(2).mean(dim=(1, 2))[:, None], counts, mean,
                          covariance[:, self.upper[0], self.upper[1]]], dim=1)


class ReconstructionLoss(nn.Module):
    """The mean over the batch of each clip's mean squared reconstruction error; the targets are not used.

    Its one branch must be a reconstruction network's statistics (:mod:`asdbench_methods.errorstats`).
    """

    def __init__(self, branch_dims: Sequence[int], num_classes: int, /) -> None:
        super().__init__()
        if len(branch_dims) != 1:
            raise AsdbenchError(f"loss 'reconstruction': takes one branch, a reconstruction network's; got "
                                f"{len(branch_dims)} branches")
        block_of(branch_dims[0], "loss 'reconstruction'")

    def forward(self, branches: list[torch.Tensor], targets: torch.Tensor) -> torch.Tensor:
        return branches[0][:, 0].mean()
