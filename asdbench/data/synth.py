"""``asdbench synth``: a synthetic dataset in exactly the official DCASE layouts, deterministic per seed.

Every clip = a machine sound (asdbench.data.soundmodels) whose attributes set its parameters, plus background
noise whose kind and SNR are drawn independently of the attributes, at a random overall gain. The target
domain uses values of one attribute that the source domain never has, with few target training clips.
2024-style presets hide some machines' attributes (``noAttribute`` in names and attribute tables); their truth
is written apart, as the organisers released it, for the ground-truth upper-bound row.

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

from asdbench.data.layout import (
    NO_ATTRIBUTE,
    SAMPLE_RATE,
    EvalTruth,
    attribute_string,
    clip_file_name,
    eval_test_file_name,
    write_attributes_csv,
    write_ground_truth,
    write_hidden_attributes,
    write_wav,
)
from asdbench.data.soundmodels import NOISE_KINDS, Anomaly, MachineModel, mix_clip, name_seed, \
    render_machine, render_noise
from asdbench.errors import DataError
from asdbench.progress import progress_bar

GENERATOR_VERSION = 4  # 3: hidden attributes in the organisers' layout; 4: two keys, one target combination per target value
INFO_FILE = "synth.json"
PARTIAL_FILE = ".synth-partial.json"
# (name, sound family). The small presets take the first machines of each list; every second one is hidden.
DEV_MACHINES = (("fan", "rotor"), ("gearbox", "gear"), ("valve", "impact"), ("slider", "motor"),
                ("bearing", "rotor"), ("ToyCar", "motor"), ("ToyTrain", "impact"))
EVAL_MACHINES = (("ToyTank", "gear"), ("HoveringDrone", "rotor"), ("grinder", "motor"), ("AirCompressor", "flow"),
                 ("bandsaw", "gear"), ("ToothBrush", "motor"), ("shaker", "impact"))
# 2024 style: 3 of 7 dev and 4 of 7 eval machines carry noAttribute, as in DCASE 2024.
HIDDEN_2024 = frozenset({"gearbox", "slider", "ToyTrain", "HoveringDrone", "AirCompressor", "ToothBrush", "shaker"})
SPLITS, SUBSETS, DOMAINS, LABELS = ("dev", "eval"), ("train", "test"), ("source", "target"), ("normal", "anomaly")
SNR_DB = (0.0, 15.0)
GAIN_DB = (-38.0, -28.0)  # clip RMS in dBFS; low enough that impacts never clip
SEVERITY = (0.5, 1.5)
POOL_MIN_AUDIO_SECONDS = 1000.0  # below this much audio, starting worker processes costs more than it saves


@dataclass(frozen=True)
class Preset:
    """Clip length, machines per split, and clips per machine of a synthetic dataset."""

    seconds: float
    machines_per_split: int
    train_source: int
    train_target: int
    test: int  # balanced: a quarter each of source/target x normal/anomaly
    year: int  # 2023: every machine attributed; 2024: some machines' attributes hidden

    @property
    def clips_per_machine(self) -> int:
        return self.train_source + self.train_target + self.test


PRESETS: dict[str, Preset] = {
    "tiny": Preset(1.0, 2, 10, 2, 8, 2024),
    "ci": Preset(2.0, 4, 90, 6, 40, 2024),
    "demo": Preset(4.0, 4, 190, 10, 60, 2024),
    "dcase2023": Preset(10.0, 7, 990, 10, 200, 2023),
    "dcase2024": Preset(10.0, 7, 990, 10, 200, 2024),
}


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

    def __str__(self) -> str:
        return (f"synthetic {self.year}-style dataset '{self.preset}' (seed {self.seed}): "
                f"{sum(map(len, self.machines.values()))} machines, {self.clips} clips of {self.seconds:g} s")


@dataclass(frozen=True)
class ClipPlan:
    """Everything about one clip but its waveform: where it goes, what it is, and the seed it is rendered from."""

    split: str
    machine: str
    family: str
    subset: str
    domain: str
    label: str
    index: int
    attributes: dict[str, str]
    anomaly: Anomaly | None
    noise: str
    snr_db: float
    gain_db: float
    entropy: tuple[int, ...] = field(repr=False)


def machines_of(preset: Preset) -> dict[str, tuple[tuple[str, str], ...]]:
    """(name, family) of the machines of each split."""
    return {"dev": DEV_MACHINES[: preset.machines_per_split], "eval": EVAL_MACHINES[: preset.machines_per_split]}


def is_hidden(preset: Preset, machine: str) -> bool:
    return preset.year == 2024 and machine in HIDDEN_2024


def _clip_rng(entropy: tuple[int, ...], stream: int) -> np.random.Generator:
    """Stream 0 draws a clip's plan, stream 1 its waveform: changing one never shifts the other."""
    return np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=(stream,)))


def _plan_clip(model: MachineModel, split: str, subset: str, domain: str, label: str, index: int,
               seed: int) -> ClipPlan:
    entropy = (seed, SPLITS.index(split), name_seed(model.name), SUBSETS.index(subset), DOMAINS.index(domain),
               LABELS.index(label), index)
    rng = _clip_rng(entropy, 0)
    values = model.attribute_values(domain)
    shifted = model.keys[0]  # cycled through, so even 2 target clips cover both target values
    attributes = {key: options[index % len(options)] if key == shifted else str(rng.choice(options))
                  for key, options in values.items()}
    anomaly = None
    if label == "anomaly":
        anomaly = Anomaly(model.anomalies[index % len(model.anomalies)], float(rng.uniform(*SEVERITY)))
    # Drawn from the clip's own generator after the attributes and whatever they are: independent of them.
    return ClipPlan(split, model.name, model.family, subset, domain, label, index, attributes, anomaly,
                    str(rng.choice(NOISE_KINDS)), float(rng.uniform(*SNR_DB)), float(rng.uniform(*GAIN_DB)),
                    entropy)


def plan_clips(preset: Preset, seed: int) -> list[ClipPlan]:
    """Every clip of the dataset, machine by machine: train source, train target, then the balanced test set."""
    quarter = preset.test // 4
    counts = [("train", "source", "normal", preset.train_source), ("train", "target", "normal", preset.train_target)]
    counts += [("test", domain, label, quarter) for domain in DOMAINS for label in LABELS]
    models = {(split, name): MachineModel.for_name(name, family)
              for split, machines in machines_of(preset).items() for name, family in machines}
    return [
        _plan_clip(model, split, subset, domain, label, index, seed)
        for (split, _), model in models.items()
        for subset, domain, label, count in counts
        for index in range(count)
    ]


def render(plan: ClipPlan, seconds: float) -> np.ndarray:
    """The waveform of one clip (float32, 16 kHz), from the clip's own seed."""
    rng = _clip_rng(plan.entropy, 1)
    samples = int(round(seconds * SAMPLE_RATE))
    machine = render_machine(MachineModel.for_name(plan.machine, plan.family), plan.attributes, plan.anomaly, rng,
                             samples)
    noise = render_noise(plan.noise, rng, samples)
    return mix_clip(machine, noise, plan.snr_db, plan.gain_db)


def _render_to(job: tuple[ClipPlan, float, Path]) -> None:
    plan, seconds, path = job
    write_wav(path, render(plan, seconds))


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
    names = _file_names(plans, config, seed)
    jobs = [(plan, config.seconds, out / f"{plan.split}_data" / "raw" / plan.machine / plan.subset / name)
            for plan, (name, _) in zip(plans, names)]
    _render_all([job for job in jobs if not job[2].exists()], len(jobs), workers, preset, progress)
    _write_tables(out, plans, names, config)
    _write_json(out / INFO_FILE, asdict(info))  # last: its presence marks a finished dataset
    (out / PARTIAL_FILE).unlink()
    return info


def _describe(preset: str, seed: int, config: Preset) -> SynthInfo:
    machines = machines_of(config)
    return SynthInfo(
        preset=preset, seed=seed, year=config.year,
        machines={split: [name for name, _ in pairs] for split, pairs in machines.items()},
        families={name: family for pairs in machines.values() for name, family in pairs},
        hidden=sorted(name for pairs in machines.values() for name, _ in pairs if is_hidden(config, name)),
        clips=2 * config.machines_per_split * config.clips_per_machine, seconds=config.seconds,
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
    _write_json(out / PARTIAL_FILE, asdict(info))
    return None


def _remove_temporaries(out: Path) -> None:
    """A killed run leaves hidden temporary files (``.name.pid.tmp...``) behind; readers would trip on them."""
    for path in out.rglob(".*.tmp*"):
        if path.is_file():
            path.unlink()


def _render_all(jobs: list[tuple[ClipPlan, float, Path]], total: int, workers: int | None, preset: str,
                progress: bool) -> None:
    if workers is None:
        audio_seconds = sum(seconds for _, seconds, _ in jobs)
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


def _file_names(plans: list[ClipPlan], preset: Preset, seed: int) -> list[tuple[str, int]]:
    """(file name, index in it) of every clip, as distributed: eval test clips get short names, numbered in a
    shuffled order that reveals nothing; their full names in the ground truth carry the same number."""
    short: dict[int, int] = {}
    for machine in sorted({p.machine for p in plans if p.split == "eval"}):
        tests = [i for i, p in enumerate(plans) if p.split == "eval" and p.subset == "test" and p.machine == machine]
        order = np.random.default_rng(np.random.SeedSequence((seed, name_seed(machine)), spawn_key=(2,)))
        short.update(zip(tests, order.permutation(len(tests)).tolist()))
    return [
        (eval_test_file_name(short[position]), short[position]) if position in short
        else (_labelled_name(plan, plan.index, hidden=is_hidden(preset, plan.machine)), plan.index)
        for position, plan in enumerate(plans)
    ]


def _labelled_name(plan: ClipPlan, index: int, *, hidden: bool) -> str:
    tail = NO_ATTRIBUTE if hidden else attribute_string(plan.attributes)
    return clip_file_name(plan.subset, plan.domain, plan.label, index, tail)


def _write_tables(out: Path, plans: list[ClipPlan], names: list[tuple[str, int]], preset: Preset) -> None:
    """attributes_00.csv per machine; for eval test clips the evaluator's ground truth; for hidden machines
    the released correspondence of file names to full names with the true attributes."""
    by_machine: dict[tuple[str, str], list[tuple[ClipPlan, str, int]]] = {}
    for plan, (name, index) in zip(plans, names):
        by_machine.setdefault((plan.split, plan.machine), []).append((plan, name, index))
    for (split, machine), clips in by_machine.items():
        hidden = is_hidden(preset, machine)
        rows, truth, correspondence = [], [], {"train": [], "test": []}
        for plan, name, index in clips:
            full = _labelled_name(plan, index, hidden=False)
            if split == "eval" and plan.subset == "test":
                truth.append(EvalTruth(name, _labelled_name(plan, index, hidden=hidden), full,
                                       plan.label == "anomaly", plan.domain == "target"))
            else:
                rows.append((plan.subset, name, {} if hidden else plan.attributes))
            if hidden:
                correspondence[plan.subset].append((name, full))
        write_attributes_csv(out / f"{split}_data" / "raw" / machine, machine, rows)
        if truth:
            write_ground_truth(out / "ground_truth", machine, truth)
        for subset, pairs in correspondence.items():
            if pairs:
                write_hidden_attributes(out / "hidden_attributes", split, machine, subset, pairs)
