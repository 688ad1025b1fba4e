"""The DCASE baseline's features: log-mel energies, stacked into context vectors of consecutive frames."""

from __future__ import annotations

import torch
from torch import nn

from asdbench.api import SAMPLE_RATE, AsdbenchError
from asdbench_methods.dtypes import at_least_float32

FLOOR = 2.220446049250313e-16
"""``sys.float_info.epsilon``: the baseline's floor under the mel energies before the logarithm."""


class LogMel(nn.Module):
    """``(B, L) -> (B, V, n_mels * frames)``: each clip's log-mel frames, ``frames`` consecutive ones per vector.

    As the baseline's ``file_to_vectors`` (nttcslab/dcase2023_task2_baseline_ae, ``datasets/loader_common.py``)
    computes them with ``librosa.feature.melspectrogram``: a centred STFT (periodic Hann window of ``n_fft``
    samples, the signal padded by ``n_fft // 2`` at both ends with ``pad_mode``: zeros, librosa's
    ``"constant"``, or its mirror image without the edge sample, librosa 0.6's ``"reflect"``), its
    magnitude to the ``power``, librosa's mel filter bank (Slaney mel scale and area normalisation), then
    ``20 / power * log10(max(mel, eps))``. Vector ``t`` holds frames ``t .. t + frames - 1``, frame by frame
    (``vector[n_mels * i + m]`` is mel bin ``m`` of frame ``t + i``); every ``frame_hop``-th vector is kept, or,
    in training mode (``self.training``) with ``train_frame_hop`` > 0, every ``train_frame_hop``-th.
    The filter bank is librosa's own, computed once; the STFT is torch's, on the waveforms' device.
    """

    def __init__(self, *, n_mels: int, frames: int, frame_hop: int, n_fft: int, hop_length: int, power: float,
                 f_min: float, f_max: float, pad_mode: str, train_frame_hop: int) -> None:
        super().__init__()
        if not f_min < f_max:
            raise AsdbenchError(f"frontend 'log-mel': need f_min < f_max, got f_min={f_min}, f_max={f_max}")
        import librosa

        self.n_mels, self.frames, self.frame_hop = n_mels, frames, frame_hop
        self.n_fft, self.hop_length, self.power = n_fft, hop_length, power
        self.pad_mode, self.train_frame_hop = pad_mode, train_frame_hop
        filters = librosa.filters.mel(sr=SAMPLE_RATE, n_fft=n_fft, n_mels=n_mels, fmin=f_min, fmax=f_max)
        self.register_buffer("filters", torch.from_numpy(filters), persistent=False)
        self.register_buffer("window", torch.hann_window(n_fft, periodic=True), persistent=False)

    def log_mel(self, waveforms: torch.Tensor) -> torch.Tensor:
        """``(B, L) -> (B, n_mels, 1 + L // hop_length)``: the log-mel energies in dB."""
        waveforms = at_least_float32(waveforms)
        spectrum = torch.stft(waveforms, self.n_fft, self.hop_length, window=self.window.to(waveforms.dtype),
                              center=True, pad_mode=self.pad_mode, return_complex=True)
        mel = self.filters.to(waveforms.dtype) @ spectrum.abs().pow(self.power)
        return 20.0 / self.power * torch.log10(mel.clamp_min(FLOOR))

    def forward(self, waveforms: torch.Tensor) -> torch.Tensor:
        log_mel = self.log_mel(waveforms)
        count = log_mel.shape[-1] - self.frames + 1
        if count < 1:
            raise AsdbenchError(f"frontend 'log-mel': clips of {waveforms.shape[-1]} samples have "
                                f"{log_mel.shape[-1]} frames, fewer than frames={self.frames}")
        stacked = torch.cat([log_mel[:, :, i : i + count] for i in range(self.frames)], dim=1)
        return stacked.transpose(1, 2)[:, :: self.vector_hop]

    @property
    def vector_hop(self) -> int:
        """Every how many vectors one is kept: ``train_frame_hop`` in training mode where it is set, else
        ``frame_hop``."""
        return self.train_frame_hop if self.training and self.train_frame_hop else self.frame_hop

    def output_shape(self, num_samples: int) -> tuple[int, ...]:
        count = 1 + num_samples // self.hop_length - self.frames + 1
        return (max(0, -(-count // self.vector_hop)), self.n_mels * self.frames)
