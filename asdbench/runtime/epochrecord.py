"""Where a training is, recorded in its folder as it goes (``progress.json``) and read without torch: the epochs it has
finished of how many, the steps of the epoch under way, each finished epoch's mean loss, and when this attempt began,
from which its time left follows. ``asdbench status`` shows it for a training that runs or was interrupted, and a grid
shows every training under way from it, whichever process or machine trains it (asdbench.grid.watch).

The record is written at the end of every epoch, after its checkpoint (so that it never claims an epoch that a resume
would train again), and within an epoch at most every :data:`RECORD_SECONDS`: a small file, written whole.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from asdbench.files.atomic import write_json_atomic

PROGRESS_FILE = "progress.json"
RECORD_SECONDS = 10.0
"""How often, at most, the record is written within an epoch."""


@dataclass(frozen=True)
class EpochRecord:
    """A training's progress: ``epoch`` of ``epochs`` finished, and ``step`` of the ``steps`` of the next one."""

    epoch: int
    epochs: int
    step: int
    steps: int
    losses: tuple[float | None, ...]
    """The mean loss of each finished epoch, in order (None where an earlier attempt's is not known)."""
    start_epoch: int
    """The epochs finished when this attempt began (a resumed training trains the rest)."""
    started: float
    """When this attempt began training (``time.time()``)."""
    updated: float

    @property
    def loss(self) -> float | None:
        """The mean loss of epoch ``epoch`` (None before the first epoch ends)."""
        return self.losses[-1] if self.losses else None

    @property
    def trained(self) -> float:
        """The epochs trained, the one under way counted by its steps."""
        return self.epoch + self.step / self.steps if self.steps else float(self.epoch)

    def seconds_per_epoch(self) -> float | None:
        """The mean time of an epoch in this attempt, None before it has trained a step."""
        trained = self.trained - self.start_epoch
        elapsed = self.updated - self.started
        return elapsed / trained if trained > 0 and elapsed > 0 else None

    def seconds_left(self) -> float | None:
        """The time the rest of the epochs take at this attempt's pace, None while it cannot be told."""
        per_epoch = self.seconds_per_epoch()
        return None if per_epoch is None else per_epoch * (self.epochs - self.trained)


def read_record(directory: Path) -> EpochRecord | None:
    """The record in a training's folder; None when there is none, or none that reads (it is rewritten as the
    training goes: a damaged one only hides its progress)."""
    try:
        fields = json.loads((directory / PROGRESS_FILE).read_text())
        return EpochRecord(**{**fields, "losses": tuple(fields["losses"])})
    except (OSError, ValueError, TypeError, KeyError):
        return None


class EpochRecorder:
    """Writes a training's record to ``directory`` (None: nowhere), at each epoch's end and within an epoch at most
    every :data:`RECORD_SECONDS`."""

    def __init__(self, directory: Path | None, *, epochs: int, steps: int, start_epoch: int) -> None:
        self.directory = directory
        earlier = read_record(directory) if directory is not None else None  # the losses of the epochs resumed from
        losses = earlier.losses if earlier is not None and earlier.epochs == epochs else ()
        losses = (*losses[:start_epoch], *[None] * (start_epoch - len(losses)))
        now = time.time()
        self.record = EpochRecord(start_epoch, epochs, 0, steps, losses, start_epoch, now, now)
        self._written = 0.0
        self._write()

    def step(self, step: int) -> None:
        """``step`` steps of the epoch under way are done."""
        self.record = replace(self.record, step=step)
        if time.monotonic() - self._written >= RECORD_SECONDS:
            self._write()

    def epoch(self, epoch: int, loss: float) -> None:
        """Epoch ``epoch`` is finished (and saved), with mean loss ``loss``."""
        self.record = replace(self.record, epoch=epoch, step=0, losses=(*self.record.losses[:epoch - 1], loss))
        self._write()

    def _write(self) -> None:
        if self.directory is None:
            return
        self.record = replace(self.record, updated=time.time())
        write_json_atomic(self.directory / PROGRESS_FILE, asdict(self.record))
        self._written = time.monotonic()
