"""A run in two stages: its training (train, keep checkpoints, embed every clip) and its scoring (a backend
on the stored embeddings, a checkpoint ensemble, official score files, metrics). The store
(:mod:`asdbench.store.store`) decides which stages a run needs and holds their locks; this module does the work.

A training directory, ``<store>/<training hash>/``, holds::

    training.json      the training part of the canonical spec (asdbench.spec.identity.training_identity)
    provenance.json    versions, git checkouts, device, host, command line, start and end (asdbench.store.provenance)
    code.json          the fingerprint of the code it is trained with (asdbench.store.codeprint)
    data.json          the fingerprint of the data it was made on (asdbench.store.datacheck)
    checkpoints/       epoch_XXX.pt for the epochs kept, and last.pt, the resume point, only while the latest
                       epoch trained is not one of them (none for train.epochs = 0); with train.machinewise,
                       one folder of them per machine type, checkpoints/<machine>/ (asdbench.store.models)
    history.json       each epoch's mean loss, wall time and end (asdbench.store.history)
    progress.json      where its training is, written as it goes (asdbench.runtime.epochrecord); a machinewise
                       training counts the epochs of its machine types' models one after the other
    embeddings/        epoch_XXX.npz: z_cat of every train and test clip at that epoch (epoch_000.npz only, of
                       the system as built, for train.epochs = 0)
    trained.json       written when every epoch is trained: the number of classes, their names (``classes``, in
                       index order) and the pseudo-labels it trained on (a machinewise training: each model's,
                       by model name)

and each of its scorings, ``<training directory>/<scoring hash>/``::

    spec.json          the run's whole canonical spec
    provenance.json    as a training's, of the scoring (no device)
    code.json          the fingerprint of the code it is scored with (asdbench.store.codeprint)
    scores/<split>/    official anomaly_score_* and decision_result_* files
    results.json       metrics per split, written last: its presence marks a finished run
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from asdbench.contract.protocols import TrainedSystems
from asdbench.contract.registry import Registry
from asdbench.data.audio import SAMPLE_RATE, AudioCache
from asdbench.data.clips import ClipSource
from asdbench.data.labels import unit_class_index
from asdbench.data.units import Unit, units_of
from asdbench.data.years import year_facts
from asdbench.errors import SpecError
from asdbench.files.atomic import write_json_atomic
from asdbench.files.damaged import set_aside
from asdbench.runtime.devices import default_device
from asdbench.scoring.ensemble import CheckedBackend, ensemble_scores, evaluate_split, write_split
from asdbench.spec.identity import RunSpec, training_identity
from asdbench.spec.schema import PSEUDO_PREFIX
from asdbench.store import codeprint, datacheck, provenance
from asdbench.store import pseudolabels as pseudolabel
from asdbench.store.checks import SCORE_FILES, checked_embeddings, score_files
from asdbench.store.claims import Claim, file_claim
from asdbench.store.history import EpochLog
from asdbench.store.layout import (
    RESULTS,
    SPEC,
    TRAINED,
    TRAINED_CLASSES,
    TRAINING_SPEC,
    missing_embeddings,
    read_json,
    readable_json,
    write_embeddings,
)
from asdbench.store.modelnames import model_name
from asdbench.store.models import Model, build_model, checkpoint_dir, model_units
from asdbench.training.checkpoints import LAST_CHECKPOINT, checkpoint_path, load_checkpoint, resumable_epoch
from asdbench.training.embed import UnitClips, embed_checkpoint, embed_units
from asdbench.training.loop import RecordSpan, TrainingPlan, replay, train
from asdbench.training.stacked import StackedMember, stacked_epoch_runner, stacking_problem, train_stacked
from asdbench.training.system import build_system

# --- training -------------------------------------------------------------------------------------------


@dataclass
class PreparedTraining:
    """A training ready to run: its data read, its labels built, its system built and seeded."""

    spec: RunSpec
    directory: Path
    device: torch.device
    units: list[UnitClips]
    num_samples: int
    models: list[Model]
    """The shared model, or one per machine type (and split) (``train.machinewise``), in the order they train."""
    plan: TrainingPlan
    trained: dict[str, Any]
    log: EpochLog

    @property
    def model(self) -> Model:
        """The one model of a training that is not machinewise."""
        if len(self.models) != 1 or self.models[0].machine is not None:
            raise ValueError(f"{self.directory}: a machinewise training has several models")
        return self.models[0]

    def member(self) -> StackedMember:
        model = self.model  # spec validation refuses stacked machinewise trainings
        return StackedMember(model.system, model.training_clips, model.targets, model.num_classes, self.plan,
                             model.checkpoint_dir, self.directory)


def prepare_training(spec: RunSpec, directory: Path, registry: Registry, *, epochs: list[int],
                     systems: TrainedSystems, claim: Callable[[Path], Claim | None] = file_claim,
                     cache: AudioCache | None = None, progress: bool = True) -> PreparedTraining:
    """Read the data and build the labels and the system of ``spec``'s training, which keeps the checkpoints
    of ``epochs``. ``systems`` trains other systems a pseudo-labelling feature space asks for; ``claim`` claims
    the pseudo-label table and feature space it computes."""
    directory.mkdir(parents=True, exist_ok=True)
    write_json_atomic(directory / TRAINING_SPEC, training_identity(spec.canonical))
    device = default_device()
    provenance.begin(directory, registry, device, libraries())
    log = EpochLog(directory, spec, registry)
    codeprint.record(directory, spec.canonical, codeprint.TRAINING, registry)

    cache = cache or AudioCache()
    dataset = datacheck.open_dataset(spec.dataset, registry)
    datacheck.record(directory, datacheck.fingerprint_of(dataset, spec.dataset["splits"]))
    manifests = {split: dataset.manifest(split) for split in spec.dataset["splits"]}
    units = unit_clips(manifests, cache, progress=progress)
    num_samples = _num_samples(spec.train["clip_seconds"], units)

    trained: dict[str, Any] = {"training": spec.training_hash}  # what it is of (asdbench.store.checks)
    plan = TrainingPlan.from_spec({**spec.train, "checkpoints": sorted(epochs)}, spec.seed, num_samples)
    if spec.train["epochs"] == 0:  # used as built: no labels to learn (spec validation refuses pseudo-labels)
        torch.manual_seed(spec.seed)  # the weights' initial values, for networks that are not loaded
        system = build_system(spec.system, registry, num_classes=0, num_samples=num_samples, trained=False)
        train_rows = sum(len(u.train) for u in units)
        model = Model(None, system, ClipSource([group for u in units for group in u.train_clips.groups]),
                      np.zeros(train_rows, dtype=np.int64), 0, [], {}, units,  # nothing to replay
                      checkpoint_dir(directory, None))
        return PreparedTraining(spec, directory, device, units, num_samples, [model], plan, trained, log)
    labels, overrides = spec.system["labels"], None
    if labels.startswith(PSEUDO_PREFIX):
        pseudo = pseudolabel.compute(spec, registry, directory.parent, manifests, systems=systems, claim=claim,
                                     progress=progress)
        labels, overrides = "attributes", pseudo.by_path()
        trained["pseudolabel"] = {"directory": str(pseudo.directory), "quality": pseudo.quality}
    models = [build_model(machine, group, spec.system, labels, overrides, registry, seed=spec.seed,
                          num_samples=num_samples, training_dir=directory)
              for machine, group in model_units(units, spec.train.get("machinewise", False))]
    trained["num_classes"] = models[0].num_classes if models[0].machine is None else {
        model.machine: model.num_classes for model in models}
    trained[TRAINED_CLASSES] = models[0].class_names if models[0].machine is None else {
        model.machine: model.class_names for model in models}
    return PreparedTraining(spec, directory, device, units, num_samples, models, plan, trained, log)


def run_trainings(runs: list[PreparedTraining], *, progress: bool = True) -> None:
    """Train (or resume) each run, then embed each at its kept epochs. Runs whose spec sets
    ``train.stack_seeds`` > 1 are trained stacked (:mod:`asdbench.training.stacked`), all together when they differ only
    in their seed and resume from one epoch, else each in a stack of its own, so that a stacked training is
    always computed the stacked way; the others are trained one after the other. Runs with ``train.epochs = 0``
    are not trained: their system is embedded as built."""
    everything, runs = runs, [run for run in runs if run.plan.epochs > 0]
    stacked = [run.spec.train["stack_seeds"] > 1 for run in runs]
    if any(stacked) and not all(stacked):
        raise ValueError("run_trainings: stacked and unstacked trainings cannot be trained together")
    if not any(stacked):
        for run in runs:
            for index, model in enumerate(run.models):
                if progress and model.machine is not None:
                    tqdm.write(f"training the model {model.machine} ({index + 1}/{len(run.models)})")
                train(model.system, model.training_clips, model.targets, model.num_classes, run.plan,
                      model.checkpoint_dir, device=run.device, progress=progress, on_epoch=run.log.of(model.machine),
                      record_dir=run.directory, record_span=RecordSpan(index * run.plan.epochs,
                                                                       len(run.models) * run.plan.epochs))
    else:
        members = [run.member() for run in runs]
        problem = stacking_problem(members) if len(members) > 1 else None
        if problem is None and len({resumable_epoch(m.checkpoint_dir) for m in members}) > 1:
            problem = "they were interrupted at different epochs"
        if problem is None:
            train_stacked(members, device=runs[0].device, progress=progress, on_epoch=[run.log for run in runs])
        else:
            if progress:
                tqdm.write(f"training {len(members)} stacked runs in stacks of one: {problem}")
            for member, run in zip(members, runs):
                train_stacked([member], device=run.device, progress=progress, on_epoch=[run.log])
    for run in everything:
        complete_training(run, progress=progress)


def complete_training(run: PreparedTraining, *, progress: bool = True) -> None:
    """Embed every clip at each kept epoch that has no embeddings yet (re-creating checkpoints that an earlier
    plan did not keep), then mark the training finished."""
    missing = missing_embeddings(run.directory, run.plan.checkpoints)
    if run.plan.epochs == 0:  # the system as built, seeded or loaded by its networks: no checkpoint file
        for epoch in missing:
            write_embeddings(run.directory, epoch, embed_units(run.model.system, run.units,
                                                               num_samples=run.num_samples, device=run.device,
                                                               precision=run.plan.precision,
                                                               desc="embedding (untrained)", progress=progress))
        write_trained(run)
        return
    stacked = run.spec.train["stack_seeds"] > 1
    for model in run.models:
        absent = [epoch for epoch in missing if load_checkpoint(checkpoint_path(model.checkpoint_dir, epoch)) is None]
        if absent:
            replay(model.system, model.training_clips, model.targets, model.num_classes, run.plan,
                   model.checkpoint_dir, absent, initial_state=model.initial_state, device=run.device,
                   progress=progress, run_epoch=stacked_epoch_runner(run.member(), run.device) if stacked else None)
    for epoch in missing:
        arrays: dict[str, np.ndarray] = {}
        for model in run.models:
            arrays.update(embed_checkpoint(model.system, checkpoint_path(model.checkpoint_dir, epoch), model.units,
                                           num_samples=run.num_samples, device=run.device,
                                           precision=run.plan.precision, progress=progress))
        write_embeddings(run.directory, epoch, arrays)
    write_trained(run)


def write_trained(run: PreparedTraining) -> None:
    """Mark the training finished (``trained.json``), setting aside a damaged earlier mark; then drop ``last.pt``,
    which a finished training never resumes from (re-creating a checkpoint it did not keep starts from a kept one),
    and record when it finished."""
    if (run.directory / TRAINED).exists() and not readable_json(run.directory / TRAINED):
        set_aside(run.directory / TRAINED, "not readable JSON")
    write_json_atomic(run.directory / TRAINED, run.trained)
    for model in run.models:
        (model.checkpoint_dir / LAST_CHECKPOINT).unlink(missing_ok=True)
    provenance.finish(run.directory)


# --- scoring --------------------------------------------------------------------------------------------


def score(spec: RunSpec, training_dir: Path, run_dir: Path, registry: Registry) -> dict[str, Any]:
    """Score ``spec`` from its finished training's embeddings; ``results.json`` is written last."""
    dataset = datacheck.open_dataset(spec.dataset, registry)
    datacheck.check(training_dir, datacheck.fingerprint_of(dataset, spec.dataset["splits"]))
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomic(run_dir / SPEC, spec.canonical)
    provenance.begin(run_dir, registry, None, libraries())
    codeprint.record(run_dir, spec.canonical, codeprint.SCORING, registry)
    manifests = {split: dataset.manifest(split) for split in spec.dataset["splits"]}
    units = units_of(manifests)
    clips = {unit.key: (len(unit.train), len(unit.test)) for unit in units}
    trained = read_json(training_dir / TRAINED)
    backend = registry.get("backends", spec.system["backend"]["name"])
    classes = unit_classes(spec, units, trained, training_dir) if backend.meta.get("unit_class") else None
    scores = ensemble_scores([checked_embeddings(training_dir, epoch, clips) for epoch in spec.train["checkpoints"]],
                             units, lambda: CheckedBackend.build(registry, spec.system["backend"]), classes)
    year = year_facts(dataset.year)  # its submission files and official report
    results: dict[str, Any] = {"training": spec.training_hash, "scoring": spec.scoring_hash, **trained, "splits": {}}
    for split, manifest in manifests.items():
        out_dir = run_dir / "scores" / split
        write_split([u for u in units if u.split == split], scores, out_dir,
                    quantile=spec.system["decision_quantile"], layout=year.score_files)
        report = evaluate_split(out_dir, manifest[manifest["subset"] == "test"], metric=year.metric,
                                layout=year.score_files)
        results["splits"][split] = report.to_dict() if report else None
        results.setdefault(SCORE_FILES, {})[split] = score_files(out_dir)
    provenance.finish(run_dir)
    write_json_atomic(run_dir / RESULTS, results)
    return results


def unit_classes(spec: RunSpec, units: list[Unit], trained: dict[str, Any] | None,
                 training_dir: Path) -> dict[str, int]:
    """Each unit's class index in the classes of the model that embedded it, from the class names its training
    stored (``trained.json``), so that scoring needs no model."""
    stored = (trained or {}).get(TRAINED_CLASSES)
    if stored is None:
        raise SpecError(f"{training_dir / TRAINED}: no class names (a training made before asdbench stored them), "
                        f"which system.backend {spec.system['backend']['name']!r} scores by; remove the training "
                        "directory to train it again")
    machinewise = spec.train.get("machinewise", False)
    return {unit.key: unit_class_index(unit.train, spec.system["labels"],
                                       stored if not machinewise else stored[model_name(unit, machinewise)],
                                       unit.key)
            for unit in units}


# --- helpers --------------------------------------------------------------------------------------------


def unit_clips(manifests: dict[str, pd.DataFrame], cache: AudioCache, *,
               progress: bool = True) -> list[UnitClips]:
    """Every unit of every split, its train and test clips loaded through the audio cache."""
    return [UnitClips(m.split, m.machine, m.section, m.train, m.test,
                         ClipSource([cache.load_rows(m.train, progress=progress)]),
                         ClipSource([cache.load_rows(m.test, progress=progress)]))
            for m in units_of(manifests)]


def _num_samples(clip_seconds: float | str, units: list[UnitClips]) -> int:
    if clip_seconds != "longest":
        return int(round(float(clip_seconds) * SAMPLE_RATE))
    return int(max(max(u.train_clips.lengths.max(), u.test_clips.lengths.max()) for u in units))


def libraries() -> dict[str, str]:
    """The versions of the libraries every number goes through, for a stage's provenance."""
    return {"torch": torch.__version__, "numpy": np.__version__}
