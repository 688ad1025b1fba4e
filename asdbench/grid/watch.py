"""What a grid shows while it works: a bar of the whole grid, whose time left is weighted by the work each run still
needs, and, for each training under way, its epoch, loss and time left. On a terminal each training under way has a
redrawn bar of its own; in a log (stderr not a terminal) each finished epoch is one line, and the grid's bar a line
at most every 30 s (:mod:`asdbench.runtime.progress`).

Every training records where it is in its own folder as it trains (:mod:`asdbench.runtime.epochrecord`), and this
module reads those records, once a second, from the store: so a grid shows the same whichever executor trains, this
process, a process pool, or Dask workers on machines that share the store, and ``asdbench status`` shows the same.

Work is counted in training passes, the unit a network's cost scales with: an epoch is one pass over the training's
clips (forward and backward), embedding a kept checkpoint :data:`EMBEDDING_WORK` of a pass per clip of its splits
(forward only), and a scoring :data:`SCORING_WORK` of a pass per clip and checkpoint (it fits a backend on stored
embeddings). Measured on the ``ci`` preset (leaderboard/synth-subspace.toml, one thread, epochs and embeddings
interleaved; docs/performance.md): 68 ms a training clip an epoch, 20 ms a clip an embedded checkpoint, and a
scoring of 3 checkpoints 4.4 s, 1.3 ms a clip a checkpoint. So a 0.2 s scoring weighs what it costs, not what a
training does, and the time left is the work left at the pace the grid has kept so far (only the ratios matter: a
faster device speeds every kind of work alike, roughly). A machinewise training (``train.machinewise``) trains its
models (one per machine type, or per machine type and split) one after the other, and its record counts their
epochs in turn: ``epochs`` times the models, each epoch a pass over one model's clips, weighed at the mean over its
models. Not counted: what a pseudo-labelling feature space trains,
and a checkpoint re-created because an earlier training did not keep it.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from asdbench.grid.expand import Grid
from asdbench.grid.problems import describe_runs
from asdbench.runtime.epochrecord import EpochRecord, read_record
from asdbench.runtime.progress import on_terminal, progress_bar
from asdbench.spec.identity import RunSpec
from asdbench.store.preflight import Checked
from asdbench.store.reading import RunState, StoredRuns
from asdbench.store.store import Outcome

POLL_SECONDS = 1.0
EMBEDDING_WORK = 0.3
"""Embedding's work per clip and kept checkpoint, in training passes (the module's docstring says why)."""
SCORING_WORK = 0.02
"""A scoring's work per clip and checkpoint, in training passes (the module's docstring says why)."""


@dataclass
class Training:
    """A training of the grid with work left: its epochs to train, its embeddings, and its runs' scorings."""

    directory: Path
    label: str
    epochs: int
    epochs_left: int
    epoch_work: float
    embed_work: float
    runs: dict[str, float]
    """Each run's hash -> its scoring's work."""
    finished: set[str] = field(default_factory=set)
    shown_epoch: int = 0
    bar: tqdm | None = None

    @property
    def work(self) -> float:
        return self.epochs_left * self.epoch_work + self.embed_work + sum(self.runs.values())

    def done(self, record: EpochRecord | None) -> float:
        """The work done of it since the grid began: every epoch trained since, every run finished."""
        if self.finished == set(self.runs):
            return self.work
        trained = 0.0
        if record is not None and record.epochs == self.epochs:
            since = record.trained - (self.epochs - self.epochs_left)
            trained = min(max(since, 0.0), self.epochs_left) * self.epoch_work
        return trained + sum(self.runs[run] for run in self.finished)


def plan(grid: Grid, store: StoredRuns, checked: Checked) -> list[Training]:
    """The trainings with work left among the runs that ``checked`` checked (those the grid computes)."""
    coordinates = {run.spec.hash: run.coordinates for run in grid.runs}
    by_training: dict[str, list[RunSpec]] = {}
    for run in grid.runs:
        if run.spec.hash in checked.sizes:
            by_training.setdefault(run.spec.training_hash, []).append(run.spec)
    trainings = []
    for training_hash, runs in by_training.items():
        spec, size = runs[0], checked.sizes[runs[0].hash]
        epochs = spec.train["epochs"] * size.models
        if store.training_state(spec) is RunState.DONE:
            done, embed = epochs, 0.0
        else:
            record = store.progress(spec)
            done = record.epoch if record is not None and record.epochs == epochs else 0
            embed = EMBEDDING_WORK * len({epoch for run in runs for epoch in run.train["checkpoints"]}) * size.clips
        label = f"training {training_hash} {describe_runs([coordinates[run.hash] for run in runs], len(grid.runs))}"
        trainings.append(Training(
            store.training_directory(spec), label.strip(), epochs, epochs - done, size.training_clips / size.models, embed,
            {run.hash: SCORING_WORK * size.clips * len(run.train["checkpoints"]) for run in runs}, shown_epoch=done))
    return trainings


class GridWatch:
    """Shows a grid's progress (see the module's docstring) while it is open: a thread reads the trainings' records
    every :data:`POLL_SECONDS`, and the grid says when runs finish (:meth:`finished`). Disabled, it shows nothing."""

    def __init__(self, grid: Grid, trainings: list[Training], *, enabled: bool = True) -> None:
        self.trainings = trainings
        self.by_run = {run: training for training in trainings for run in training.runs}
        self.enabled = enabled
        self.total = sum(training.work for training in trainings)
        self.runs_done = 0
        self.terminal = on_terminal()
        self.started = time.monotonic()
        self.wall_started = time.time()
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="asdbench-grid-watch", daemon=True)
        self.bar = progress_bar(total=max(self.total, 1e-9), desc=f"grid {grid.path.stem}", smoothing=0,
                                bar_format="{desc}: {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}{postfix}]",
                                disable=not enabled or not trainings)
        self._postfix()

    def __enter__(self) -> GridWatch:
        if self.enabled:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        with self._lock:
            for training in self.trainings:
                if training.bar is not None:
                    training.bar.close()
            self.bar.close()

    def finished(self, outcomes: Iterable[Outcome]) -> None:
        """Runs have finished (done or failed): their work is done; a training whose runs have all finished says so
        in a line."""
        with self._lock:
            ended = []
            for outcome in outcomes:
                training = self.by_run.get(outcome.hash)
                if training is None or outcome.state is RunState.RUNNING or outcome.hash in training.finished:
                    continue  # held by another process: it finishes later
                training.finished.add(outcome.hash)
                self.runs_done += 1
                if training.finished == set(training.runs):
                    ended.append(training)
            self.poll()
            for training in ended:
                record = read_record(training.directory)  # the epochs since the last poll, shown before its end
                if record is not None and record.epochs == training.epochs:
                    self._show(training, record)
                if training.bar is not None:
                    training.bar.close()
                    training.bar = None
                self._line(f"{training.label}: {len(training.runs)} run{'s' if len(training.runs) > 1 else ''} "
                           f"finished; grid: {self.runs_done} of {len(self.by_run)} runs, {self._left()}")

    def poll(self) -> None:
        """Read the records of the trainings under way; print what is new, update the bars."""
        with self._lock:
            done = 0.0
            for training in self.trainings:
                if training.finished == set(training.runs):
                    done += training.work
                    continue
                record = read_record(training.directory)
                done += training.done(record)
                if record is not None and record.epochs == training.epochs:
                    self._show(training, record)
            if done > self.bar.n:
                self.bar.update(done - self.bar.n)

    def _show(self, training: Training, record: EpochRecord) -> None:
        for epoch in range(training.shown_epoch + 1, record.epoch + 1):  # each epoch once, however short
            self._line(f"{training.label}: {describe_record(record, epoch)}")
        training.shown_epoch = max(training.shown_epoch, record.epoch)
        if not self.terminal or not self.enabled:
            return
        if training.bar is None and record.updated < self.wall_started:
            return  # the record of an earlier attempt: not under way now
        if training.bar is None:
            training.bar = progress_bar(total=training.epochs, initial=record.trained,
                                        desc=training.label.split(" [")[0], leave=False, smoothing=0,
                                        bar_format="{desc}: {n:.1f}/{total} epochs |{bar}| [{elapsed}<{remaining}"
                                                   "{postfix}]")
        training.bar.update(record.trained - training.bar.n)
        if record.loss is not None:
            training.bar.set_postfix_str(f"loss {record.loss:.4f}")

    def _postfix(self) -> None:
        self.bar.set_postfix_str(f"{self.runs_done}/{len(self.by_run)} runs", refresh=False)

    def _left(self) -> str:
        elapsed = time.monotonic() - self.started
        done = self.bar.n
        if done <= 0 or done >= self.total:
            return "no work left" if done >= self.total else "time left not known yet"
        return f"about {duration(elapsed * (self.total - done) / done)} left"

    def _line(self, text: str) -> None:
        self._postfix()
        if self.enabled:
            tqdm.write(text, file=sys.stderr)

    def _watch(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            self.poll()


def watch_grid(grid: Grid, store: StoredRuns, checked: Checked, *, enabled: bool) -> GridWatch:
    """A :class:`GridWatch` of the runs ``checked`` checked: those the grid computes."""
    return GridWatch(grid, plan(grid, store, checked), enabled=enabled)


def describe_record(record: EpochRecord, epoch: int | None = None) -> str:
    """``epoch 3/16, loss 2.3456, 41 s an epoch, about 8 min 53 s left``: as far as the record tells; of an earlier
    ``epoch`` than the record's last, its loss only."""
    epoch = record.epoch if epoch is None else epoch
    parts = [f"epoch {epoch}/{record.epochs}"]
    loss = record.losses[epoch - 1] if 0 < epoch <= len(record.losses) else None
    if loss is not None:
        parts.append(f"loss {loss:.4f}")
    if epoch != record.epoch:
        return ", ".join(parts)
    per_epoch, left = record.seconds_per_epoch(), record.seconds_left()
    if per_epoch is not None:
        parts.append(f"{duration(per_epoch)} an epoch")
    if left is not None and record.epoch < record.epochs:
        parts.append(f"about {duration(left)} left")
    elif record.epoch == record.epochs:
        parts.append("trained; embedding and scoring")
    return ", ".join(parts)


def running_trainings(grid: Grid, store: StoredRuns) -> list[str]:
    """A line for each training of the grid running now: where it is, as its record says."""
    lines, seen, now = [], set(), time.time()
    for run in grid.runs:
        directory = store.training_directory(run.spec)
        if directory in seen or store.training_state(run.spec) is not RunState.RUNNING:
            continue
        seen.add(directory)
        record = store.progress(run.spec)
        where = describe_record(record) + f" (recorded {duration(now - record.updated)} ago)" if record else \
            "preparing (reading data, building its system)"
        lines.append(f"training {directory.name}: {where}")
    return lines


def duration(seconds: float) -> str:
    """``41 s``, ``8 min 53 s``, ``2 h 05 min``."""
    seconds = max(int(round(seconds)), 0)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
