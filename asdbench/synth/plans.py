"""Every clip of a synthetic dataset planned before any is rendered: where it goes, what it is, and the seed it is
drawn from (``np.random.SeedSequence`` of dataset seed, split, machine section, subset, domain, label and index), so
that clips can be rendered in any order, by any number of processes, and the bytes stay the same."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from asdbench.synth.noise import NOISE_KINDS
from asdbench.synth.presets import Preset, machines_of, supplemental_kind
from asdbench.synth.soundmodels import Anomaly, MachineModel, name_seed, seed_name

SPLITS, SUBSETS, DOMAINS, LABELS = ("dev", "eval"), ("train", "test"), ("source", "target"), ("normal", "anomaly")
SUPPLEMENTAL = "supplemental"  # a clip plan's subset, and the folder its clips go in
CONTENTS = ("mixture", "machine", "noise")  # what a clip holds: both, clean machine sound, noise alone
GAIN_DB = (-38.0, -28.0)  # clip RMS in dBFS; low enough that impacts never clip
SEVERITY = (0.5, 1.5)


@dataclass(frozen=True)
class ClipPlan:
    """Everything about one clip but its waveform: where it goes, what it is, and the seed it is rendered from."""

    split: str
    machine: str
    section: str
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
    content: str = "mixture"  # one of CONTENTS; only supplemental clips hold one source alone


def clip_rng(entropy: tuple[int, ...], stream: int) -> np.random.Generator:
    """Stream 0 draws a clip's plan, stream 1 its waveform: changing one never shifts the other."""
    return np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=(stream,)))


def draw(rng: np.random.Generator, options: tuple[str, ...]) -> str:
    """``str(rng.choice(options))``, the same draw from the same stream, without making an array of the options
    (a third of the time of planning a DCASE-sized preset's 60 000 clips)."""
    return options[int(rng.integers(0, len(options), dtype=np.int64))]


def plan_clip(model: MachineModel, values: dict[str, tuple[str, ...]], split: str, section: str, subset: str,
              domain: str, label: str, index: int, seed: int, snr_db: tuple[float, float],
              content: str = "mixture") -> ClipPlan:
    """The plan of one clip; ``values`` are ``model.attribute_values(domain)``."""
    # A supplemental clip's stream is keyed apart from every train and test clip (subset 2, then what it holds).
    where = (SUBSETS.index(subset), DOMAINS.index(domain)) if subset != SUPPLEMENTAL else (2, CONTENTS.index(content))
    entropy = (seed, SPLITS.index(split), name_seed(seed_name(model.name, section)), *where, LABELS.index(label),
               index)
    rng = clip_rng(entropy, 0)
    shifted = model.keys[0]  # cycled through, so even 2 target clips cover both target values
    attributes = {key: options[index % len(options)] if key == shifted else draw(rng, options)
                  for key, options in values.items()}
    anomaly = None
    if label == "anomaly":
        anomaly = Anomaly(model.anomalies[index % len(model.anomalies)], float(rng.uniform(*SEVERITY)))
    # Drawn from the clip's own generator after the attributes and whatever they are: independent of them.
    return ClipPlan(split, model.name, section, model.family, subset, domain, label, index, attributes, anomaly,
                    draw(rng, NOISE_KINDS), float(rng.uniform(*snr_db)), float(rng.uniform(*GAIN_DB)),
                    entropy, content)


def plan_clips(preset: Preset, seed: int) -> list[ClipPlan]:
    """Every clip of the dataset, machine by machine and section by section: train source, train target, the
    balanced test set, then the supplemental clips (normal source-domain sound, of which the machine's kind keeps
    one source alone)."""
    share = preset.test // (2 * len(preset.domains))  # of each domain and label
    counts = [("train", domain, "normal", preset.train_source if domain == "source" else preset.train_target)
              for domain in preset.domains]
    counts += [("test", domain, label, share) for domain in preset.domains for label in LABELS]
    models = {(split, name, section): MachineModel.for_name(name, family, section)
              for split, machines in machines_of(preset).items() for name, family in machines
              for section in preset.sections_of(split, name)}
    plans = []
    for (split, name, section), model in models.items():
        values = {domain: model.attribute_values(domain) for domain in preset.domains}
        plans += [plan_clip(model, values[domain], split, section, subset, domain, label, index, seed, preset.snr_db)
                  for subset, domain, label, count in counts for index in range(count)]
        kind = supplemental_kind(preset, name)
        plans += [plan_clip(model, values["source"], split, section, SUPPLEMENTAL, "source", "normal", index, seed,
                            preset.snr_db, kind) for index in range(preset.supplemental if kind else 0)]
    return plans
