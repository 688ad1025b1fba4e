"""Synthetic machine sounds: families of sound models whose operating attributes change the sound.

A machine type is a family (rotating harmonics, gear mesh, impacts, flow, electric motor) plus constants drawn
from a generator seeded by its name, so "fan" always sounds like the same fan. Its attributes (2-3 keys with a
few values each) move physical parameters: the rotation speed (fundamental), the load (spectral tilt), a
resonance, an impact rate or a modulation. Anomalies change the sound subtly (a bearing-fault tone, one
harmonic grown, irregular impacts, speed jitter, a shifted resonance) and never its level: every clip's
machine component is normalised before noise and a random gain are applied, so loudness says nothing.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import numpy as np

SAMPLE_RATE = 16_000
FAMILIES = ("rotor", "gear", "impact", "flow", "motor")
ANOMALIES = ("fault_tone", "harmonic_change", "extra_impacts", "jitter", "resonance_shift")
NOISE_KINDS = ("pink", "hum", "babble", "white")
ATTRIBUTE_EFFECTS = {"spd": "speed", "lod": "load", "pos": "resonance", "rat": "rate", "vol": "modulation"}
FAMILY_ATTRIBUTES = {
    "rotor": ("spd", "lod", "vol"),
    "gear": ("spd", "lod"),
    "impact": ("rat", "pos"),
    "flow": ("pos", "vol", "spd"),
    "motor": ("spd", "lod"),
}


def name_seed(name: str) -> int:
    return zlib.crc32(name.encode())


@dataclass(frozen=True)
class MachineModel:
    """One machine type: its family, constants and attribute values per domain."""

    name: str
    family: str
    base_f0: float
    resonance: float
    harmonics: int
    source_values: dict[str, list[str]] = field(default_factory=dict)
    target_values: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def for_name(cls, name: str, family: str) -> MachineModel:
        rng = np.random.default_rng(name_seed(name))
        keys = FAMILY_ATTRIBUTES[family][: int(rng.integers(2, len(FAMILY_ATTRIBUTES[family]) + 1))]
        source, target = {}, {}
        for key in keys:
            levels = [str(v) for v in range(1, 6)]
            source[key] = levels[:3]
            target[key] = levels[3:] if key == keys[0] else levels[:3]  # the first key shifts between domains
        return cls(
            name=name, family=family,
            base_f0=float(rng.uniform(90, 200) if family != "motor" else rng.uniform(300, 500)),
            resonance=float(rng.uniform(800, 3000)),
            harmonics=int(rng.integers(6, 12)),
            source_values=source, target_values=target,
        )

    def attribute_choices(self, domain: str) -> dict[str, list[str]]:
        return self.source_values if domain == "source" else self.target_values


@dataclass(frozen=True)
class ClipParams:
    f0: float
    tilt: float
    resonance: float
    rate: float
    modulation: float


def clip_params(model: MachineModel, attributes: dict[str, str], rng: np.random.Generator) -> ClipParams:
    """Physical parameters of one clip: attributes set them, small per-clip variation keeps clips distinct."""
    level = {ATTRIBUTE_EFFECTS[k]: int(v) - 1 for k, v in attributes.items()}

    def wobble(spread: float) -> float:
        return 1 + spread * rng.uniform(-1, 1)

    return ClipParams(
        f0=model.base_f0 * (1 + 0.3 * level.get("speed", 1)) * wobble(0.01),
        tilt=-1.0 - 2.5 * level.get("load", 1) + rng.uniform(-0.2, 0.2),
        resonance=model.resonance * (1 + 0.25 * level.get("resonance", 1)) * wobble(0.01),
        rate=(2.0 + 1.5 * level.get("rate", 1)) * wobble(0.02),
        modulation=0.1 + 0.15 * level.get("modulation", 1),
    )


def _shaped_noise(rng: np.random.Generator, n: int, centre: float, width: float) -> np.ndarray:
    """White noise through a Gaussian band around ``centre`` Hz (in the frequency domain)."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / SAMPLE_RATE)
    return np.fft.irfft(spectrum * np.exp(-0.5 * ((freqs - centre) / width) ** 2), n)


def _harmonics(t: np.ndarray, params: ClipParams, count: int, wander: float, boost: int | None,
               rng: np.random.Generator) -> np.ndarray:
    """Harmonics of a fundamental that wanders by a relative ``wander`` (a smooth random walk, unit std)."""
    walk = np.cumsum(rng.standard_normal(len(t)))
    walk = (walk - walk.mean()) / (walk.std() + 1e-12)
    phase = 2 * np.pi * params.f0 * np.cumsum(1 + wander * walk) / SAMPLE_RATE
    out = np.zeros_like(t)
    for k in range(1, count + 1):
        amplitude = 10 ** (params.tilt * (k - 1) / 20) * (3.0 if boost == k else 1.0)
        out += amplitude * np.sin(k * phase + rng.uniform(0, 2 * np.pi))
    return out


def _impacts(n: int, params: ClipParams, irregular: bool, rng: np.random.Generator) -> np.ndarray:
    times = np.arange(rng.uniform(0, 1 / params.rate), n / SAMPLE_RATE, 1 / params.rate)
    if irregular:
        extra = rng.uniform(0, n / SAMPLE_RATE, size=max(2, len(times) // 3))
        times = np.concatenate([times, extra])
    pulses = np.zeros(n)
    pulses[np.minimum((times * SAMPLE_RATE).astype(int), n - 1)] = 1.0
    ring_t = np.arange(int(0.03 * SAMPLE_RATE)) / SAMPLE_RATE
    ring = np.exp(-ring_t * 150) * np.sin(2 * np.pi * params.resonance * ring_t)
    return np.convolve(pulses, ring)[:n]


def render_machine(model: MachineModel, attributes: dict[str, str], anomaly: str | None,
                   rng: np.random.Generator, num_samples: int) -> np.ndarray:
    """The machine's own sound for one clip, normalised to unit RMS."""
    params = clip_params(model, attributes, rng)
    if anomaly == "resonance_shift":
        params = ClipParams(params.f0, params.tilt, params.resonance * 1.12, params.rate, params.modulation)
    t = np.arange(num_samples) / SAMPLE_RATE
    jitter = 0.03 if anomaly == "jitter" else 0.003
    boost = 3 if anomaly == "harmonic_change" else None
    harmonic = _harmonics(t, params, model.harmonics, jitter, boost, rng)
    resonant = _shaped_noise(rng, num_samples, params.resonance, 120.0)
    am = 1 + params.modulation * np.sin(2 * np.pi * params.rate * t)
    if model.family == "rotor":
        sound = harmonic * am + 0.6 * resonant / _rms(resonant)
    elif model.family == "gear":
        mesh = _harmonics(t, ClipParams(params.f0 * 7, params.tilt, params.resonance, params.rate, 0), 4,
                          jitter, boost, rng)
        sound = 0.5 * harmonic + mesh * (1 + 0.5 * np.sin(2 * np.pi * params.f0 * t))
    elif model.family == "impact":
        clicks = _impacts(num_samples, params, anomaly == "extra_impacts", rng)
        sound = clicks / _rms(clicks) + 0.3 * harmonic / _rms(harmonic)
    elif model.family == "flow":
        broad = _shaped_noise(rng, num_samples, params.resonance * 0.5, 900.0)
        sound = broad / _rms(broad) * am + 0.4 * resonant / _rms(resonant) + 0.2 * harmonic / _rms(harmonic)
    else:  # motor
        sound = harmonic * am + 0.3 * resonant / _rms(resonant)
    if anomaly == "extra_impacts" and model.family != "impact":
        clicks = _impacts(num_samples, ClipParams(params.f0, 0, params.resonance, 0.7, 0), True, rng)
        sound = sound / _rms(sound) + 0.5 * clicks / _rms(clicks)
    if anomaly == "fault_tone":
        tone_freq = params.f0 * 5.37 if model.family != "motor" else params.f0 * 1.61
        tone = np.sin(2 * np.pi * tone_freq * t) * (1 + np.sin(2 * np.pi * 3.1 * t))
        sound = sound / _rms(sound) + 0.35 * tone / _rms(tone)
    return sound / _rms(sound)


def render_noise(kind: str, rng: np.random.Generator, num_samples: int) -> np.ndarray:
    """Background noise of one kind, unit RMS."""
    t = np.arange(num_samples) / SAMPLE_RATE
    if kind == "white":
        noise = rng.standard_normal(num_samples)
    elif kind == "pink":
        spectrum = np.fft.rfft(rng.standard_normal(num_samples))
        freqs = np.maximum(np.fft.rfftfreq(num_samples, 1 / SAMPLE_RATE), 20.0)
        noise = np.fft.irfft(spectrum / np.sqrt(freqs), num_samples)
    elif kind == "hum":
        mains = rng.choice([50.0, 60.0])
        noise = sum(np.sin(2 * np.pi * mains * k * t + rng.uniform(0, 6.3)) / k for k in range(1, 6))
        noise = noise + 0.5 * rng.standard_normal(num_samples) * 0.2
    else:  # babble: speech-band noise with a syllable-rate envelope
        band = _shaped_noise(rng, num_samples, 500.0, 400.0)
        envelope = 1 + np.sin(2 * np.pi * rng.uniform(3, 6) * t + rng.uniform(0, 6.3))
        noise = band * envelope
    return noise / _rms(noise)


def mix_clip(machine: np.ndarray, noise: np.ndarray, snr_db: float, gain_db: float) -> np.ndarray:
    """Machine + noise at ``snr_db``, scaled to ``gain_db`` dBFS RMS and kept clear of clipping."""
    mixture = machine + noise * 10 ** (-snr_db / 20)
    mixture *= 10 ** (gain_db / 20) / _rms(mixture)
    peak = np.max(np.abs(mixture))
    return mixture / peak * 0.99 if peak > 0.99 else mixture


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x**2)) + 1e-12)
