"""What a grid shows while it works: per training its epoch, loss and time left (a line per epoch in a log, a bar on a
terminal), whichever executor trains; a grid's time left weighted by work; `asdbench status` shows the epoch a running
training is at, from the record it keeps in its folder."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import time

import pytest

from asdbench.cli.main import main
from asdbench.contract.registry import get_registry
from asdbench.grid.execute import check_grid
from asdbench.grid.expand import load_grid
from asdbench.grid.watch import EMBEDDING_WORK, SCORING_WORK, GridWatch, Training, duration, plan
from asdbench.runtime import epochrecord
from asdbench.runtime.epochrecord import EpochRecorder, read_record
from asdbench.store.reading import RunState
from asdbench.store.store import Outcome, Store
from tests.helpers.grids import backend_grid, grid_file

EPOCH_LINE = re.compile(r"^training [0-9a-f]{16} \[system=(small|wide), seed=(\d)\]: epoch (\d)/4, loss \d+\.\d{4}"
                        r"(, \d+ s an epoch, (about \d+ s left|trained; embedding and scoring))?$")


def test_the_record_says_where_a_training_is_and_how_long_it_takes(tmp_path, monkeypatch):
    class Clock:  # the wall times the recorder reads, in order; no time passes between its writes
        times = iter([100.0, 100.0, 130.0, 160.0, 200.0, 200.0])
        time = staticmethod(lambda: next(Clock.times))
        monotonic = staticmethod(lambda: 0.0)

    monkeypatch.setattr(epochrecord, "time", Clock)
    recorder = EpochRecorder(tmp_path, epochs=4, steps=10, start_epoch=1)
    assert read_record(tmp_path).epoch == 1 and read_record(tmp_path).loss is None
    recorder.epoch(2, 1.5)
    recorder.step(5)  # within RECORD_SECONDS of the last write: kept, not written
    assert read_record(tmp_path).step == 0
    recorder.epoch(3, 1.25)
    record = read_record(tmp_path)
    assert (record.epoch, record.losses, record.loss, record.start_epoch, record.updated) == (
        3, (None, 1.5, 1.25), 1.25, 1, 160.0)
    assert record.seconds_per_epoch() == 30.0 and record.seconds_left() == 30.0 and record.trained == 3
    resumed = EpochRecorder(tmp_path, epochs=4, steps=10, start_epoch=2)  # after a kill in epoch 3: its losses stay
    assert resumed.record.losses == (None, 1.5)


def test_a_damaged_or_missing_record_hides_the_progress_only(tmp_path):
    assert read_record(tmp_path) is None
    (tmp_path / epochrecord.PROGRESS_FILE).write_text('{"epoch": 3')
    assert read_record(tmp_path) is None


def test_a_scoring_weighs_what_it_costs_not_what_a_training_does(fake_system, tiny_dataset, tmp_path):
    grid = load_grid(backend_grid(tmp_path, tiny_dataset))  # one training of 4 epochs, scored 4 ways
    store = Store(tmp_path / "store")
    checked = check_grid(grid, store, get_registry(), changed_code="refuse", device=True)
    (training,) = plan(grid, store, checked)
    size = checked.sizes[grid.runs[0].spec.hash]
    assert training.epoch_work == size.training_clips and training.epochs_left == 4
    assert training.embed_work == EMBEDDING_WORK * len({2, 4}) * size.clips  # the checkpoints its runs ensemble
    assert sorted(training.runs.values()) == pytest.approx(sorted(SCORING_WORK * size.clips * len(run.spec.train[
        "checkpoints"]) for run in grid.runs))
    assert max(training.runs.values()) < 0.02 * (training.work - sum(training.runs.values()))  # each scoring
    assert training.label == f"training {grid.runs[0].spec.training_hash} [all 4 runs]"


def test_a_training_resumed_counts_only_its_epochs_left(fake_system, tiny_dataset, tmp_path):
    grid = load_grid(grid_file(tmp_path, tiny_dataset, seeds=(1,)))
    store = Store(tmp_path / "store")
    store.training_directory(grid.runs[0].spec).mkdir(parents=True)
    EpochRecorder(store.training_directory(grid.runs[0].spec), epochs=4, steps=3, start_epoch=3)
    checked = check_grid(grid, store, get_registry(), changed_code="refuse", device=True)
    first, second = plan(grid, store, checked)
    assert (first.epochs_left, first.shown_epoch, second.epochs_left) == (1, 3, 4)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("terminal", [False, True])
def test_the_grid_shows_each_epoch_once_and_its_time_left(tmp_path, monkeypatch, capsys, terminal):
    stream = Terminal() if terminal else sys.stderr
    monkeypatch.setattr(sys, "stderr", stream)
    training = Training(tmp_path, "training 0123456789abcdef [seed=1]", 4, 4, 100.0, 50.0, {"a/b": 1.0, "a/c": 1.0})
    grid = type("Grid", (), {"path": tmp_path / "grid.toml"})()
    with GridWatch(grid, [training]) as watch:
        watch._stop.set()  # polled here, not by its thread
        recorder = EpochRecorder(tmp_path, epochs=4, steps=10, start_epoch=0)
        recorder.epoch(1, 2.5)
        watch.poll()
        watch.poll()
        assert watch.bar.n == 100.0
        watch.finished([Outcome("a/b", RunState.DONE)])
        watch.finished([Outcome("a/c", RunState.RUNNING)])  # held by another process: not finished
        assert watch.bar.n == 101.0 and watch.runs_done == 1
        watch.finished([Outcome("a/c", RunState.FAILED)])
        assert watch.bar.n == watch.total == 452.0
    shown = stream.getvalue() if terminal else capsys.readouterr().err
    assert shown.count("training 0123456789abcdef [seed=1]: epoch 1/4, loss 2.5000") == 1
    assert "training 0123456789abcdef [seed=1]: 2 runs finished; grid: 2 of 2 runs, no work left" in shown
    assert ("\r" in shown) == terminal


def test_durations_read_as_time():
    assert [duration(s) for s in (0.4, 41, 533, 7500)] == ["0 s", "41 s", "8 min 53 s", "2 h 05 min"]


@pytest.mark.slow
@pytest.mark.parametrize("executor", [[], ["--workers", "2"], ["--executor", "dask", "--workers", "2"]],
                         ids=["in-process", "process-pool", "dask"])
def test_a_grid_logs_every_epoch_of_every_training(fake_system, tiny_dataset, tmp_path, executor):
    """`asdbench grid` into a log file printed nothing for minutes (issue 26): now a line per epoch of each training,
    whichever executor trains it."""
    path = grid_file(tmp_path, tiny_dataset, seeds=(1,), slow=0.05)
    with open(tmp_path / "grid.log", "w") as log:  # not a terminal
        result = subprocess.run([sys.executable, "-m", "asdbench", "grid", str(path), "--out", str(tmp_path / "store"),
                                 *executor], stdout=subprocess.PIPE, stderr=log, text=True, timeout=600)
    lines = (tmp_path / "grid.log").read_text().splitlines()
    assert result.returncode == 0, lines
    epochs = [EPOCH_LINE.match(line) for line in lines]
    shown = sorted((m[1], m[2], m[3]) for m in epochs if m)
    assert shown == sorted((system, seed, epoch) for system in ("small", "wide") for seed in "1" for epoch in "1234")
    assert sum(" run finished; grid: " in line for line in lines) == 2
    assert all("\r" not in line for line in lines)
    assert "2 of 2 runs done" in result.stdout


@pytest.mark.slow
def test_status_shows_the_epoch_a_running_training_is_at(fake_system, tiny_dataset, tmp_path, capsys):
    path = grid_file(tmp_path, tiny_dataset, seeds=(1,), slow=0.3)
    process = subprocess.Popen([sys.executable, "-m", "asdbench", "grid", str(path), "--out", str(tmp_path / "store")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            records = [read_record(d) for d in (tmp_path / "store").glob("*") if d.is_dir()]
            if any(r is not None and r.epoch >= 1 for r in records):
                break
            time.sleep(0.1)
        assert main(["status", str(path), "--out", str(tmp_path / "store")]) == 0
    finally:
        process.kill()
        process.wait()
    out = capsys.readouterr().out
    assert re.search(r"running: training [0-9a-f]{16}: epoch [1-4]/4, loss \d+\.\d{4}, .* \(recorded \d+ s ago\)",
                     out), out
    header, rule, *rows = out.split("\n\n")[0].splitlines()
    assert "epochs" in header.split() and any(re.search(r"running\s+[1-4]/4", row) for row in rows), out
