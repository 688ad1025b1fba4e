"""The signal primitives the synthetic machines and backgrounds are built of: smooth wander, phase, harmonic
series, noise bands and colours, impacts; all float32 at 16 kHz, drawn from the generator given."""

from __future__ import annotations

import numpy as np
import scipy.fft

from asdbench.data.layout import SAMPLE_RATE

TWO_PI = 2 * np.pi


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))) + 1e-12)


def unit(x: np.ndarray) -> np.ndarray:
    return x / rms(x)


def smooth_wander(n: int, relative_std: float, bandwidth_hz: float, rng: np.random.Generator) -> np.ndarray:
    """A smooth random relative deviation: control points every 1/(2*bandwidth) s, linearly interpolated."""
    step = SAMPLE_RATE / (2 * bandwidth_hz)
    points = rng.standard_normal(int(n / step) + 3)
    curve = np.interp(np.arange(n) / step, np.arange(len(points)), points)
    return relative_std * (curve - curve.mean()) / (curve.std() + 1e-12)


def running_phase(f0: float, n: int, wander: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Running phase (radians) of a fundamental ``f0`` whose frequency deviates by ``wander`` (relative)."""
    return TWO_PI * np.cumsum(f0 * (1 + wander)) / SAMPLE_RATE + rng.uniform(0, TWO_PI)


def series(phase: np.ndarray, amplitudes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Sum over k of amplitudes[k-1] * sin(k * phase + random), by powers of one complex phasor (no sin per k)."""
    wrapped = np.mod(phase, TWO_PI).astype(np.float32)
    phasor = (np.cos(wrapped) + 1j * np.sin(wrapped)).astype(np.complex64)
    power = phasor.copy()
    out = np.zeros(len(phase), np.float32)
    for amplitude in amplitudes:
        if amplitude > 0:
            offset = rng.uniform(0, TWO_PI)  # sin(x + o) = cos(o) sin(x) + sin(o) cos(x)
            out += np.float32(amplitude * np.cos(offset)) * power.imag
            out += np.float32(amplitude * np.sin(offset)) * power.real
        power *= phasor
    return out


def band(n: int, centre: float, width: float, rng: np.random.Generator) -> np.ndarray:
    """White noise through a Gaussian band of ``width`` Hz around ``centre`` Hz (shaped in the frequency domain)."""
    spectrum = scipy.fft.rfft(rng.standard_normal(n, dtype=np.float32))
    freqs = np.fft.rfftfreq(n, 1 / SAMPLE_RATE).astype(np.float32)
    return scipy.fft.irfft(spectrum * np.exp(-0.5 * ((freqs - centre) / width) ** 2), n)


def coloured(n: int, exponent: float, rng: np.random.Generator) -> np.ndarray:
    """Noise with power falling as 1/f**exponent (1: pink, 2: brown), floored at 20 Hz."""
    spectrum = scipy.fft.rfft(rng.standard_normal(n, dtype=np.float32))
    freqs = np.maximum(np.fft.rfftfreq(n, 1 / SAMPLE_RATE), 20.0).astype(np.float32)
    return scipy.fft.irfft(spectrum / freqs ** np.float32(exponent / 2), n)


def impacts(n: int, rate: float, resonance: float, damping: float, timing_jitter: float,
             rng: np.random.Generator, extra_per_second: float = 0.0) -> np.ndarray:
    """Impacts ``rate`` times a second (timing jitter relative to the period), each ringing two damped modes."""
    period = SAMPLE_RATE / rate
    starts = np.arange(rng.uniform(0, period), n, period)
    starts = starts + timing_jitter * period * rng.standard_normal(len(starts))
    if extra_per_second:
        starts = np.concatenate([starts, rng.uniform(0, n, rng.poisson(extra_per_second * n / SAMPLE_RATE) + 1)])
    starts = starts[(starts >= 0) & (starts < n)].astype(np.int64)
    if not len(starts):  # a slow rate in a short clip: keep one impact rather than silence
        starts = rng.integers(0, n, 1)
    t = np.arange(int(5 * SAMPLE_RATE / damping)) / SAMPLE_RATE
    ring = np.exp(-damping * t) * (np.sin(TWO_PI * resonance * t) + 0.4 * np.sin(TWO_PI * 2.76 * resonance * t))
    out = np.zeros(n + len(t))
    gains = 1 + 0.15 * rng.standard_normal(len(starts))
    np.add.at(out, starts[:, None] + np.arange(len(t)), gains[:, None] * ring)
    return out[:n].astype(np.float32)
