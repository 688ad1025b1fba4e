"""Frontends: waveform batches to magnitude spectra, computed on whatever device the waveforms are on."""

from __future__ import annotations

import torch
from torch import nn

from asdbench.api import SAMPLE_RATE, AsdbenchError
from asdbench_methods.dtypes import at_least_float32


class Spectrum(nn.Module):
    """|DFT| of the whole clip: ``(B, L) -> (B, L // 2 + 1)``.

    As in the paper's spectrum branch: no window, no normalisation, no log and no frequency cropping, so the
    network sees every bin from 0 Hz to Nyquist at the finest resolution the clip allows.
    """

    def forward(self, waveforms: torch.Tensor) -> torch.Tensor:
        return torch.fft.rfft(at_least_float32(waveforms), dim=-1).abs()

    def output_shape(self, num_samples: int) -> tuple[int, ...]:
        return (num_samples // 2 + 1,)


class STFT(nn.Module):
    """Linear-magnitude STFT: Hann window, hop ``n_fft // 2``, window-normalised, bins ``f_min..f_max``.

    ``(B, L) -> (B, F, T)``. Centred frames with reflect padding; magnitudes are divided by the window's L2
    norm. Kept bins run from the first bin at or above ``f_min`` up to and including the bin at ``f_max``. With
    ``temporal_norm`` each bin's mean over time is subtracted. (The authors' configs mean-normalise one
    Table I branch through a ``temporal_norm: fals`` typo; here the option means what it says.)
    """

    def __init__(self, *, n_fft: int, f_min: float, f_max: float, temporal_norm: bool) -> None:
        super().__init__()
        if not f_min < f_max:
            raise AsdbenchError(f"frontend 'stft': need f_min < f_max, got f_min={f_min}, f_max={f_max}")
        self.n_fft, self.hop = n_fft, n_fft // 2
        self.temporal_norm = temporal_norm
        freqs = torch.linspace(0, SAMPLE_RATE / 2, n_fft // 2 + 1, dtype=torch.float64)
        self.first_bin = int(torch.searchsorted(freqs, f_min, right=False))
        self.end_bin = int(torch.searchsorted(freqs, f_max, right=True))
        if self.end_bin <= self.first_bin:
            raise AsdbenchError(f"frontend 'stft': no bin of n_fft={n_fft} (every {SAMPLE_RATE / n_fft:g} Hz) lies "
                                f"between f_min={f_min} and f_max={f_max}; widen the range or raise n_fft")
        self.register_buffer("window", torch.hann_window(n_fft, periodic=True), persistent=False)

    def forward(self, waveforms: torch.Tensor) -> torch.Tensor:
        spectrum = torch.stft(at_least_float32(waveforms), self.n_fft, self.hop, window=self.window, center=True,
                              pad_mode="reflect", return_complex=True)
        magnitude = spectrum.abs()[:, self.first_bin : self.end_bin] / self.window.pow(2).sum().sqrt()
        if self.temporal_norm:
            magnitude = magnitude - magnitude.mean(dim=-1, keepdim=True)
        return magnitude

    def output_shape(self, num_samples: int) -> tuple[int, ...]:
        return (self.end_bin - self.first_bin, 1 + num_samples // self.hop)
