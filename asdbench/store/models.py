"""The models a training trains: one shared by every machine type, or, with ``train.machinewise = true``, one per
machine type, or, with ``train.machinewise = "split"``, one per machine type and split; per machine type as ASDKit trains its ``ae`` recipe (``jobs/asd/recipe/ae.sh``: ``asdkit_train machine=<machine>`` in a
loop over the machine types, each with ``model_ver: ${machine}``, its own checkpoints under
``model/<machine>/checkpoints``, and the data selector ``raw/<machine>/train/*.wav``, every section of that machine
type; ``config/train/experiments/ae.yaml``, ``config/train/datamodule/audiofeat.yaml``; its extraction restores
``restore_model_ver: ${machine}``, ``config/extract/experiments/restore/machinewise.yaml``).

A machine type's model trains on its training clips of every split and section (DCASE 2020-2022: its dev and
additional-training sections together, as ASDKit's formatted ``raw/<machine>/train`` holds them), with the classes of
those clips only, for ``train.epochs`` epochs of its own clips (its steps per epoch follow from its clip count), its
weights initialised from the run's seed and each epoch seeded from (seed, epoch), as ASDKit seeds each machine's
``train.py`` with the run's seed. It embeds its machine type's units only. Where ASDKit differs: its label
dictionaries are global (``labels/<dcase>/main.json``), so a discriminative model trained on one machine type there
would carry every machine type's classes in its head; its only machinewise recipe, ``ae``, has no classes.

``"split"`` is the DCASE 2020-2022 baselines' way (e.g. the 2021/2022 MobileNetV2 baseline's ``00_train.py``, run once
with ``--dev`` on ``dev_data/<machine>/train`` and once with ``--eval`` on ``eval_data/<machine>/train``, each time a
model per machine type): a machine type's model of one split trains on that split's training clips of the machine
type only, with their classes only, and embeds that split's units of the machine type; it is named
``<split>.<machine>`` (its units' keys begin so) where a per-machine-type model is named ``<machine>``.

Layout: a shared model keeps its checkpoints in ``checkpoints/``, another model in ``checkpoints/<its name>/``. One
training directory holds them all (not a training per machine type): a run's identity, claim, data and code records,
embeddings file (keyed by unit as always), resume, scorings and results stay one per run, and every machine type's
model is computed, resumed and removed with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import torch

from asdbench.contract.registry import Registry
from asdbench.data.clips import ClipSource
from asdbench.data.labels import build_labels
from asdbench.data.units import Unit
from asdbench.store.modelnames import model_name
from asdbench.training.embed import UnitClips
from asdbench.training.system import System, build_system

CHECKPOINTS = "checkpoints"

U = TypeVar("U", bound=Unit)


@dataclass
class Model:
    """One model of a training and what it trains on: ``machine`` is its name (its machine type, or
    ``<split>.<machine>`` for ``train.machinewise = "split"``), None for a shared model."""

    machine: str | None
    system: System
    training_clips: ClipSource
    targets: np.ndarray
    """One class index per training clip."""
    num_classes: int
    class_names: list[str]
    """The class of each index, as :func:`asdbench.data.labels.build_labels` names them."""
    initial_state: dict[str, torch.Tensor]
    units: list[UnitClips]
    """The units this model embeds."""
    checkpoint_dir: Path


def model_units(units: Sequence[U], machinewise: bool | str) -> list[tuple[str | None, list[U]]]:
    """(model name, its units) per model: one model of every unit, one per machine type, or one per machine type
    and split (``machinewise = "split"``), by name."""
    names = sorted({model_name(unit, machinewise) for unit in units}, key=lambda name: name or "")
    return [(name, [unit for unit in units if model_name(unit, machinewise) == name]) for name in names]


def checkpoint_dir(training_dir: Path, machine: str | None) -> Path:
    """Where a model of the training in ``training_dir`` keeps its checkpoints."""
    return training_dir / CHECKPOINTS if machine is None else training_dir / CHECKPOINTS / machine


def build_model(machine: str | None, units: list[UnitClips], system_spec: dict[str, Any], labels: str,
                overrides: pd.Series | None, registry: Registry, *, seed: int, num_samples: int,
                training_dir: Path) -> Model:
    """A model of ``units``' training clips and their classes, its weights initialised from ``seed``."""
    train_rows = pd.concat([u.train for u in units], ignore_index=True)
    classes = build_labels(train_rows, labels, overrides)
    torch.manual_seed(seed)  # the weights' initial values
    system = build_system(system_spec, registry, num_classes=classes.num_classes, num_samples=num_samples)
    return Model(machine, system, ClipSource([group for u in units for group in u.train_clips.groups]),
                 classes.indices, classes.num_classes, classes.names,
                 {key: value.clone() for key, value in system.state_dict().items()}, units,
                 checkpoint_dir(training_dir, machine))
