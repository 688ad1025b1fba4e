"""``asdbench synth``: a synthetic dataset in exactly the official DCASE layouts, deterministic per seed.

Every clip = a machine sound (asdbench.synth.soundmodels) whose attributes set its parameters, plus background
noise whose kind and SNR are drawn independently of the attributes, at a random overall gain. The target
domain uses values of one attribute that the source domain never has, with few target training clips.
2024-style presets hide some machines' attributes (``noAttribute`` in names and attribute tables); their truth
is written apart, as the organisers released it, for the ground-truth upper-bound row. 2025-style presets add a
``supplemental/`` folder per machine, of clean machine sound or of noise alone; 2026-style files have two channels,
the near microphone (channel 0, the clip a mono preset would write) and a far one (more noise, a little later).
Which style each preset follows, and its machines, are in asdbench.synth.presets.

Each clip is drawn from its own seed, derived with ``np.random.SeedSequence`` from (dataset seed, split,
machine, subset, domain, label, index): clips can be rendered in any order, by any number of processes, and
the bytes stay the same. ``synth.json`` is written last; until then a ``.synth-partial.json`` marks the
directory as an unfinished dataset that the same command resumes.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from asdbench.compat import SYNTH_INFO_OMITTED_AT_DEFAULT
from asdbench.data.layout import (
    INFO_FILE,
    SAMPLE_RATE,
    write_wav,
)
from asdbench.errors import DataError
from asdbench.runtime.progress import progress_bar
from asdbench.synth.naming import clip_folder, file_names, write_tables
from asdbench.synth.noise import mix_clip, render_noise
from asdbench.synth.plans import SUPPLEMENTAL, ClipPlan, clip_rng, plan_clips
from asdbench.synth.presets import PRESETS, Preset, is_hidden, machines_of, supplemental_kind
from asdbench.synth.soundmodels import MachineModel, render_machine

GENERATOR_VERSION = 4  # 3: hidden attributes in the organisers' layout; 4: two keys, one target combination per target value
# (the 2025 and 2026 styles came later without changing a byte of the presets before them: still version 4)
PARTIAL_FILE = ".synth-partial.json"
FAR_SNR_DROP_DB = 10.0  # the far microphone hears the machine this much weaker against the noise
FAR_GAIN_DROP_DB = 6.0
FAR_DELAY_SAMPLES = (8, 48)  # 0.5-3 ms later than the near microphone
POOL_MIN_AUDIO_SECONDS = 1000.0  # below this much audio, starting worker processes costs more than it saves


@dataclass(frozen=True)
class SynthInfo:
    """What ``synth.json`` records: enough for a reader to know the conventions and for a rerun to match."""

    preset: str
    seed: int
    year: int
    machines: dict[str, list[str]]
    families: dict[str, str]
    hidden: list[str]
    clips: int
    seconds: float
    sample_rate: int = SAMPLE_RATE
    generator_version: int = GENERATOR_VERSION
    channels: int = 1
    supplemental: dict[str, str] = field(default_factory=dict)  # machine -> "machine" or "noise"
    sections: dict[str, list[str]] = field(default_factory=dict)  # split -> sections, where not the year's

    def __str__(self) -> str:
        return (f"synthetic {self.year}-style dataset '{self.preset}' (seed {self.seed}): "
                f"{sum(map(len, self.machines.values()))} machines, {self.clips} clips of {self.seconds:g} s")

    def to_json(self) -> dict:
        """What ``synth.json`` holds: ``channels``, ``supplemental`` and ``sections`` only where they are set
        (:data:`asdbench.compat.SYNTH_INFO_OMITTED_AT_DEFAULT`)."""
        fields = asdict(self)
        for name, unset in SYNTH_INFO_OMITTED_AT_DEFAULT.items():
            if fields[name] == unset:
                del fields[name]
        return fields


def render(plan: ClipPlan, seconds: float, channels: int = 1) -> np.ndarray:
    """The waveform of one clip (float32, 16 kHz; ``(samples, 2)`` for two channels), from the clip's own seed.

    Channel 0 is what a mono preset writes; the far channel is drawn after it, so it changes nothing there."""
    rng = clip_rng(plan.entropy, 1)
    samples = int(round(seconds * SAMPLE_RATE))
    machine = render_machine(MachineModel.for_name(plan.machine, plan.family, plan.section), plan.attributes,
                             plan.anomaly, rng, samples)
    noise = render_noise(plan.noise, rng, samples)
    near = _mix(plan.content, machine, noise, plan.snr_db, plan.gain_db)
    if channels == 1:
        return near
    delay = int(rng.integers(*FAR_DELAY_SAMPLES))
    late = np.concatenate([np.zeros(delay, dtype=machine.dtype), machine[:-delay]])
    far = _mix(plan.content, late, render_noise(plan.noise, rng, samples), plan.snr_db - FAR_SNR_DROP_DB,
               plan.gain_db - FAR_GAIN_DROP_DB)
    return np.stack([near, far], axis=1)


def _mix(content: str, machine: np.ndarray, noise: np.ndarray, snr_db: float, gain_db: float) -> np.ndarray:
    """The clip a microphone records: both sources, or one alone for a supplemental clip, at ``gain_db``."""
    if content == "machine":
        noise = np.zeros_like(noise)
    elif content == "noise":
        machine = np.zeros_like(machine)
    return mix_clip(machine, noise, snr_db, gain_db)


def _render_to(job: tuple[ClipPlan, float, int, Path]) -> None:
    plan, seconds, channels, path = job
    write_wav(path, render(plan, seconds, channels))


def generate(out: Path, preset: str, seed: int = 0, *, progress: bool = True, workers: int | None = None) -> SynthInfo:
    """Write the dataset ``preset`` into ``out`` and return its description.

    ``out`` must be absent or empty, hold the finished dataset of the same preset and seed (returned as it is),
    or an unfinished one of them (resumed). ``workers`` processes render the clips (default: every core for
    large presets, 1 for small ones); the bytes written do not depend on it. Worker processes are spawned, so
    a script that calls this must do so under ``if __name__ == "__main__":``.
    """
    if preset not in PRESETS:
        raise DataError(f"unknown synth preset {preset!r}; presets: {', '.join(PRESETS)}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise DataError(f"synth seed must be a non-negative integer, got {seed!r}")
    if workers is not None and workers < 1:
        raise DataError(f"synth workers must be at least 1, got {workers}")
    config = PRESETS[preset]
    out = Path(out)
    info = _describe(preset, seed, config)
    finished = _claim(out, info)
    if finished is not None:
        return finished
    plans = plan_clips(config, seed)
    names = file_names(plans, config, seed)
    channels = config.channels
    jobs = [(plan, config.seconds, channels, clip_folder(out, plan, config) / name) for plan, (name, _) in zip(plans, names)]
    _render_all([job for job in jobs if not job[3].exists()], len(jobs), workers, preset, progress)
    write_tables(out, [(plan, name) for plan, name in zip(plans, names) if plan.subset != SUPPLEMENTAL], config)
    _write_json(out / INFO_FILE, info.to_json())  # last: its presence marks a finished dataset
    (out / PARTIAL_FILE).unlink()
    return info


def _describe(preset: str, seed: int, config: Preset) -> SynthInfo:
    machines = machines_of(config)
    names = [name for pairs in machines.values() for name, _ in pairs]
    return SynthInfo(
        preset=preset, seed=seed, year=config.year,
        machines={split: [name for name, _ in pairs] for split, pairs in machines.items()},
        families={name: family for pairs in machines.values() for name, family in pairs},
        hidden=sorted(name for name in names if is_hidden(config, name)),
        clips=sum(len(config.sections_of(split, name)) for split, pairs in machines.items() for name, _ in pairs)
        * config.clips_per_machine, seconds=config.seconds, channels=config.channels,
        supplemental={name: kind for name in names if (kind := supplemental_kind(config, name))},
        sections={split: list(sections) for split, sections in config.own_sections.items()}
        if config.own_sections else {},
    )


def _identity(info: SynthInfo | dict) -> tuple:
    fields = info if isinstance(info, dict) else asdict(info)
    return fields.get("preset"), fields.get("seed"), fields.get("generator_version")


def _read_json(path: Path) -> dict:
    try:
        content = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise DataError(f"{path} is not a readable synth description ({exc}); delete the directory and rerun") \
            from exc
    if not isinstance(content, dict):
        raise DataError(f"{path} is not a synth description (expected a JSON object)")
    return content


def _write_json(path: Path, content: dict) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(content, indent=2) + "\n")
    os.replace(temporary, path)


def _claim(out: Path, info: SynthInfo) -> SynthInfo | None:
    """Make ``out`` ours to write, or return the finished identical dataset found there; refuse anything else."""
    wanted = f"preset {info.preset!r}, seed {info.seed}, generator version {info.generator_version}"
    if out.exists() and not out.is_dir():
        raise DataError(f"{out} is a file; synth writes a dataset directory")
    if (out / INFO_FILE).exists():
        found = _read_json(out / INFO_FILE)
        if _identity(found) == _identity(info):
            return SynthInfo(**found)
        raise DataError(f"{out} holds another synthetic dataset (preset {found.get('preset')!r}, seed "
                        f"{found.get('seed')}, generator version {found.get('generator_version')}); wanted "
                        f"{wanted}: choose an empty directory")
    if (out / PARTIAL_FILE).exists():
        found = _read_json(out / PARTIAL_FILE)
        if _identity(found) != _identity(info):
            raise DataError(f"{out} holds an unfinished synthetic dataset of preset {found.get('preset')!r}, seed "
                            f"{found.get('seed')}; wanted {wanted}: rerun with those or choose an empty directory")
        _remove_temporaries(out)
        return None
    if out.exists() and any(out.iterdir()):
        raise DataError(f"{out} is not empty and holds no synthetic dataset (no {INFO_FILE}); "
                        "choose an empty directory")
    out.mkdir(parents=True, exist_ok=True)
    _write_json(out / PARTIAL_FILE, info.to_json())
    return None


def _remove_temporaries(out: Path) -> None:
    """A killed run leaves hidden temporary files (``.name.pid.tmp...``) behind; readers would trip on them."""
    for path in out.rglob(".*.tmp*"):
        if path.is_file():
            path.unlink()


def _render_all(jobs: list[tuple[ClipPlan, float, int, Path]], total: int, workers: int | None, preset: str,
                progress: bool) -> None:
    if workers is None:
        audio_seconds = sum(seconds * channels for _, seconds, channels, _ in jobs)
        workers = min(_usable_cores(), 8) if audio_seconds >= POOL_MIN_AUDIO_SECONDS else 1
    with progress_bar(total=total, initial=total - len(jobs), desc=f"synth {preset}", unit="clip",
                      disable=not progress) as bar:
        if workers == 1:
            for job in jobs:
                _render_to(job)
                bar.update()
            return
        # spawn: the caller may hold threads (torch, BLAS) that a forked child must not inherit
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            for _ in pool.map(_render_to, jobs, chunksize=16):
                bar.update()


def _usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
