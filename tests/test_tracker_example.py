"""The example tracker plugin (examples/asdbench-tensorboard): the event files it writes through the lifecycle hooks
are opened with TensorBoard's own reader."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from asdbench.contract.registry import Registry
from asdbench.grid.expand import load_grid
from asdbench.store.store import Store
from tests.helpers.grids import backend_grid

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "asdbench-tensorboard"


@pytest.fixture
def tracker(monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLE))
    return importlib.import_module("asdbench_tensorboard.plugin")


def scalars(directory: Path) -> dict[str, list[tuple[int, float]]]:
    events = EventAccumulator(str(directory))
    events.Reload()
    return {tag: [(event.step, event.value) for event in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


def test_the_hooks_write_what_tensorboard_reads(tracker, tmp_path):
    training, run = tmp_path / "0123456789abcdef", tmp_path / "0123456789abcdef" / "fedcba9876543210"
    for epoch, loss in ((1, 2.5), (2, 1.25)):
        tracker.asdbench_epoch_finished(training_dir=training, training={}, epoch=epoch, epochs=2, loss=loss,
                                        seconds=0.5 * epoch, machine=None)
    assert not tracker._writers, "closed after the last epoch"
    machines = [{"machine": "fan", "section": "00", "hmean": 0.75}, {"machine": "valve", "section": "00", "hmean": 0.5}]
    tracker.asdbench_run_finished(run_dir=run, spec={"train": {"epochs": 2}}, results={"splits": {
        "dev": {"official_score": 0.625, "machines": machines}, "eval": None}})
    assert scalars(training / "tensorboard") == {"train/loss": [(1, 2.5), (2, 1.25)],
                                                 "train/epoch_seconds": [(1, 0.5), (2, 1.0)]}
    assert scalars(run / "tensorboard") == {"dev/official_score": [(2, 0.625)], "dev/hmean/fan_00": [(2, 0.75)],
                                            "dev/hmean/valve_00": [(2, 0.5)]}


@pytest.mark.slow
def test_a_training_through_the_store_logs_every_epoch(tracker, fake_system, tiny_dataset, tmp_path):
    spec = load_grid(backend_grid(tmp_path, tiny_dataset, variants='[[variants.backend]]\nname = "knn"\n')).runs[0].spec
    store = Store(tmp_path / "store")
    results = store.run(spec, Registry(extra_plugins=[tracker]), progress=False)
    curve = scalars(store.training_directory(spec) / "tensorboard")
    history = store.training_directory(spec) / "history.json"
    assert [step for step, _ in curve["train/loss"]] == [1, 2, 3, 4] and history.exists()
    scores = scalars(store.directory(spec) / "tensorboard")
    assert scores["eval/official_score"] == [(4, pytest.approx(results["splits"]["eval"]["official_score"]))]
