"""An epoch's running mean loss, read back from the device in batches of steps rather than after every step.

Reading a loss (``loss.item()``) makes the host wait until the device has computed it, so that the host cannot
queue the next step's work while the device runs this one. :class:`EpochLoss` keeps each step's loss on the
device and reads the pending ones back together, every :data:`READ_EVERY_STEPS` steps or
:data:`READ_EVERY_SECONDS` seconds (for the progress bar), and at the end of the epoch, before its checkpoint is
saved. The mean is then updated step by step, in float64, as it was when each step read its loss: the same
number to the last bit.

A non-finite loss still stops training, naming the epoch and the step it happened at; the steps between it and
the read that found it have run (their weights are no longer finite), but no checkpoint is saved from them.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from asdbench.errors import TrainingError

READ_EVERY_STEPS = 50
READ_EVERY_SECONDS = 5.0


class EpochLoss:
    """The running mean loss of one epoch of each of ``len(checkpoint_dirs)`` trainings (several when stacked)."""

    def __init__(self, epoch: int, checkpoint_dirs: Sequence[Path], *, every_steps: int | None = None,
                 every_seconds: float | None = None) -> None:
        self.epoch = epoch
        self.checkpoint_dirs = list(checkpoint_dirs)
        self.every_steps = every_steps or READ_EVERY_STEPS
        self.every_seconds = READ_EVERY_SECONDS if every_seconds is None else every_seconds
        self.mean = np.zeros(len(self.checkpoint_dirs))
        self.steps_read = 0
        self._pending: list[torch.Tensor] = []
        self._last_read = time.monotonic()

    def add(self, losses: torch.Tensor) -> bool:
        """Keep one step's loss of each training (a scalar or ``(trainings,)``) without reading it; read the
        pending losses when it is time to. True when it read them: :attr:`mean` is new."""
        self._pending.append(losses.detach().reshape(len(self.checkpoint_dirs)))
        steps = self.steps_read + len(self._pending)
        if steps % self.every_steps == 0 or time.monotonic() - self._last_read >= self.every_seconds:
            self.read()
            return True
        return False

    def read(self) -> np.ndarray:
        """Read the pending losses back and update the mean; raise :class:`TrainingError` at the first
        non-finite one. Returns the mean of every step so far (float64, one per training)."""
        if self._pending:
            values = torch.stack(self._pending).cpu().to(torch.float64).numpy()
            first_step = self.steps_read + 1
            self._pending.clear()
            self._last_read = time.monotonic()
            bad = np.argwhere(~np.isfinite(values))
            if len(bad):
                row, training = bad[0]
                raise TrainingError(
                    f"loss is {float(values[row, training])} at epoch {self.epoch}, step {first_step + row}; "
                    f"training stopped. Checkpoints of finished epochs are kept in {self.checkpoint_dirs[training]}."
                    " Try a lower train.lr or check the data.")
            for row in values:
                self.steps_read += 1
                self.mean += (row - self.mean) / self.steps_read
        return self.mean
