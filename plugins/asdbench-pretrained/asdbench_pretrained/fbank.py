"""Kaldi-compatible log-mel filter banks, as ``torchaudio.compliance.kaldi.fbank`` computes them, without torchaudio.

BEATs and EAT were pre-trained on ``torchaudio.compliance.kaldi.fbank`` features (128 mel bins, 25 ms frames every
10 ms at 16 kHz) and read nothing else; torchaudio has no build for the torch asdbench pins, so this module computes
the same thing with torch alone: frames cut with ``snip_edges`` (no padding: ``1 + (L - 400) // 160`` frames), the
frame mean removed, pre-emphasis 0.97 (the first sample repeated before it), a window (Kaldi's "povey", a Hann
window to the power 0.85, for BEATs; a symmetric Hann window for EAT), zero-padded to 512 samples, the power
spectrum, Kaldi's triangular mel filters (mel = 1127 ln(1 + f / 700), 20 Hz to Nyquist, the last FFT bin unused), and
the natural log floored at float32's epsilon. ``tests/golden/kaldi_fbank.npz`` holds torchaudio's own output
(``tests/golden/make_kaldi_fbank.py`` made it) and ``tests/test_beats.py`` compares against it.

Each model then scales and normalises the features its own way (:data:`PRESETS`):

- BEATs (``microsoft/unilm`` ``beats/BEATs.py``, ``BEATs.preprocess``): waveform times 2**15, "povey" window,
  ``(fbank - 15.41663) / (2 * 6.55582)``.
- EAT (``cwx-worst-one/EAT`` ``feature_extract/feature_extract.py``, and ASDKit's ``asdit/models/eat/lora.py``):
  the clip's mean removed, no scaling, Hann window, ``(fbank - (-4.268)) / (2 * 4.569)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

SAMPLE_RATE = 16_000
FRAME_LENGTH = 400  # 25 ms
FRAME_SHIFT = 160  # 10 ms
FFT_SIZE = 512  # the frame zero-padded to the next power of two, as Kaldi's round_to_power_of_two
NUM_MEL_BINS = 128
LOW_FREQ = 20.0  # Kaldi's default low_freq; high_freq 0 means Nyquist
PREEMPHASIS = 0.97
POVEY_POWER = 0.85


@dataclass(frozen=True)
class Preset:
    """How one model prepares its fbank: the waveform's scale, the window, and the normalisation."""

    scale: float
    remove_clip_mean: bool
    window: str  # "povey" or "hanning"
    mean: float
    std: float


PRESETS: dict[str, Preset] = {
    "beats": Preset(scale=2.0**15, remove_clip_mean=False, window="povey", mean=15.41663, std=6.55582),
    "eat": Preset(scale=1.0, remove_clip_mean=True, window="hanning", mean=-4.268, std=4.569),
}


def num_frames(num_samples: int) -> int:
    """Frames of a clip of ``num_samples`` samples (Kaldi's ``snip_edges``: whole frames only)."""
    if num_samples < FRAME_LENGTH:
        return 0
    return 1 + (num_samples - FRAME_LENGTH) // FRAME_SHIFT


def kaldi_window(kind: str) -> torch.Tensor:
    """The 400-sample analysis window: "povey" (Hann to the power 0.85) or "hanning" (symmetric Hann)."""
    hann = torch.hann_window(FRAME_LENGTH, periodic=False, dtype=torch.float64)
    if kind == "povey":
        return hann.pow(POVEY_POWER)
    if kind == "hanning":
        return hann
    raise ValueError(f"unknown Kaldi window {kind!r}; expected 'povey' or 'hanning'")


def _mel(frequency: torch.Tensor) -> torch.Tensor:
    return 1127.0 * torch.log1p(frequency / 700.0)


def kaldi_mel_banks(num_bins: int = NUM_MEL_BINS) -> torch.Tensor:
    """Kaldi's triangular mel filters over the FFT bins: ``(num_bins, FFT_SIZE // 2 + 1)``, the last column zero."""
    nyquist = SAMPLE_RATE / 2
    mel_low, mel_high = _mel(torch.tensor(LOW_FREQ, dtype=torch.float64)), _mel(torch.tensor(nyquist,
                                                                                              dtype=torch.float64))
    delta = (mel_high - mel_low) / (num_bins + 1)
    index = torch.arange(num_bins, dtype=torch.float64)[:, None]
    left, centre, right = mel_low + index * delta, mel_low + (index + 1) * delta, mel_low + (index + 2) * delta
    bins = _mel(SAMPLE_RATE / FFT_SIZE * torch.arange(FFT_SIZE // 2, dtype=torch.float64))[None, :]
    up, down = (bins - left) / (centre - left), (right - bins) / (right - centre)
    banks = torch.clamp(torch.minimum(up, down), min=0.0)
    return nn.functional.pad(banks, (0, 1))


class KaldiFbank(nn.Module):
    """``(B, L)`` 16 kHz waveforms -> ``(B, 128, T)`` normalised log-mel filter banks of one model's preset
    (registered as :class:`BEATsFbank` and :class:`EATFbank`).

    Parameter-free (the window and the filters are buffers that are not saved): stacked-seed training computes
    it once for every seed. The output is ``(B, F, T)`` like asdbench's other spectrogram frontends; the BEATs
    network reads it as such.
    """

    def __init__(self, preset: str) -> None:
        super().__init__()
        if preset not in PRESETS:
            raise ValueError(f"unknown fbank preset {preset!r}; expected one of {', '.join(PRESETS)}")
        self.preset_name = preset
        self.preset = PRESETS[preset]
        self.register_buffer("window", kaldi_window(self.preset.window).float(), persistent=False)
        self.register_buffer("banks", kaldi_mel_banks().float(), persistent=False)

    def output_shape(self, num_samples: int) -> tuple[int, int]:
        return NUM_MEL_BINS, num_frames(num_samples)

    def forward(self, waveforms: torch.Tensor) -> torch.Tensor:
        if waveforms.shape[-1] < FRAME_LENGTH:
            raise ValueError(f"a Kaldi fbank needs at least {FRAME_LENGTH} samples (25 ms), got {waveforms.shape[-1]}")
        return (self.log_mel(waveforms) - self.preset.mean) / (2 * self.preset.std)

    def log_mel(self, waveforms: torch.Tensor) -> torch.Tensor:
        """The model's log-mel before normalisation, ``(B, 128, T)``: what ``kaldi.fbank`` returns, transposed."""
        dtype = torch.promote_types(waveforms.dtype, torch.float32)
        audio = waveforms.to(dtype) * self.preset.scale
        if self.preset.remove_clip_mean:
            audio = audio - audio.mean(dim=-1, keepdim=True)
        frames = audio.unfold(-1, FRAME_LENGTH, FRAME_SHIFT)  # (B, T, 400)
        frames = frames - frames.mean(dim=-1, keepdim=True)
        previous = torch.cat([frames[..., :1], frames[..., :-1]], dim=-1)
        frames = (frames - PREEMPHASIS * previous) * self.window.to(dtype)
        power = torch.fft.rfft(frames, n=FFT_SIZE).abs().pow(2)  # (B, T, 257)
        with torch.autocast(device_type=power.device.type, enabled=False):  # bf16 would round the energies
            energies = power @ self.banks.to(dtype).T
        return torch.clamp(energies, min=torch.finfo(torch.float32).eps).log().transpose(1, 2)



class BEATsFbank(KaldiFbank):
    """``beats-fbank``: the filter banks BEATs reads."""

    def __init__(self) -> None:
        super().__init__("beats")


class EATFbank(KaldiFbank):
    """``eat-fbank``: the filter banks EAT reads (before EAT pads or cuts them to its input length)."""

    def __init__(self) -> None:
        super().__init__("eat")
