"""Synthetic machine sounds: six families of sound models whose operating attributes change the sound.

A machine type is a family plus constants drawn from a generator seeded by its name, so "fan" always sounds
like the same fan:

- ``rotor`` (fans, bearings, propellers): harmonics of the rotation speed with a slow amplitude modulation,
  over flow noise through a housing resonance;
- ``gear`` (gearboxes, tracks, saws): shaft harmonics plus a tooth-mesh series at teeth x speed whose amplitude
  follows the shaft rotation (sidebands at mesh +- shaft), over noise in a housing resonance;
- ``impact`` (valves, shakers, rattling toys): impacts at a rate, each ringing a damped resonance, over a weak
  drive hum;
- ``flow`` (compressors, pumps): broadband noise through two resonances, pulsating, with a weak harmonic series;
- ``motor`` (toy cars, brushes, grinders): a high electric whine with rich harmonics and a commutator buzz;
- ``ventilator`` (the regression gate's machine, ``gate`` preset): air noise through a resonance, pulsing at the
  blade rate, which grows with speed to the power 2.3. Its speed is heard in the pulsing alone, not in the
  spectrum, and its anomalies (a pulse rate beyond the range of its speeds, pulses that lose their depth) change
  the pulsing only: features that ignore the attributes barely see them under the gate's loud noise, while a
  network that has learnt speed from pulsing does. A system that no longer trains therefore falls to chance.

Operating attributes (two keys with five values each, shown in file names as DCASE does, e.g. ``spd_28_lod_10``)
move physical parameters: speed (fundamental), load (harmonic tilt, roughness, damping), resonance position,
impact rate and modulation depth. Anomalies (a bearing-fault tone, one harmonic grown, speed jitter, rubbing
noise, extra impacts, a shifted resonance), each at a random severity, change the sound but never its level:
the machine sound of every clip is normalised to unit RMS, anomalous or not, so loudness says nothing.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, replace

import numpy as np

from asdbench.data.layout import SAMPLE_RATE
from asdbench.synth.signals import TWO_PI, band, impacts, running_phase, series, smooth_wander, unit

NYQUIST_MARGIN = 7_500.0  # harmonics above this are left out


@dataclass(frozen=True)
class AttributeKey:
    """An operating attribute: the parameter it moves and its five values as file names show them, in order."""

    effect: str
    values: tuple[str, ...]


ATTRIBUTE_KEYS: dict[str, AttributeKey] = {
    "spd": AttributeKey("speed", ("20", "24", "28", "32", "36")),
    "lod": AttributeKey("load", ("0", "10", "20", "30", "40")),
    "pos": AttributeKey("resonance", ("10", "30", "50", "70", "90")),
    "vel": AttributeKey("rate", ("2", "3", "4", "5", "6")),
    "mod": AttributeKey("modulation", ("0", "1", "2", "3", "4")),
}
# Two keys a machine, as many DCASE 2024 machines have: the first one's values shift between source and target
# domains. With a third key (up to 27 source classes, 3-7 training clips each on the small presets) hidden
# ground truth lost to machine-only labels on those machines: too few clips per class to learn (2026-11).
FAMILY_KEYS: dict[str, tuple[str, str]] = {
    "rotor": ("spd", "lod"),
    "gear": ("spd", "pos"),
    "impact": ("vel", "pos"),
    "flow": ("pos", "mod"),
    "motor": ("spd", "lod"),
    "ventilator": ("spd", "pos"),
}
FAMILIES = tuple(FAMILY_KEYS)
FAMILY_ANOMALIES: dict[str, tuple[str, ...]] = {
    "rotor": ("fault_tone", "harmonic_change", "jitter", "rubbing", "extra_impacts", "resonance_shift"),
    "gear": ("fault_tone", "harmonic_change", "jitter", "rubbing", "extra_impacts"),
    "impact": ("extra_impacts", "resonance_shift", "fault_tone", "jitter"),
    "flow": ("resonance_shift", "fault_tone", "rubbing", "extra_impacts"),
    "motor": ("fault_tone", "harmonic_change", "jitter", "rubbing"),
    "ventilator": ("pulse_rate", "pulse_loss"),
}
ANOMALIES = tuple(sorted({kind for kinds in FAMILY_ANOMALIES.values() for kind in kinds}))
ANOMALIES_PER_MACHINE = 3  # at most: a family with fewer kinds gives each machine all of them
# (source levels, target levels) of the domain-shifted key: extrapolation above, below, or to both ends.
DOMAIN_SHIFTS = (((0, 1, 2), (3, 4)), ((2, 3, 4), (0, 1)), ((1, 2, 3), (0, 4)))
# The source domain takes three of the five levels of the other key. Two levels (tried, 2026-11) made the
# attribute task so close to the machine-only one that on the CI grid attribute labels fell below machine-only
# labels. The target domain takes the middle one of those three only: as in DCASE, each target value comes in one
# combination, so the few target training clips cover every combination its test clips have.
OTHER_KEY_LEVELS = 3
# The ventilator's "fundamental" is its blade rate at the middle speed, of which it has no harmonics.
F0_RANGE = {"rotor": (80, 160), "gear": (20, 45), "impact": (50, 120), "flow": (60, 120), "motor": (280, 450),
            "ventilator": (12, 16)}
HARMONICS = {"rotor": 12, "gear": 6, "impact": 6, "flow": 8, "motor": 14, "ventilator": 1}
SPEED_STEP = 0.12  # relative change of the fundamental per level of a speed attribute
PULSE_SPEED_EXPONENT = 2.3  # the ventilator's pulse rate goes as speed**2.3: about 30% a level, levels far apart
PULSE_RANGE_STEPS = 2  # speed levels run from -2 to +2 steps around the middle one


def name_seed(name: str) -> int:
    """A stable integer for a name (Python's ``hash`` of a str changes between processes)."""
    return zlib.crc32(name.encode())


def seed_name(machine: str, section: str) -> str:
    """The name a machine section's sound model and clips are seeded from: the machine's own for section 00 (what
    every one-section dataset has been drawn from), ``<machine>/section_<nn>`` for another section, so that each
    section of a machine type sounds like another machine of that type."""
    return machine if section == "00" else f"{machine}/section_{section}"


def attribute_level(key: str, value: str) -> int:
    """The position (0-4) of ``value`` among the values of attribute ``key``."""
    return ATTRIBUTE_KEYS[key].values.index(value)


@dataclass(frozen=True)
class MachineModel:
    """One machine type: its family, its constants, and the attribute levels each domain uses."""

    name: str
    family: str
    keys: tuple[str, ...]
    source_levels: dict[str, tuple[int, ...]]
    target_levels: dict[str, tuple[int, ...]]
    anomalies: tuple[str, ...]
    base_f0: float
    resonance: float
    harmonic_db: tuple[float, ...]  # per-harmonic offsets: the machine's own timbre
    teeth: int
    modulation_ratio: float  # modulation rate as a fraction of the fundamental
    fault_ratio: float  # bearing-fault tone frequency as a multiple of the fundamental
    changed_harmonic: int

    @classmethod
    def for_name(cls, name: str, family: str, section: str = "00") -> MachineModel:
        """The model of machine ``name``'s ``section``, of sound ``family``, drawn from the name and section alone."""
        if family not in FAMILY_KEYS:
            raise ValueError(f"unknown sound family {family!r}; families: {', '.join(FAMILIES)}")
        rng = np.random.default_rng(name_seed(seed_name(name, section)))
        keys = FAMILY_KEYS[family]
        source_shift, target_shift = DOMAIN_SHIFTS[int(rng.integers(len(DOMAIN_SHIFTS)))]
        other = tuple(sorted(int(v) for v in rng.choice(5, OTHER_KEY_LEVELS, replace=False)))
        candidates = FAMILY_ANOMALIES[family]
        chosen = set(rng.choice(len(candidates), min(ANOMALIES_PER_MACHINE, len(candidates)), replace=False).tolist())
        return cls(
            name=name, family=family, keys=keys,
            source_levels={keys[0]: source_shift, keys[1]: other},
            target_levels={keys[0]: target_shift, keys[1]: other[1:2]},
            anomalies=tuple(kind for i, kind in enumerate(candidates) if i in chosen),
            base_f0=float(rng.uniform(*F0_RANGE[family])),
            resonance=float(rng.uniform(900, 3200)),
            harmonic_db=tuple(float(v) for v in rng.uniform(-4, 4, HARMONICS[family])),
            teeth=int(rng.integers(12, 30)),
            modulation_ratio=float(rng.uniform(0.03, 0.08)),
            fault_ratio=float(rng.uniform(3.2, 6.8)),
            changed_harmonic=int(rng.integers(2, 6)),
        )

    def attribute_values(self, domain: str) -> dict[str, tuple[str, ...]]:
        """The attribute values clips of ``domain`` ("source" or "target") take, per key."""
        levels = self.source_levels if domain == "source" else self.target_levels
        return {key: tuple(ATTRIBUTE_KEYS[key].values[level] for level in levels[key]) for key in self.keys}


@dataclass(frozen=True)
class Physics:
    """The physical parameters of one clip: set by its attributes, with a little per-clip variation."""

    f0: float
    tilt_db: float  # harmonic amplitude slope, dB per harmonic
    roughness: float  # share of broadband noise
    resonance: float
    damping: float  # impact ring decay, 1/s
    rate: float  # impacts per second
    depth: float  # amplitude-modulation depth


def clip_physics(model: MachineModel, attributes: dict[str, str], rng: np.random.Generator) -> Physics:
    """Attributes move the parameters in steps far larger than the per-clip wobble, so they can be learnt."""
    step = {ATTRIBUTE_KEYS[key].effect: attribute_level(key, value) - 2 for key, value in attributes.items()}
    speed, load = step.get("speed", 0), step.get("load", 0)

    def wobble(spread: float) -> float:
        return 1 + spread * rng.uniform(-1, 1)

    return Physics(
        f0=model.base_f0 * (1 + SPEED_STEP * speed) * wobble(0.015),
        tilt_db=-4.0 + 0.9 * load + rng.uniform(-0.3, 0.3),
        roughness=0.25 * (1 + 0.3 * load) * wobble(0.05),
        resonance=model.resonance * (1 + 0.12 * step.get("resonance", 0)) * wobble(0.02),
        damping=160 * (1 - 0.2 * load) * wobble(0.05),
        rate=(4 + step.get("rate", 0)) * wobble(0.03),
        depth=0.45 + 0.17 * step.get("modulation", 0) + rng.uniform(-0.02, 0.02),
    )


@dataclass(frozen=True)
class Anomaly:
    """What is wrong with a clip's machine, and how badly."""

    kind: str
    severity: float  # 1 is the typical strength; synth draws it from [0.5, 1.5]


# --- building blocks ------------------------------------------------------------------------------------


def _amplitudes(model: MachineModel, physics: Physics, f0: float, count: int, boost_db: float = 0.0) -> np.ndarray:
    """Harmonic amplitudes: the load's tilt, the machine's timbre, ``boost_db`` on its changeable harmonic."""
    k = np.arange(1, count + 1)
    db = physics.tilt_db * (k - 1) + np.resize(np.array(model.harmonic_db), count)
    db[k == model.changed_harmonic] += boost_db
    return np.where(k * f0 < NYQUIST_MARGIN, 10 ** (db / 20), 0.0)


def _slow_modulation(n: int, physics: Physics, ratio: float, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(n, dtype=np.float32) / SAMPLE_RATE
    return (1 + physics.depth * np.sin(TWO_PI * physics.f0 * ratio * t + rng.uniform(0, TWO_PI))).astype(np.float32)


# --- families -------------------------------------------------------------------------------------------


def _family_sound(model: MachineModel, physics: Physics, phase: np.ndarray, boost_db: float,
                  timing_jitter: float, rng: np.random.Generator) -> np.ndarray:
    n = len(phase)
    family = model.family
    harmonics = series(phase, _amplitudes(model, physics, physics.f0, HARMONICS[family], boost_db), rng)
    if family == "rotor":
        flow = band(n, physics.resonance, 0.25 * physics.resonance, rng)
        return unit(harmonics) * _slow_modulation(n, physics, model.modulation_ratio, rng) \
            + physics.roughness * 2 * unit(flow)
    if family == "gear":
        mesh_f0 = physics.f0 * model.teeth
        mesh = series(model.teeth * phase, _amplitudes(model, physics, mesh_f0, 4, boost_db), rng)
        housing = band(n, physics.resonance, 0.12 * physics.resonance, rng)
        rotation = (1 + 0.6 * np.sin(phase)).astype(np.float32)
        return 0.5 * unit(harmonics) + unit(mesh) * rotation + physics.roughness * 2 * unit(housing)
    if family == "impact":
        clicks = impacts(n, physics.rate, physics.resonance, physics.damping, timing_jitter, rng)
        return unit(clicks) + 0.25 * unit(harmonics)
    if family == "flow":
        broad = band(n, physics.resonance, 0.35 * physics.resonance, rng) \
            + 0.6 * band(n, 1.9 * physics.resonance, 0.2 * physics.resonance, rng)
        return unit(broad) * _slow_modulation(n, physics, 0.25, rng) + 0.35 * unit(harmonics)
    # motor: the whine plus a commutator buzz that follows the rotation
    buzz = band(n, 3000.0, 1200.0, rng) * (1 + 0.8 * np.sin(phase)).astype(np.float32)
    return unit(harmonics) * _slow_modulation(n, physics, model.modulation_ratio, rng) \
        + physics.roughness * unit(buzz)


def _fault_tone(phase: np.ndarray, model: MachineModel) -> np.ndarray:
    """An inharmonic bearing tone at fault_ratio x f0, beating at the cage rate (0.41 x f0)."""
    tone = np.sin(model.fault_ratio * phase) * (1 + 0.7 * np.sin(0.41 * phase))
    return tone.astype(np.float32)


def _rubbing(n: int, phase: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """High-frequency scraping noise in bursts once per rotation."""
    return band(n, 5500.0, 700.0, rng) * ((0.5 + 0.5 * np.sin(phase)) ** 4).astype(np.float32)


def _ventilator(model: MachineModel, physics: Physics, anomaly: Anomaly | None, rng: np.random.Generator,
                n: int) -> np.ndarray:
    """Air noise through the housing resonance, gated by blade pulses ``(0.5 + 0.5 sin)**2`` at the pulse rate.

    A ``pulse_rate`` anomaly runs the pulses at a speed 0.75-1.25 steps beyond the machine's fastest or slowest
    level (by severity), a ``pulse_loss`` one keeps 7-23% of their depth; neither changes the spectrum."""
    speed_ratio = physics.f0 / model.base_f0
    depth = 1.0
    direction = float(rng.choice([-1.0, 1.0]))  # drawn for every clip, so an anomaly changes no other draw
    if anomaly and anomaly.kind == "pulse_rate":
        speed_ratio = 1 + SPEED_STEP * direction * (PULSE_RANGE_STEPS + 0.5 + 0.5 * anomaly.severity)
    elif anomaly and anomaly.kind == "pulse_loss":
        depth = 0.15 * anomaly.severity
    rate = model.base_f0 * speed_ratio ** PULSE_SPEED_EXPONENT
    t = np.arange(n, dtype=np.float32) / SAMPLE_RATE
    pulses = (0.5 + 0.5 * np.sin(TWO_PI * rate * t + rng.uniform(0, TWO_PI))) ** 2
    air = band(n, physics.resonance, 0.3 * physics.resonance, rng)
    return (air * (1 - depth + depth * pulses)).astype(np.float32)


def render_machine(model: MachineModel, attributes: dict[str, str], anomaly: Anomaly | None,
                   rng: np.random.Generator, num_samples: int) -> np.ndarray:
    """The machine's own sound for one clip (float32), normalised to unit RMS with or without an anomaly."""
    kind, severity = (anomaly.kind, anomaly.severity) if anomaly else (None, 0.0)
    physics = clip_physics(model, attributes, rng)
    if model.family == "ventilator":
        return unit(_ventilator(model, physics, anomaly, rng, num_samples))
    if kind == "resonance_shift":
        physics = replace(physics, resonance=physics.resonance * (1 + 0.05 * severity))
    jittery = kind == "jitter"
    wander = smooth_wander(num_samples, 0.03 * severity if jittery else 0.002, 15.0 if jittery else 3.0, rng)
    phase = running_phase(physics.f0, num_samples, wander, rng)
    sound = unit(_family_sound(model, physics, phase, 10.0 * severity if kind == "harmonic_change" else 0.0,
                                0.15 * severity if jittery else 0.02, rng))
    if kind == "fault_tone":
        sound = sound + 0.3 * severity * unit(_fault_tone(phase, model))
    elif kind == "rubbing":
        sound = sound + 0.04 * severity * unit(_rubbing(num_samples, phase, rng))
    elif kind == "extra_impacts":
        rattle = impacts(num_samples, 1.0, 1.15 * physics.resonance, physics.damping, 0.5, rng,
                          extra_per_second=1.5 * severity)
        sound = sound + 0.1 * severity * unit(rattle)
    return unit(sound)


# --- background -----------------------------------------------------------------------------------------
