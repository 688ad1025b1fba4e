"""Waveform augmentations, applied in training only, before the frontends."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from asdbench.api import AsdbenchError


class Mixup(nn.Module):
    """``mixup`` on the raw waveform: with ``probability`` per sample, mix it with a random partner.

    lambda ~ U(0, 1) per sample, partners from one random permutation of the batch; the soft targets are mixed
    with the same lambda, so each row still sums to one.
    """

    def __init__(self, *, probability: float) -> None:
        super().__init__()
        self.probability = probability

    def forward(self, waveforms: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.training:
            return waveforms, targets
        partner, lam = self.draw(waveforms.shape[0], waveforms.device)
        return self.mix(waveforms, targets, partner, lam)

    def draw(self, batch: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """The random part: a partner permutation and each sample's lambda ``(B, 1)``, 1 where it is not mixed."""
        partner = torch.randperm(batch, device=device)
        lam = torch.rand(batch, 1, device=device)
        return partner, torch.where(torch.rand(batch, 1, device=device) < self.probability, lam, torch.ones_like(lam))

    @staticmethod
    def mix(waveforms: torch.Tensor, targets: torch.Tensor, partner: torch.Tensor,
            lam: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The deterministic part, given the draws (the golden tests give it the reference's draws)."""
        return lam * waveforms + (1 - lam) * waveforms[partner], lam * targets + (1 - lam) * targets[partner]


WINDOWS = {"hann": torch.hann_window, "hamming": torch.hamming_window}
"""``specaug``'s STFT windows by name (periodic, as ASDKit builds them)."""


@dataclass(frozen=True)
class MaskDraws:
    """One batch's random part of ``specaug``, per clip: whether each mask applies, and its first and end index.

    ``start`` and ``end`` follow torchaudio's ``mask_along_axis_iid`` (ASDKit's ``TimeMasking`` and
    ``FrequencyMasking`` with ``iid_masks = True``): a width ``v = u1 * width`` and a start ``v0 = u2 * (size - v)``,
    both float32, mask the indices ``[int(v0), int(v0) + int(v))``, ``int`` rounding towards zero, so a width past
    ``size`` can start before 0 and masks to the end."""

    applied: torch.Tensor
    start: torch.Tensor
    end: torch.Tensor


class SpecAugment(nn.Module):
    """``specaug``: ASDKit's SpecAug on the waveform (``asdkit/augmentations/specaug.py``, its ``wave`` target key):
    the STFT's magnitude gets, with ``time_probability`` per clip, a time mask of up to ``time_width`` frames, then,
    with ``freq_probability``, a frequency mask of up to ``freq_width`` bins (zeros); the waveform is rebuilt by the
    inverse STFT with the original phase, at its length. A clip whose masks do not apply passes through the
    STFT and back (float noise). The targets are kept. Training only, as ASDKit's (``self.training``).
    """

    def __init__(self, *, time_width: int, time_probability: float, freq_width: int, freq_probability: float,
                 n_fft: int, hop_length: int, window: str) -> None:
        super().__init__()
        if hop_length > n_fft:
            raise AsdbenchError(f"specaug: hop_length ({hop_length}) must be at most n_fft ({n_fft}), or 0 for "
                                f"n_fft // 4, so that the inverse STFT can rebuild the waveform")
        self.time_width, self.time_probability = time_width, time_probability
        self.freq_width, self.freq_probability = freq_width, freq_probability
        self.n_fft, self.hop_length = n_fft, hop_length or n_fft // 4
        self.register_buffer("window", WINDOWS[window](n_fft, periodic=True), persistent=False)

    def forward(self, waveforms: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.training:
            return waveforms, targets
        spectrum = self.stft(waveforms)
        magnitude = spectrum.abs()
        frames, bins = magnitude.shape[-1], magnitude.shape[-2]
        time = self.draw(len(waveforms), frames, self.time_width, self.time_probability, magnitude)
        freq = self.draw(len(waveforms), bins, self.freq_width, self.freq_probability, magnitude)
        masked = self.mask(self.mask(magnitude, time, axis=-1), freq, axis=-2)
        return self.istft(masked, spectrum, waveforms.shape[-1]).to(waveforms.dtype), targets

    @staticmethod
    def draw(batch: int, size: int, width: int, probability: float, like: torch.Tensor) -> MaskDraws:
        """One mask per clip along an axis of ``size``, drawn from torch's generator in ASDKit's order: whether it
        applies, then (for a width of at least 1) its width and start, in the spectrogram's dtype."""
        applied = torch.rand(batch, device=like.device) < probability
        if width < 1:  # torchaudio draws nothing then, and masks nothing
            nothing = torch.zeros(batch, dtype=torch.long, device=like.device)
            return MaskDraws(applied, nothing, nothing)
        value = torch.rand(batch, device=like.device, dtype=like.dtype) * width
        start = torch.rand(batch, device=like.device, dtype=like.dtype) * (size - value)
        return MaskDraws(applied, start.long(), start.long() + value.long())

    @staticmethod
    def mask(magnitude: torch.Tensor, draws: MaskDraws, axis: int) -> torch.Tensor:
        """The deterministic part, given the draws: zeros where the mask applies, along ``axis`` (-1 time, -2
        frequency) of ``(B, F, T)``."""
        index = torch.arange(magnitude.shape[axis], device=magnitude.device)
        inside = (index >= draws.start[:, None]) & (index < draws.end[:, None]) & draws.applied[:, None]
        inside = inside[:, None, :] if axis == -1 else inside[:, :, None]
        return magnitude.masked_fill(inside, 0.0)

    def stft(self, waveforms: torch.Tensor) -> torch.Tensor:
        return torch.stft(waveforms.float(), n_fft=self.n_fft, hop_length=self.hop_length, win_length=self.n_fft,
                          window=self.window, center=True, pad_mode="constant", onesided=True, return_complex=True)

    def istft(self, magnitude: torch.Tensor, spectrum: torch.Tensor, length: int) -> torch.Tensor:
        rebuilt = magnitude * torch.exp(1j * torch.angle(spectrum))
        return torch.istft(rebuilt, n_fft=self.n_fft, hop_length=self.hop_length, win_length=self.n_fft,
                           window=self.window, center=True, onesided=True, length=length)
