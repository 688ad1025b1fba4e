"""OpenL3 (Cramer et al., "Look, listen, and learn more", ICASSP 2019): environmental content, mel128, 512-d.

Our implementation of the audio network of ``openl3`` (``_construct_mel128_audio_network``) in the layout of
its PyTorch port ``torchopenl3`` (``PytorchOpenl3``), whose published state dict
``torchopenl3_mel128_env_512.pth.tar`` is the weight file read here, with ``strict=True``. That is the port the
paper's authors used. Its keys and shapes:

- ``speclayer.dft_real_kernels`` / ``dft_imag_kernels`` ``(1025, 1, 2048)`` and ``speclayer.mel_basis``
  ``(128, 1025)``: the kapre 0.1.4 mel spectrogram the model was trained on, imported from the Keras model
  (periodic-Hann DFT of 2048 points, hop 242, TF "same" zero padding, so 199 frames per 1 s window at 48 kHz;
  HTK mel bank, 0-24000 Hz; ``sqrt`` of the mel power, ``10 log10``, minus each window's maximum, floored
  at -80 dB);
- ``batch_normalization_1`` (1 channel) .. ``_8`` (Keras epsilon 1e-3), ``conv2d_1`` .. ``_7`` and
  ``audio_embedding_layer``: BN, four blocks of two 3x3 convs (64, 128, 256, 512 channels; BN + ReLU after
  each except the last conv), 2x2 max pooling after the first three blocks;

then a max pool over the whole (16, 24) map: the 512-d embedding of a 1 s window. Clip embeddings follow
``torchopenl3.get_audio_embedding``'s defaults: 1 s windows every 0.1 s, centred (half a window of zeros in
front), the end zero-padded to a whole hop, and the window embeddings averaged.

Parameter count at the published width: 4,689,860 (convolutions, BatchNorm scales and statistics) plus the
frontend's 4,329,600 buffer values.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from asdbench.api import AsdbenchError
from asdbench_pretrained.checkpoints import load_state, read
from asdbench_pretrained.cnn14 import mel_filter_bank

SAMPLE_RATE = 48_000
WINDOW_SECONDS = 1.0
HOP_SECONDS = 0.1
N_DFT = 2048
N_HOP = 242
N_MELS = 128
DYNAMIC_RANGE = 80.0
AMIN = 1e-10
BN_EPS = 1e-3  # Keras' BatchNormalization default
CHANNELS = (64, 128, 256, 512)


class KapreMelSpectrogram(nn.Module):
    """1 s windows ``(B, 48000)`` to decibel mel spectrograms ``(B, 1, 128, 199)`` as kapre 0.1.4 computed them."""

    def __init__(self, n_dft: int = N_DFT, n_hop: int = N_HOP, n_mels: int = N_MELS,
                 sample_rate: int = SAMPLE_RATE) -> None:
        super().__init__()
        self.n_dft, self.n_hop = n_dft, n_hop
        n = np.arange(n_dft)
        k = np.arange(n_dft // 2 + 1)
        window = 0.5 - 0.5 * np.cos(2 * np.pi * n / n_dft)  # periodic Hann
        phase = 2 * np.pi * ((k[:, None] * n[None, :]) % n_dft) / n_dft
        self.register_buffer("dft_real_kernels", torch.tensor(np.cos(phase) * window, dtype=torch.float32)[:, None])
        self.register_buffer("dft_imag_kernels", torch.tensor(-np.sin(phase) * window, dtype=torch.float32)[:, None])
        basis = mel_filter_bank(sample_rate, n_dft, n_mels, 0.0, sample_rate / 2, htk=True, norm=1)
        self.register_buffer("mel_basis", torch.from_numpy(basis))

    def same_padding(self, num_samples: int) -> tuple[int, int]:
        """TensorFlow's "same" padding of a stride-``n_hop`` convolution over ``num_samples``."""
        remainder = num_samples % self.n_hop
        total = max(self.n_dft - (remainder if remainder else self.n_hop), 0)
        return total // 2, total - total // 2

    def forward(self, windows: torch.Tensor) -> torch.Tensor:
        x = F.pad(windows[:, None, :], self.same_padding(windows.shape[-1]))
        power = F.conv1d(x, self.dft_real_kernels, stride=self.n_hop) ** 2
        power = power + F.conv1d(x, self.dft_imag_kernels, stride=self.n_hop) ** 2  # (B, F, T)
        magnitude = torch.sqrt(self.mel_basis @ power)  # kapre's power_melgram=1.0
        decibel = 10.0 * torch.log10(torch.clamp(magnitude, min=AMIN))
        decibel = decibel - decibel.amax(dim=(1, 2), keepdim=True)
        return torch.clamp(decibel, min=-DYNAMIC_RANGE)[:, None]


class OpenL3(nn.Module):
    """OpenL3 audio network: 1 s windows at 48 kHz ``(B, 48000)`` to embeddings ``(B, channels[-1])``.

    ``channels`` is the width of the four blocks; the default is the published model (any other width is for
    tests and cannot load the published weights).
    """

    def __init__(self, channels: Sequence[int] = CHANNELS) -> None:
        super().__init__()
        if len(channels) != 4:
            raise AsdbenchError(f"OpenL3 has four conv blocks; got {len(channels)} widths")
        self.speclayer = KapreMelSpectrogram()
        self.batch_normalization_1 = nn.BatchNorm2d(1, eps=BN_EPS)
        widths = [1, channels[0], channels[0], channels[1], channels[1], channels[2], channels[2], channels[3],
                  channels[3]]
        for index in range(1, 8):
            self.add_module(f"conv2d_{index}", nn.Conv2d(widths[index - 1], widths[index], 3, padding=1))
            self.add_module(f"batch_normalization_{index + 1}", nn.BatchNorm2d(widths[index], eps=BN_EPS))
        self.audio_embedding_layer = nn.Conv2d(widths[7], widths[8], 3, padding=1)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight)  # Keras' he_normal
                nn.init.zeros_(module.bias)

    def forward(self, windows: torch.Tensor) -> torch.Tensor:
        x = self.batch_normalization_1(self.speclayer(windows))  # (B, 1, mels, frames)
        for index in range(1, 8):
            x = F.relu(getattr(self, f"batch_normalization_{index + 1}")(getattr(self, f"conv2d_{index}")(x)))
            if index in (2, 4, 6):
                x = F.max_pool2d(x, kernel_size=2, stride=2)
        x = self.audio_embedding_layer(x)
        return x.amax(dim=(2, 3))  # the (16, 24) map pooled whole: torchopenl3's 512-d pooling

    @property
    def embedding_size(self) -> int:
        return self.audio_embedding_layer.out_channels


def window_starts(num_samples: int, rate: int = SAMPLE_RATE) -> tuple[int, int]:
    """``(padded length, window count)`` of a clip of ``num_samples`` at ``rate`` under torchopenl3's framing.

    Half a window of zeros goes in front (``center=True``); the end is zero-padded to one window, or so that the
    windows after the first fill whole hops.
    """
    frame, hop = int(WINDOW_SECONDS * rate), int(HOP_SECONDS * rate)
    length = num_samples + frame // 2
    if length <= frame:
        return frame, 1
    padded = frame + -(-(length - frame) // hop) * hop
    return padded, 1 + (padded - frame) // hop


def frame(waveforms: torch.Tensor) -> torch.Tensor:
    """``(B, L)`` at 48 kHz to a view ``(B, windows, 48000)`` of the centred, padded clips."""
    padded, _ = window_starts(waveforms.shape[-1])
    front = int(WINDOW_SECONDS * SAMPLE_RATE) // 2
    x = F.pad(waveforms, (front, padded - front - waveforms.shape[-1]))
    return x.unfold(-1, int(WINDOW_SECONDS * SAMPLE_RATE), int(HOP_SECONDS * SAMPLE_RATE))


def load_openl3(path: Path) -> OpenL3:
    """The published-width OpenL3 with the weights of torchopenl3's state dict file."""
    state = read(path, "openl3")
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise AsdbenchError(f"{path}: expected torchopenl3's state dict (a dict of tensors); found "
                            f"{type(state).__name__}")
    with torch.device("meta"):  # no memory or initialisation for weights about to be replaced
        model = OpenL3()
    load_state(model, state, path)
    return model.eval()
