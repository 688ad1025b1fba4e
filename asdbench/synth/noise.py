"""Synthetic backgrounds (pink, ventilation, factory, babble) and the mixture of a machine with one."""

from __future__ import annotations

import numpy as np

from asdbench.data.layout import SAMPLE_RATE
from asdbench.synth.signals import band, coloured, impacts, rms, running_phase, series, unit

NOISE_KINDS = ("pink", "ventilation", "factory", "babble")


def _syllables(n: int, rng: np.random.Generator, talkers: int = 4) -> np.ndarray:
    """A babble envelope: several talkers, each a syllable-rate rhythm switched on and off in phrases
    (computed at a 500 Hz control rate, then interpolated)."""
    control = np.arange(0, n / SAMPLE_RATE + 0.002, 0.002)
    envelope = np.zeros(len(control))
    for _ in range(talkers):
        syllables = np.abs(np.sin(np.pi * rng.uniform(3, 6) * control + rng.uniform(0, np.pi)))
        phrase_times = np.arange(0, control[-1] + 1.5, 0.75)
        envelope += syllables * np.interp(control, phrase_times, rng.random(len(phrase_times)) > 0.3)
    return np.interp(np.arange(n) / SAMPLE_RATE, control, envelope / talkers).astype(np.float32)


def render_noise(kind: str, rng: np.random.Generator, num_samples: int) -> np.ndarray:
    """Background noise of one kind (see NOISE_KINDS), float32, unit RMS."""
    n = num_samples
    if kind == "pink":
        noise = coloured(n, 1.0, rng)
    elif kind == "ventilation":  # rumble plus a little air hiss
        noise = unit(coloured(n, 2.0, rng)) + 0.1 * rng.standard_normal(n, dtype=np.float32)
    elif kind == "factory":  # mains hum, a distant machine, clanks, a pink floor
        mains = float(rng.choice([50.0, 60.0]))
        hum = series(running_phase(mains, n, np.zeros(n), rng), 1 / np.arange(1, 9) * (np.arange(1, 9) % 2 + 0.5), rng)
        distant = series(running_phase(rng.uniform(100, 300), n, np.zeros(n), rng), 0.5 ** np.arange(5), rng)
        clanks = impacts(n, 0.5, rng.uniform(1000, 3000), 60.0, 0.5, rng)
        noise = unit(hum) + 0.5 * unit(distant) + 0.3 * unit(clanks) + 0.7 * unit(coloured(n, 1.0, rng))
    elif kind == "babble":
        low = band(n, 600.0, 250.0, rng) * _syllables(n, rng)
        high = band(n, 1800.0, 600.0, rng) * _syllables(n, rng)
        noise = unit(low) + 0.5 * unit(high)
    else:
        raise ValueError(f"unknown noise kind {kind!r}; kinds: {', '.join(NOISE_KINDS)}")
    return unit(noise).astype(np.float32)


def mix_clip(machine: np.ndarray, noise: np.ndarray, snr_db: float, gain_db: float) -> np.ndarray:
    """Machine + noise at ``snr_db``, scaled to ``gain_db`` dBFS RMS and kept clear of clipping."""
    mixture = machine + noise * np.float32(10 ** (-snr_db / 20))
    mixture = mixture * np.float32(10 ** (gain_db / 20) / rms(mixture))
    peak = float(np.max(np.abs(mixture)))
    return mixture / peak * 0.99 if peak > 0.99 else mixture
