"""What a training records for a reviewer (provenance: checkouts, host, command line, times; history: each epoch's
loss and wall time), the per-epoch lifecycle hook, and checkpoints kept once each."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from asdbench.contract.registry import Registry
from asdbench.grid.expand import load_grid
from asdbench.hookspecs import hookimpl
from asdbench.store import provenance
from asdbench.store.store import Store
from tests.helpers.grids import backend_grid

ONE_BACKEND = '[[variants.backend]]\nname = "knn k=1"\n'


class Tracker:
    """Records the lifecycle hooks in the order they are called."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    @hookimpl
    def asdbench_run_started(self, run_dir, spec):
        self.calls.append(("started", run_dir.name))

    @hookimpl
    def asdbench_epoch_finished(self, training_dir, training, epoch, epochs, loss, seconds):
        assert training["seed"] == 1 and seconds > 0 and loss > 0
        self.calls.append(("epoch", training_dir.name, epoch, epochs))

    @hookimpl
    def asdbench_run_finished(self, run_dir, spec, results):
        self.calls.append(("finished", run_dir.name))


@pytest.mark.slow
def test_a_training_records_its_history_provenance_and_hooks(fake_system, tiny_dataset, tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["asdbench", "grid", "grid.toml"])
    spec = load_grid(backend_grid(tmp_path, tiny_dataset, variants=ONE_BACKEND)).runs[0].spec  # 4 epochs, keeps 2, 4
    tracker = Tracker()
    store = Store(tmp_path / "store")
    store.run(spec, Registry(extra_plugins=[tracker]), progress=False)
    training, run = store.training_directory(spec), store.directory(spec)
    assert tracker.calls == [("started", spec.scoring_hash),
                             *[("epoch", spec.training_hash, epoch, 4) for epoch in (1, 2, 3, 4)],
                             ("finished", spec.scoring_hash)]
    history = json.loads((training / "history.json").read_text())["epochs"]
    assert [e["epoch"] for e in history] == [1, 2, 3, 4]
    assert all(e["seconds"] > 0 and e["loss"] > 0 and e["finished"].endswith("+00:00") for e in history)
    made = json.loads((training / "provenance.json").read_text())
    assert made["command"] == ["asdbench", "grid", "grid.toml"] and made["host"] and made["device"] == "cpu"
    assert made["started"] <= history[0]["finished"] <= history[-1]["finished"] <= made["finished"]
    assert set(made["checkouts"]["asdbench"]) == {"root", "commit", "dirty"}
    assert made["checkouts"]["asdbench-fake-system"] is None, "installed outside any git checkout"
    scored = json.loads((run / "provenance.json").read_text())
    assert scored["started"] <= scored["finished"] and "device" not in scored
    assert sorted(p.name for p in (training / "checkpoints").iterdir()) == ["epoch_002.pt", "epoch_004.pt"]


@pytest.mark.slow
def test_a_resumed_training_keeps_what_its_first_attempt_recorded(fake_system, tiny_dataset, tmp_path):
    spec = load_grid(backend_grid(tmp_path, tiny_dataset, variants=ONE_BACKEND)).runs[0].spec
    store = Store(tmp_path / "store")
    training = store.training_directory(spec)
    training.mkdir(parents=True)
    (training / "provenance.json").write_text(json.dumps({"host": "elsewhere", "started": "2020-01-01T00:00:00+00:00"}))
    (training / "history.json").write_text(json.dumps({"epochs": [{"epoch": 1, "loss": 9.0, "seconds": 1.0,
                                                                    "finished": "2020-01-01T00:00:01+00:00"}]}))
    store.run(spec, Registry(), progress=False)
    made = json.loads((training / "provenance.json").read_text())
    assert made["earlier"] == [{"host": "elsewhere", "started": "2020-01-01T00:00:00+00:00"}]
    assert [e["loss"] == 9.0 for e in json.loads((training / "history.json").read_text())["epochs"]] == \
        [False] * 4, "the epochs trained again replace the earlier lines"


@pytest.mark.slow
def test_a_checkout_names_its_commit_and_whether_its_package_has_changes(tmp_path, monkeypatch):
    package = tmp_path / "repo" / "my_plugin"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")

    def git(*arguments):
        subprocess.run(["git", "-C", str(tmp_path / "repo"), *arguments], check=True, capture_output=True)

    git("init", "-q")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "first")
    monkeypatch.setattr(provenance, "package_roots", lambda name: [package])
    provenance.checkout.cache_clear()
    clean = provenance.checkout("my-plugin")
    (package / "new.py").write_text("")
    provenance.checkout.cache_clear()
    dirty = provenance.checkout("my-plugin")
    assert clean["dirty"] is False and dirty["dirty"] is True and len(clean["commit"]) == 40
    monkeypatch.setattr(provenance, "package_roots", lambda name: [tmp_path])
    provenance.checkout.cache_clear()
    assert provenance.checkout("elsewhere") is None, "not in a work tree"
    provenance.checkout.cache_clear()


@pytest.mark.slow
def test_seeds_trained_stacked_each_record_their_own_losses_and_the_stacks_epoch_time(fake_system, tiny_dataset,
                                                                                    tmp_path):
    from asdbench.grid.execute import execute_grid
    from tests.helpers.grids import grid_file

    path = grid_file(tmp_path, tiny_dataset, seeds=(1, 2))
    path.write_text(path.read_text().replace("batch_size = 8", "batch_size = 8\nstack_seeds = 2")
                    .replace('[[variants.system]]\nname = "wide"\n"system.networks" = [{name = "fake-dense", '
                             'embedding_dim = 16}]\n', ""))
    grid = load_grid(path)
    assert len(grid.runs) == 2
    execute_grid(grid, tmp_path / "store", progress=False)
    store = Store(tmp_path / "store")
    first, second = (json.loads((store.training_directory(run.spec) / "history.json").read_text())["epochs"]
                     for run in grid.runs)
    assert [e["epoch"] for e in first] == [e["epoch"] for e in second] == [1, 2, 3, 4]
    assert [e["seconds"] for e in first] == [e["seconds"] for e in second], "one stacked epoch, one wall time"
    assert [e["loss"] for e in first] != [e["loss"] for e in second], "each seed its own loss"
