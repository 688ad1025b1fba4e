"""The run store read from its files: a directory per training, named by its training hash, and under it one per
scoring of it, and the state of each.

State is read from files. A run (one scoring of one training) is done when its ``results.json`` is there
and readable (damaged when it is not, or when it lies: :mod:`asdbench.store.checks`; the next attempt sets it aside
and scores again); running while a process holds its claim or its training's; failed when its last attempt or its
training's left an ``error.json`` (with the error and traceback); pending otherwise (possibly interrupted, and then
resumed from its training's last readable checkpoint). Nothing here imports torch, so that ``asdbench status`` and
``asdbench leaderboard`` start fast.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Any

from asdbench.runtime.epochrecord import EpochRecord, read_record
from asdbench.spec.identity import RunSpec
from asdbench.store.checks import Problem, scoring_problem, training_problem
from asdbench.store.claims import Claim, claimer, held
from asdbench.store.layout import RESULTS, TRAINED, read_json, readable_json

ERROR = "error.json"


class RunState(str, Enum):
    """What a run or a training is, as its files say."""

    DONE = "done"
    RUNNING = "running"
    FAILED = "failed"
    DAMAGED = "damaged"
    PENDING = "pending"


class StoredRuns:
    """A run store read from its files: where each training and run lives, and the state of each."""

    def __init__(self, root: Path, claims: str = "files") -> None:
        """``claims``: how trainings and runs are claimed, "files" or "scheduler" (see :mod:`asdbench.store.claims`)."""
        self.root = Path(root)
        self._claimer = claimer(claims)

    def training_directory(self, spec: RunSpec) -> Path:
        return self.root / spec.training_hash

    def directory(self, spec: RunSpec) -> Path:
        """The run's own directory: its scoring, under its training's directory."""
        return self.training_directory(spec) / spec.scoring_hash

    def claim(self, directory: Path) -> Claim | None:
        """Claim a training's or run's directory for this process; None when another process holds it."""
        return self._claimer(directory)

    def training_state(self, spec: RunSpec) -> RunState:
        directory = self.training_directory(spec)
        return _state(directory, TRAINED, training_problem(directory))

    def state(self, spec: RunSpec) -> RunState:
        """The run's state; ``damaged`` when a file of it or of its training is unreadable or lies
        (:mod:`asdbench.store.checks`), until the next attempt sets that file aside and computes it again."""
        state = _state(self.directory(spec), RESULTS, self._problem(spec))
        if state is RunState.PENDING and self.training_state(spec) in (RunState.RUNNING, RunState.FAILED,
                                                                       RunState.DAMAGED):
            return self.training_state(spec)
        return state

    def results(self, spec: RunSpec) -> dict[str, Any] | None:
        """The run's results; None while it has none, or when a file of it is damaged or lies (its state says
        so, and the next attempt sets the file aside and computes it again)."""
        if self._problem(spec) is not None:
            return None
        return read_json(self.directory(spec) / RESULTS)

    def progress(self, spec: RunSpec) -> EpochRecord | None:
        """Where the run's training is (or was when it stopped), as it records it while it trains."""
        return read_record(self.training_directory(spec))

    def error(self, spec: RunSpec) -> dict[str, Any] | None:
        """The last error of the run's scoring, else of its training (None when neither failed)."""
        for directory in (self.directory(spec), self.training_directory(spec)):
            if readable_json(directory / ERROR):
                return read_json(directory / ERROR)
        return None

    def _problem(self, spec: RunSpec) -> Problem | None:
        """What is wrong with the stored files of the run or its training (:mod:`asdbench.store.checks`)."""
        return scoring_problem(self.directory(spec)) or training_problem(self.training_directory(spec))


def _state(directory: Path, finished: str, problem: Problem | None) -> RunState:
    if (directory / finished).exists():
        return RunState.DONE if problem is None else RunState.DAMAGED
    if directory.exists() and held(directory):
        return RunState.RUNNING
    if (directory / ERROR).exists():
        return RunState.FAILED
    return RunState.PENDING
