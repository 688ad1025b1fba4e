"""One run end to end: read the dataset, train the system, score every checkpoint, write and evaluate.

A run directory holds::

    spec.json          the canonical spec (its hash names the directory)
    provenance.json    plugin distributions and versions, torch version, device
    data.json          the fingerprint of the data it was made on (asdbench.datacheck)
    checkpoints/       epoch_XXX.pt for the ensemble epochs, last.pt for resume
    embeddings/        z_cat of every clip per checkpoint (epoch_XXX.npz)
    scores/<split>/    official anomaly_score_* and decision_result_* files
    results.json       metrics per split, written last: its presence marks a finished run
"""

from __future__ import annotations

import functools
import json
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from asdbench.atomic import write_json_atomic
from asdbench.clips import ClipSource
from asdbench.data.audio import AudioCache
from asdbench.devices import default_device
from asdbench.embed import MachineClips, evaluate_split, score_checkpoints, write_split
from asdbench.labels import build_labels
from asdbench.plugins import Registry
from asdbench import datacheck, pseudolabel
from asdbench.spec import PSEUDO_PREFIX, RunSpec
from asdbench.stacked import StackedMember, stacking_problem, train_stacked
from asdbench.system import System, build_system
from asdbench.train import TrainingPlan, resumable_epoch, train

SAMPLE_RATE = 16_000
RESULTS = "results.json"


@dataclass(frozen=True)
class RunResult:
    run_dir: Path
    results: dict[str, Any]


def run_directory(root: Path, spec: RunSpec) -> Path:
    return root / spec.hash


def execute(spec: RunSpec, run_dir: Path, registry: Registry, *, cache: AudioCache | None = None,
            progress: bool = True) -> RunResult:
    """Run ``spec`` in ``run_dir``: a finished run is read back, an interrupted one resumes."""
    if (run_dir / RESULTS).exists():
        return _read_back(spec, run_dir, registry)
    run = prepare(spec, run_dir, registry, cache=cache, progress=progress)
    checkpoints = train(run.system, run.training_clips, run.targets, run.num_classes, run.plan,
                        run.checkpoint_dir, device=run.device, progress=progress)
    return finish(run, checkpoints, registry, progress=progress)


def execute_stacked(specs: list[RunSpec], run_dirs: list[Path], registry: Registry, *,
                    cache: AudioCache | None = None, progress: bool = True) -> list[RunResult]:
    """Run specs that differ only in their seed with their networks stacked (see :mod:`asdbench.stacked`).

    Finished runs are read back. Runs that cannot be stacked (other plans, compiled networks, or resume
    points at different epochs after an interruption) are run one after the other instead, which gives
    the same results; the reason is printed.
    """
    cache = cache or AudioCache()
    results: dict[Path, RunResult] = {d: _read_back(s, d, registry) for s, d in zip(specs, run_dirs)
                                      if (d / RESULTS).exists()}
    pending = [(s, d) for s, d in zip(specs, run_dirs) if d not in results]
    runs = [prepare(spec, run_dir, registry, cache=cache, progress=progress) for spec, run_dir in pending]
    members = [StackedMember(r.system, r.training_clips, r.targets, r.num_classes, r.plan, r.checkpoint_dir)
               for r in runs]
    problem = stacking_problem(members) if len(members) > 1 else "only one run is left to train"
    if problem is None and len({resumable_epoch(m.checkpoint_dir) for m in members}) > 1:
        problem = "they were interrupted at different epochs"
    if problem is None:
        for run, checkpoints in zip(runs, train_stacked(members, device=runs[0].device, progress=progress)):
            results[run.run_dir] = finish(run, checkpoints, registry, progress=progress)
    else:
        if len(members) > 1 and progress:
            tqdm.write(f"training {len(members)} runs one at a time: {problem}")
        for run in runs:
            checkpoints = train(run.system, run.training_clips, run.targets, run.num_classes, run.plan,
                                run.checkpoint_dir, device=run.device, progress=progress)
            results[run.run_dir] = finish(run, checkpoints, registry, progress=progress)
    return [results[d] for d in run_dirs]


@dataclass
class PreparedRun:
    """A run ready to train: its data read, its labels built, its system built and seeded."""

    spec: RunSpec
    run_dir: Path
    device: torch.device
    manifests: dict[str, pd.DataFrame]
    machines: list[MachineClips]
    num_samples: int
    system: System
    plan: TrainingPlan
    training_clips: ClipSource
    targets: np.ndarray
    num_classes: int
    results: dict[str, Any]

    @property
    def checkpoint_dir(self) -> Path:
        return self.run_dir / "checkpoints"


def prepare(spec: RunSpec, run_dir: Path, registry: Registry, *, cache: AudioCache | None = None,
            progress: bool = True) -> PreparedRun:
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomic(run_dir / "spec.json", spec.canonical)
    device = default_device()
    write_json_atomic(run_dir / "provenance.json", _provenance(registry, device))
    registry.hook.asdbench_run_started(run_dir=run_dir, spec=spec.canonical)

    cache = cache or AudioCache()
    dataset = datacheck.open_dataset(spec.dataset, registry)
    datacheck.record(run_dir, datacheck.fingerprint_of(dataset, spec.dataset["splits"]))
    manifests = {split: dataset.manifest(split) for split in spec.dataset["splits"]}
    machines = machine_clips(manifests, cache, progress=progress)
    num_samples = _num_samples(spec.train["clip_seconds"], machines)

    train_rows = pd.concat([m.train for m in machines], ignore_index=True)
    results: dict[str, Any] = {"hash": spec.hash, "splits": {}}
    if spec.system["labels"].startswith(PSEUDO_PREFIX):
        pseudo = pseudolabel.compute(spec, registry, run_dir.parent, manifests, progress=progress)
        labels = build_labels(train_rows, "attributes", pseudo.by_path())
        results["pseudolabel"] = {"directory": str(pseudo.directory), "quality": pseudo.quality}
    else:
        labels = build_labels(train_rows, spec.system["labels"])
    results["num_classes"] = labels.num_classes
    torch.manual_seed(spec.seed)  # the weights' initial values
    system = build_system(spec.system, registry, num_classes=labels.num_classes, num_samples=num_samples)
    return PreparedRun(
        spec, run_dir, device, manifests, machines, num_samples, system,
        TrainingPlan.from_spec(spec.train, spec.seed, num_samples),
        ClipSource([group for m in machines for group in m.train_clips.groups]),
        labels.indices, labels.num_classes, results,
    )


def finish(run: PreparedRun, checkpoints: list[Path], registry: Registry, *, progress: bool = True) -> RunResult:
    """Score the trained run, write its score files and evaluate them; ``results.json`` is written last."""
    backend = run.spec.system["backend"]
    make_backend = functools.partial(registry.create, "backends", backend["name"], **_options(backend))
    scores = score_checkpoints(run.system, checkpoints, run.machines, make_backend, run.run_dir / "embeddings",
                               num_samples=run.num_samples, device=run.device, precision=run.plan.precision,
                               progress=progress)
    results = run.results
    for split, manifest in run.manifests.items():
        split_machines = [m for m in run.machines if m.split == split]
        out_dir = run.run_dir / "scores" / split
        write_split(split_machines, scores, out_dir)
        report = evaluate_split(out_dir, manifest[manifest["subset"] == "test"])
        results["splits"][split] = report.to_dict() if report else None
    write_json_atomic(run.run_dir / RESULTS, results)
    registry.hook.asdbench_run_finished(run_dir=run.run_dir, spec=run.spec.canonical, results=results)
    return RunResult(run.run_dir, results)


def _read_back(spec: RunSpec, run_dir: Path, registry: Registry) -> RunResult:
    """A finished run's results, unless it was made on other data than its dataset holds now."""
    datacheck.check(run_dir, datacheck.current_fingerprint(spec.dataset, registry))
    return RunResult(run_dir, json.loads((run_dir / RESULTS).read_text()))


def _options(component: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in component.items() if key != "name"}


def machine_clips(manifests: dict[str, pd.DataFrame], cache: AudioCache, *,
                  progress: bool = True) -> list[MachineClips]:
    """Every machine of every split, its train and test clips loaded through the audio cache."""
    machines = []
    for split, manifest in manifests.items():
        for machine, rows in manifest.groupby("machine", sort=True):
            train_rows = rows[rows["subset"] == "train"].reset_index(drop=True)
            test_rows = rows[rows["subset"] == "test"].reset_index(drop=True)
            machines.append(MachineClips(
                split, str(machine), train_rows, test_rows,
                ClipSource([cache.load(list(train_rows["path"]), progress=progress)]),
                ClipSource([cache.load(list(test_rows["path"]), progress=progress)]),
            ))
    return machines


def _num_samples(clip_seconds: float | str, machines: list[MachineClips]) -> int:
    if clip_seconds != "longest":
        return int(round(float(clip_seconds) * SAMPLE_RATE))
    return int(max(max(m.train_clips.lengths.max(), m.test_clips.lengths.max()) for m in machines))


def _provenance(registry: Registry, device: torch.device) -> dict[str, Any]:
    return {
        "distributions": registry.distributions(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "device": str(device),
        "cuda_device": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
    }
