"""A training's history, epoch by epoch, in its ``history.json``: each epoch's mean loss, wall time and the time it
finished, written as each epoch's checkpoint is saved; and the ``asdbench_epoch_finished`` hook, called then.

A resumed training goes on where its history stops; an epoch trained again after an interruption (the process killed
after its checkpoint was saved, before its history was) replaces its earlier line. The epochs re-trained only to
re-create a checkpoint a finished training did not keep (asdbench.training.loop.replay) are not part of its history.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from asdbench.contract.registry import Registry
from asdbench.files.atomic import write_json_atomic
from asdbench.files.damaged import DamagedFile
from asdbench.spec.identity import RunSpec, training_identity
from asdbench.store.layout import read_json
from asdbench.store.provenance import now

HISTORY = "history.json"


class EpochLog:
    """What :func:`asdbench.training.loop.train` calls after each epoch (its ``on_epoch``) for one training; for a
    machinewise training, :meth:`of` each machine type's model, whose lines name their machine type."""

    def __init__(self, directory: Path, spec: RunSpec, registry: Registry, machine: str | None = None) -> None:
        self.directory = directory
        self.spec = spec
        self.training = training_identity(spec.canonical)
        self.epochs = spec.train["epochs"]
        self.registry = registry
        self.machine = machine

    def of(self, machine: str | None) -> EpochLog:
        """The log of the model of ``machine`` (None: the shared model) in the same history."""
        return EpochLog(self.directory, self.spec, self.registry, machine)

    def __call__(self, epoch: int, loss: float, seconds: float) -> None:
        history = read_history(self.directory)
        kept = [entry for entry in history if entry.get("machine") != self.machine or entry["epoch"] < epoch]
        machine = {} if self.machine is None else {"machine": self.machine}
        kept.append({**machine, "epoch": epoch, "loss": loss, "seconds": round(seconds, 3), "finished": now()})
        write_json_atomic(self.directory / HISTORY, {"epochs": kept})
        self.registry.hook.asdbench_epoch_finished(training_dir=self.directory, training=self.training, epoch=epoch,
                                                   epochs=self.epochs, loss=loss, seconds=seconds,
                                                   machine=self.machine)


def read_history(directory: Path) -> list[dict[str, Any]]:
    """The epochs a training's ``history.json`` records, in order; none where it has none or it cannot be read (a
    record of how a training went, not of what it computed: it is written anew)."""
    try:
        record = read_json(directory / HISTORY)
    except DamagedFile:
        return []
    epochs = record.get("epochs") if record else None
    return [e for e in epochs if isinstance(e, dict) and isinstance(e.get("epoch"), int)] if isinstance(epochs, list) \
        else []
