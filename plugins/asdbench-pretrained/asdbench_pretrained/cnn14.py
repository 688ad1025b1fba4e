"""PANNs CNN14 (Kong et al., "PANNs: Large-scale pretrained audio neural networks", TASLP 2020) at 32 kHz.

Our implementation of the architecture of ``Cnn14`` in the authors' ``audioset_tagging_cnn/pytorch/models.py``,
with module names chosen so that its ``state_dict`` has exactly the keys and shapes of the published checkpoint
``Cnn14_mAP=0.431.pth`` (a dict whose ``"model"`` entry is that state dict), which therefore loads with
``strict=True``. That includes the frontend, which the checkpoint stores as weights (torchlibrosa's layout):

- ``spectrogram_extractor.stft.conv_real.weight`` / ``conv_imag.weight`` ``(513, 1, 1024)``: the Hann-windowed
  DFT as Conv1d kernels (window 1024, hop 320, centred, reflect padding), giving the power spectrogram;
- ``logmel_extractor.melW`` ``(513, 64)``: librosa's Slaney mel filter bank, 64 bins over 50-14000 Hz, then
  ``10 log10(max(mel, 1e-10))`` (ref 1, no top_db);

then ``bn0`` over the mel bins, six conv blocks (two 3x3 conv + BN + ReLU, 2x2 average pooling except the last)
of 64..2048 channels, the mean over frequency, max + mean over time, and ``fc1`` + ReLU: the 2048-d clip
embedding. ``fc_audioset`` (the 527 AudioSet classes) is kept only so that the published key set loads.

Parameter count at the published width: 80,753,615 trainable (the paper's 80.8 M) plus 1,083,456 frozen
frontend weights.
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

SAMPLE_RATE = 32_000
WINDOW = 1024
HOP = 320
MEL_BINS = 64
F_MIN, F_MAX = 50.0, 14_000.0
AMIN = 1e-10
CHANNELS = (64, 128, 256, 512, 1024, 2048)
CLASSES = 527


def hann_dft_kernels(n_fft: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Real and imaginary Conv1d kernels ``(n_fft // 2 + 1, 1, n_fft)`` of the periodic-Hann-windowed DFT."""
    n = np.arange(n_fft)
    k = np.arange(n_fft // 2 + 1)
    window = 0.5 - 0.5 * np.cos(2 * np.pi * n / n_fft)  # periodic Hann, as librosa's get_window(fftbins=True)
    phase = 2 * np.pi * ((k[:, None] * n[None, :]) % n_fft) / n_fft
    real = np.cos(phase) * window
    imag = -np.sin(phase) * window
    return (torch.tensor(real, dtype=torch.float32)[:, None, :], torch.tensor(imag, dtype=torch.float32)[:, None, :])


def mel_filter_bank(sample_rate: int, n_fft: int, n_mels: int, f_min: float, f_max: float, *, htk: bool = False,
                    norm: str | int | None = "slaney") -> np.ndarray:
    """librosa's mel filter bank ``(n_mels, n_fft // 2 + 1)``, as the original models were built with."""
    import librosa  # imported here: only building a model from scratch needs it (a checkpoint carries its own)

    return librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels, fmin=f_min, fmax=f_max, htk=htk,
                               norm=norm).astype(np.float32)


class _STFT(nn.Module):
    def __init__(self, n_fft: int, hop: int) -> None:
        super().__init__()
        self.n_fft, self.hop = n_fft, hop
        real, imag = hann_dft_kernels(n_fft)
        self.conv_real = nn.Conv1d(1, n_fft // 2 + 1, n_fft, stride=hop, bias=False)
        self.conv_imag = nn.Conv1d(1, n_fft // 2 + 1, n_fft, stride=hop, bias=False)
        self.conv_real.weight.data.copy_(real)
        self.conv_imag.weight.data.copy_(imag)

    def forward(self, waveforms: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = F.pad(waveforms[:, None, :], (self.n_fft // 2, self.n_fft // 2), mode="reflect")
        return self.conv_real(x), self.conv_imag(x)  # (B, F, T) each


class Spectrogram(nn.Module):
    """Power spectrogram ``(B, L) -> (B, 1, T, F)`` from the windowed-DFT convolutions."""

    def __init__(self, n_fft: int = WINDOW, hop: int = HOP) -> None:
        super().__init__()
        self.stft = _STFT(n_fft, hop)

    def forward(self, waveforms: torch.Tensor) -> torch.Tensor:
        real, imag = self.stft(waveforms)
        return (real**2 + imag**2).transpose(1, 2)[:, None]


class LogMel(nn.Module):
    """``(B, 1, T, F) -> (B, 1, T, mels)``: mel filter bank, then dB with ref 1 and amin 1e-10."""

    def __init__(self, sample_rate: int = SAMPLE_RATE, n_fft: int = WINDOW, n_mels: int = MEL_BINS,
                 f_min: float = F_MIN, f_max: float = F_MAX) -> None:
        super().__init__()
        self.melW = nn.Parameter(torch.from_numpy(mel_filter_bank(sample_rate, n_fft, n_mels, f_min, f_max).T.copy()))

    def forward(self, power: torch.Tensor) -> torch.Tensor:
        return 10.0 * torch.log10(torch.clamp(power @ self.melW, min=AMIN))


class ConvBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.bn2 = nn.BatchNorm2d(out_channels)

    def forward(self, x: torch.Tensor, pool: int) -> torch.Tensor:
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        return F.avg_pool2d(x, kernel_size=pool) if pool > 1 else x


class Cnn14(nn.Module):
    """CNN14 returning the clip embedding ``(B, channels[-1])`` of 32 kHz waveforms ``(B, L)``.

    ``channels`` is the width of the six blocks; the default is the published model (any other width is for
    tests and cannot load the published weights). The frontend weights are frozen, as in PANNs.
    """

    def __init__(self, channels: Sequence[int] = CHANNELS, classes: int = CLASSES) -> None:
        super().__init__()
        if len(channels) != 6:
            raise AsdbenchError(f"CNN14 has six conv blocks; got {len(channels)} widths")
        self.spectrogram_extractor = Spectrogram()
        self.logmel_extractor = LogMel()
        for parameter in (*self.spectrogram_extractor.parameters(), *self.logmel_extractor.parameters()):
            parameter.requires_grad_(False)
        self.bn0 = nn.BatchNorm2d(MEL_BINS)
        widths = (1, *channels)
        for index in range(6):
            self.add_module(f"conv_block{index + 1}", ConvBlock(widths[index], widths[index + 1]))
        self.fc1 = nn.Linear(channels[-1], channels[-1])
        self.fc_audioset = nn.Linear(channels[-1], classes)
        self._initialise()

    def _initialise(self) -> None:
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.xavier_uniform_(module.weight)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    def forward(self, waveforms: torch.Tensor) -> torch.Tensor:
        x = self.logmel_extractor(self.spectrogram_extractor(waveforms))  # (B, 1, T, mels)
        x = self.bn0(x.transpose(1, 3)).transpose(1, 3)
        for index in range(1, 7):
            x = getattr(self, f"conv_block{index}")(x, pool=2 if index < 6 else 1)
        x = x.mean(dim=3)  # over frequency: (B, C, T)
        x = x.amax(dim=2) + x.mean(dim=2)
        return F.relu(self.fc1(x))

    @property
    def embedding_size(self) -> int:
        return self.fc1.out_features


def load_cnn14(path: Path) -> Cnn14:
    """The published-width CNN14 with the weights of a PANNs checkpoint (the state dict under ``"model"``)."""
    checkpoint = read(path, "panns")
    if not isinstance(checkpoint, dict) or not isinstance(checkpoint.get("model"), dict):
        found = sorted(checkpoint)[:5] if isinstance(checkpoint, dict) else type(checkpoint).__name__
        raise AsdbenchError(f"{path}: expected a PANNs checkpoint, a dict holding the state dict under 'model'; "
                            f"found {found}")
    with torch.device("meta"):  # no memory or initialisation for weights about to be replaced
        model = Cnn14()
    load_state(model, checkpoint["model"], path)
    return model.eval()
