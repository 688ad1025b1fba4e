"""TensorBoard event files for every training and run, written through asdbench's lifecycle hooks.

Installed (``pip install -e examples/asdbench-tensorboard``), it writes, in the process that does the work:

- ``<training>/tensorboard/``: each epoch's mean loss and wall time (tags ``train/loss``, ``train/epoch_seconds``,
  step = the epoch; ``train/<machine>/loss`` ... for each machine type's model of a ``train.machinewise`` training),
  as the epoch's checkpoint is saved (``asdbench_epoch_finished``);
- ``<training>/<scoring>/tensorboard/``: the run's official score per split and each machine section's hmean
  (tags ``<split>/official_score``, ``<split>/hmean/<machine>_<section>``, step = ``train.epochs``), when its results
  are written (``asdbench_run_finished``).

``tensorboard --logdir runs`` then shows every run of a store, named by its folders. The event files are written
with tensorboardX, imported only when a hook first writes; a training's writer stays open across its epochs and is
closed after its last one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from asdbench.api import hookimpl

FOLDER = "tensorboard"
_writers: dict[Path, Any] = {}
"""The open writer of each training this process is training."""


def _writer(directory: Path) -> Any:
    from tensorboardX import SummaryWriter

    if directory not in _writers:
        _writers[directory] = SummaryWriter(str(directory / FOLDER))
    return _writers[directory]


@hookimpl
def asdbench_epoch_finished(training_dir: Path, training: dict[str, Any], epoch: int, epochs: int, loss: float,
                            seconds: float, machine: str | None) -> None:
    writer = _writer(training_dir)
    prefix = "train" if machine is None else f"train/{machine}"
    writer.add_scalar(f"{prefix}/loss", loss, epoch)
    writer.add_scalar(f"{prefix}/epoch_seconds", seconds, epoch)
    writer.flush()  # on disk now: an interrupted training keeps its curve
    if epoch == epochs:
        _writers.pop(training_dir).close()


@hookimpl
def asdbench_run_finished(run_dir: Path, spec: dict[str, Any], results: dict[str, Any]) -> None:
    step = spec["train"]["epochs"]
    writer = _writer(run_dir)
    try:
        for split, report in results["splits"].items():
            if report is None:  # no ground truth: score files only
                continue
            writer.add_scalar(f"{split}/official_score", report["official_score"], step)
            for machine in report["machines"]:
                writer.add_scalar(f"{split}/hmean/{machine['machine']}_{machine['section']}", machine["hmean"], step)
    finally:
        _writers.pop(run_dir).close()
