"""The two branch networks g_m of the paper's feature extractor (one per frontend), 128-d embeddings each.

Layer shapes follow the authors' MultiResolutionModel (reference-notes section 3): every convolution and
linear layer is bias-free, squeeze-excitation uses reduction 16, and with 18 s clips the spectrum branch has
1,662,208 trainable parameters and the STFT-256 branch 772,106.
"""

from __future__ import annotations

import torch
from torch import nn

from asdbench.api import SAMPLE_RATE, AsdbenchError, BatchNorm2d


class SqueezeExcitation(nn.Module):
    """Channel gating from the global average: GAP -> C/r -> ReLU -> C -> sigmoid -> scale.

    With 16 channels and r=16 the bottleneck is one ReLU unit (as in the reference counts); when it is dead for a
    batch the gate is a constant 0.5 and its weights get no gradient.
    """

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        hidden = max(channels // reduction, 1)
        self.gate = nn.Sequential(nn.Linear(channels, hidden, bias=False), nn.ReLU(),
                                  nn.Linear(hidden, channels, bias=False), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weights = self.gate(x.mean(dim=tuple(range(2, x.ndim))))
        return x * weights.view(*weights.shape, *([1] * (x.ndim - 2)))


def _dense_block(inputs: int, outputs: int) -> list[nn.Module]:
    return [nn.Linear(inputs, outputs, bias=False), nn.BatchNorm1d(outputs), nn.ReLU()]


class SpectrumNetwork(nn.Module):
    """The spectrum branch: three strided Conv1d + ReLU + SE blocks, then five Linear-BN-ReLU and a Linear.

    Input ``(B, bins)`` (the |DFT| of the whole clip), output ``(B, embedding_dim)``.
    """

    CONVOLUTIONS = ((256, 64), (64, 32), (16, 4))  # (kernel, stride), no padding, 128 channels each
    CHANNELS = 128
    HIDDEN = 128

    def __init__(self, input_shape: tuple[int, ...], /, *, embedding_dim: int) -> None:
        super().__init__()
        if len(input_shape) != 1:
            raise AsdbenchError(f"network 'spectrum-cnn' takes a spectrum (bins,), got input shape {input_shape}")
        needed = self.minimum_bins()
        if input_shape[0] < needed:
            raise AsdbenchError(
                f"network 'spectrum-cnn': {input_shape[0]} spectrum bins are too few for its convolutions; it needs "
                f"{needed}, i.e. clips of at least {2 * (needed - 1) / SAMPLE_RATE:.2f} s at {SAMPLE_RATE} Hz"
            )
        length, layers, channels = input_shape[0], [], 1
        for kernel, stride in self.CONVOLUTIONS:
            layers += [nn.Conv1d(channels, self.CHANNELS, kernel, stride, bias=False), nn.ReLU(),
                       SqueezeExcitation(self.CHANNELS)]
            channels, length = self.CHANNELS, (length - kernel) // stride + 1
        self.embedding_dim = embedding_dim
        self.convolutions = nn.Sequential(*layers)
        dense = _dense_block(channels * length, self.HIDDEN)
        for _ in range(4):
            dense += _dense_block(self.HIDDEN, self.HIDDEN)
        self.dense = nn.Sequential(*dense, nn.Linear(self.HIDDEN, embedding_dim, bias=False))

    @classmethod
    def minimum_bins(cls) -> int:
        """The shortest input for which every convolution has at least one output position."""
        length = 1
        for kernel, stride in reversed(cls.CONVOLUTIONS):
            length = (length - 1) * stride + kernel
        return length

    def forward(self, spectrum: torch.Tensor) -> torch.Tensor:
        return self.dense(self.convolutions(spectrum.unsqueeze(1)).flatten(1))


class ResidualBlock(nn.Module):
    """Pre-activation SE-ResNet block: BN, then ReLU-conv-BN-ReLU-conv-SE, added to the (downsampled) input."""

    def __init__(self, inputs: int, outputs: int, stride: int) -> None:
        super().__init__()
        self.norm = BatchNorm2d(inputs)
        self.residual = nn.Sequential(
            nn.ReLU(), nn.Conv2d(inputs, outputs, 3, stride, 1, bias=False), BatchNorm2d(outputs), nn.ReLU(),
            nn.Conv2d(outputs, outputs, 3, 1, 1, bias=False), SqueezeExcitation(outputs),
        )
        self.skip: nn.Module = nn.Identity()
        if stride != 1 or inputs != outputs:
            self.skip = nn.Sequential(nn.MaxPool2d(3, stride, 1), nn.Conv2d(inputs, outputs, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.norm(x)
        return self.skip(x) + self.residual(x)


class SpectrogramNetwork(nn.Module):
    """The spectrogram branch: per-frequency BN, 7x7 stem, SE-ResNet stages 16/32/64/128, max over time.

    Input ``(B, F, T)``, output ``(B, embedding_dim)``.
    """

    STAGES = ((16, 1), (16, 1), (32, 2), (32, 1), (64, 2), (64, 1), (128, 2), (128, 1))
    MIN_SIZE = 36

    def __init__(self, input_shape: tuple[int, ...], /, *, embedding_dim: int) -> None:
        super().__init__()
        if len(input_shape) != 2:
            raise AsdbenchError(f"network 'spectrogram-resnet' takes (bins, frames), got input shape {input_shape}")
        bins, frames = input_shape
        if min(bins, frames) < self.MIN_SIZE:
            advice = []
            if frames < self.MIN_SIZE:
                advice.append("for more frames use longer clips or a smaller n_fft")
            if bins < self.MIN_SIZE:
                advice.append("for more bins use a larger n_fft or a wider f_min..f_max")
            raise AsdbenchError(
                f"network 'spectrogram-resnet': input {bins} bins x {frames} frames is too small (both must be "
                f">= {self.MIN_SIZE}); {' and '.join(advice)}"
            )
        self.embedding_dim = embedding_dim
        self.frequency_norm = nn.BatchNorm1d(bins)
        self.stem = nn.Sequential(nn.Conv2d(1, 16, 7, 2, bias=False), BatchNorm2d(16), nn.ReLU(),
                                  nn.MaxPool2d(3, 2))
        blocks, channels = [], 16
        for outputs, stride in self.STAGES:
            blocks.append(ResidualBlock(channels, outputs, stride))
            channels = outputs
        self.blocks = nn.Sequential(*blocks)
        reduced = self._reduced_bins(bins)
        self.head = nn.Sequential(nn.BatchNorm1d(channels * reduced),
                                  nn.Linear(channels * reduced, embedding_dim, bias=False))

    def _reduced_bins(self, bins: int) -> int:
        bins = ((bins - 7) // 2 + 1 - 3) // 2 + 1  # stem convolution and pooling
        for _, stride in self.STAGES:
            bins = (bins - 1) // stride + 1
        return bins

    def forward(self, spectrogram: torch.Tensor) -> torch.Tensor:
        x = self.frequency_norm(spectrogram).unsqueeze(1)
        x = self.blocks(self.stem(x))
        return self.head(x.amax(dim=-1).flatten(1))
