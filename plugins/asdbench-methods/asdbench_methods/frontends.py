"""Frontends: waveform batches to magnitude spectra, computed on whatever device the waveforms are on."""

from __future__ import annotations

import torch
from torch import nn


class Spectrum(nn.Module):
    """|DFT| of the whole clip: ``(B, L) -> (B, L // 2 + 1)``.

    As in the paper's spectrum branch: no window, no normalisation, no log and no frequency cropping, so the
    network sees every bin from 0 Hz to Nyquist at the finest resolution the clip allows.
    """

    def forward(self, waveforms: torch.Tensor) -> torch.Tensor:
        return torch.fft.rfft(waveforms.float(), dim=-1).abs()

    def output_shape(self, num_samples: int) -> tuple[int, ...]:
        return (num_samples // 2 + 1,)
