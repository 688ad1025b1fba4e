"""``asdbench synth``: a synthetic dataset in exactly the official DCASE layouts, deterministic per seed.

Every clip = a machine sound (asdbench.data.soundmodels) whose attributes set its parameters, plus background
noise whose kind and SNR are drawn independently of the attributes, at a random overall gain. The target
domain uses attribute values the source domain never has, with few target training clips. 2024-style
presets hide some machines' attributes (``noAttribute`` in names and attribute tables); their truth is
written apart, as the organisers released it, for the ground-truth upper-bound row.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from asdbench.data.layout import (
    NO_ATTRIBUTE,
    EvalTruth,
    attribute_string,
    clip_file_name,
    eval_test_file_name,
    write_attributes_csv,
    write_ground_truth,
    write_hidden_attributes,
    write_wav,
)
from asdbench.data.soundmodels import ANOMALIES, NOISE_KINDS, SAMPLE_RATE, MachineModel, mix_clip, render_machine, \
    render_noise
from asdbench.errors import DataError

GENERATOR_VERSION = 1
# (name, family); the first names of each list are used by the small presets.
DEV_MACHINES = [("fan", "rotor"), ("gearbox", "gear"), ("valve", "impact"), ("slider", "impact"),
                ("bearing", "rotor"), ("ToyCar", "motor"), ("ToyTrain", "gear")]
EVAL_MACHINES = [("ToyTank", "flow"), ("HoveringDrone", "motor"), ("grinder", "gear"), ("AirCompressor", "flow"),
                 ("bandsaw", "impact"), ("ToothBrush", "motor"), ("shaker", "rotor")]
HIDDEN_2024 = {"gearbox", "slider", "ToyTrain", "HoveringDrone", "AirCompressor", "ToothBrush"}


@dataclass(frozen=True)
class Preset:
    seconds: float
    machines_per_split: int
    train_source: int
    train_target: int
    test: int
    year: int


PRESETS: dict[str, Preset] = {
    "tiny": Preset(1.0, 2, 10, 2, 8, 2024),
    "ci": Preset(2.0, 4, 90, 6, 40, 2024),
    "demo": Preset(4.0, 4, 190, 10, 60, 2024),
    "dcase2023": Preset(10.0, 7, 990, 10, 200, 2023),
    "dcase2024": Preset(10.0, 7, 990, 10, 200, 2024),
}


@dataclass(frozen=True)
class SynthInfo:
    preset: str
    seed: int
    year: int
    machines: dict[str, list[str]]
    hidden: list[str]
    clips: int
    seconds: float
    generator_version: int = GENERATOR_VERSION

    def __str__(self) -> str:
        return (f"synthetic {self.year}-style dataset '{self.preset}' (seed {self.seed}): "
                f"{sum(map(len, self.machines.values()))} machines, {self.clips} clips of {self.seconds:g} s")


@dataclass(frozen=True)
class ClipPlan:
    split: str
    machine: str
    family: str
    subset: str
    domain: str
    anomaly: str | None
    attributes: dict[str, str]
    index: int
    position: int

    @property
    def label(self) -> str:
        return "anomaly" if self.anomaly else "normal"


def machines_of(preset: Preset) -> dict[str, list[tuple[str, str]]]:
    pick = preset.machines_per_split
    if pick > len(DEV_MACHINES):
        raise DataError(f"presets have at most {len(DEV_MACHINES)} machines per split")
    return {"dev": DEV_MACHINES[:pick], "eval": EVAL_MACHINES[:pick]}


def is_hidden(preset: Preset, machine: str) -> bool:
    return preset.year == 2024 and machine in HIDDEN_2024


def plan_clips(preset: Preset, seed: int) -> list[ClipPlan]:
    """Every clip of the dataset: where it goes, what it is, and the seed it is rendered from."""
    plans = []
    for split, machines in machines_of(preset).items():
        for machine_index, (name, family) in enumerate(machines):
            model = MachineModel.for_name(name, family)
            rng = np.random.default_rng([seed, 1 if split == "eval" else 0, machine_index])
            anomaly_kinds = [a for a in ANOMALIES if a != "extra_impacts" or family in ("impact", "rotor")]
            layout = [("train", "source", False, preset.train_source), ("train", "target", False, preset.train_target)]
            half = preset.test // 4
            layout += [("test", d, a, half) for d in ("source", "target") for a in (False, True)]
            for subset, domain, anomalous, count in layout:
                choices = model.attribute_choices(domain)
                for index in range(count):
                    attributes = {k: str(rng.choice(v)) for k, v in choices.items()}
                    anomaly = str(rng.choice(anomaly_kinds)) if anomalous else None
                    plans.append(ClipPlan(split, name, family, subset, domain, anomaly, attributes, index,
                                          len(plans)))
    return plans


def render(plan: ClipPlan, seconds: float, seed: int) -> np.ndarray:
    """One clip, from its own generator seeded by (dataset seed, clip position): any order gives the same bytes."""
    rng = np.random.default_rng([seed, plan.position])
    samples = int(round(seconds * SAMPLE_RATE))
    machine = render_machine(MachineModel.for_name(plan.machine, plan.family), plan.attributes, plan.anomaly, rng,
                             samples)
    noise = render_noise(str(rng.choice(NOISE_KINDS)), rng, samples)
    return mix_clip(machine, noise, snr_db=rng.uniform(0, 15), gain_db=rng.uniform(-36, -28)).astype(np.float32)


def _render_to(job: tuple[ClipPlan, float, int, Path]) -> None:
    plan, seconds, seed, path = job
    write_wav(path, render(plan, seconds, seed))


def generate(out: Path, preset: str, seed: int = 0, *, progress: bool = True) -> SynthInfo:
    """Write the dataset ``preset`` into ``out``; a finished identical dataset there is left as it is."""
    if preset not in PRESETS:
        raise DataError(f"unknown synth preset {preset!r}; presets: {', '.join(PRESETS)}")
    if seed < 0:
        raise DataError(f"synth seed must be non-negative, got {seed}")
    config = PRESETS[preset]
    out = Path(out)
    existing = _existing(out, preset, seed)
    if existing is not None:
        return existing
    plans = plan_clips(config, seed)
    eval_names = _eval_test_names(plans, seed)
    jobs = [(plan, config.seconds, seed, out / f"{plan.split}_data" / "raw" / plan.machine / plan.subset /
             _file_name(plan, config, eval_names)) for plan in plans]
    workers = min(os.cpu_count() or 1, 8) if len(jobs) > 2000 else 1
    bar = tqdm(total=len(jobs), desc=f"synth {preset}", unit="clip", disable=not progress)
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            for _ in pool.map(_render_to, jobs, chunksize=32):
                bar.update()
    else:
        for job in jobs:
            _render_to(job)
            bar.update()
    bar.close()
    _write_tables(out, plans, config, eval_names)
    machines = {split: [name for name, _ in names] for split, names in machines_of(config).items()}
    info = SynthInfo(preset, seed, config.year, machines,
                     sorted(m for ms in machines.values() for m in ms if is_hidden(config, m)), len(plans),
                     config.seconds)
    temporary = out / ".synth.json.tmp"
    temporary.write_text(json.dumps(asdict(info), indent=2) + "\n")
    os.replace(temporary, out / "synth.json")  # last: its presence marks a finished dataset
    return info


def _existing(out: Path, preset: str, seed: int) -> SynthInfo | None:
    if not out.exists() or not any(out.iterdir()):
        return None
    info_file = out / "synth.json"
    if info_file.exists():
        info = json.loads(info_file.read_text())
        if (info.get("preset"), info.get("seed"), info.get("generator_version")) == (preset, seed, GENERATOR_VERSION):
            return SynthInfo(**info)
        raise DataError(f"{out} holds another synthetic dataset ({info.get('preset')}, seed {info.get('seed')}); "
                        "choose an empty directory")
    raise DataError(f"{out} is not empty and holds no finished synthetic dataset (no synth.json); "
                    "choose an empty directory or delete it")


def _file_name(plan: ClipPlan, preset: Preset, eval_names: dict[int, str]) -> str:
    if plan.split == "eval" and plan.subset == "test":
        return eval_names[plan.position]
    shown = NO_ATTRIBUTE if is_hidden(preset, plan.machine) else attribute_string(plan.attributes)
    return clip_file_name(plan.subset, plan.domain, plan.label, plan.index, shown)


def _eval_test_names(plans: list[ClipPlan], seed: int) -> dict[int, str]:
    """Eval test clips get short names in a shuffled order, so the name reveals nothing."""
    names = {}
    for machine in sorted({p.machine for p in plans if p.split == "eval"}):
        tests = [p for p in plans if p.split == "eval" and p.subset == "test" and p.machine == machine]
        order = np.random.default_rng([seed, 7, len(names)]).permutation(len(tests))
        for plan, position in zip(tests, order):
            names[plan.position] = eval_test_file_name(int(position))
    return names


def _write_tables(out: Path, plans: list[ClipPlan], preset: Preset, eval_names: dict[int, str]) -> None:
    by_machine: dict[tuple[str, str], list[ClipPlan]] = {}
    for plan in plans:
        by_machine.setdefault((plan.split, plan.machine), []).append(plan)
    for (split, machine), machine_plans in by_machine.items():
        hidden = is_hidden(preset, machine)
        machine_dir = out / f"{split}_data" / "raw" / machine
        rows, truth, hidden_rows = [], [], {"train": [], "test": []}
        for plan in machine_plans:
            name = _file_name(plan, preset, eval_names)
            full = clip_file_name(plan.subset, plan.domain, plan.label, _short_index(name, plan),
                                  attribute_string(plan.attributes))
            if not (split == "eval" and plan.subset == "test"):
                rows.append((plan.subset, name, {} if hidden else plan.attributes))
            else:
                labelled = clip_file_name("test", plan.domain, plan.label, _short_index(name, plan),
                                          NO_ATTRIBUTE if hidden else attribute_string(plan.attributes))
                truth.append(EvalTruth(name, labelled, full, plan.anomaly is not None, plan.domain == "target"))
            if hidden:
                hidden_rows[plan.subset].append((name, full))
        write_attributes_csv(machine_dir, machine, rows)
        if truth:
            write_ground_truth(out / "ground_truth", machine, truth)
        for subset, subset_rows in hidden_rows.items():
            if subset_rows:
                write_hidden_attributes(out / "hidden_attributes", split, machine, subset, subset_rows)


def _short_index(name: str, plan: ClipPlan) -> int:
    return int(name.removesuffix(".wav").split("_")[2]) if plan.split == "eval" and plan.subset == "test" \
        else plan.index

