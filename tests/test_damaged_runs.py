"""Damaged run files are named, set aside (never deleted) and computed again from the last good state; two
`asdbench run` processes on one spec compute it once."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from asdbench.contract.registry import get_registry
from asdbench.grid.execute import execute_grid, grid_status
from asdbench.grid.expand import load_grid
from asdbench.report import leaderboard
from asdbench.store.store import Store
from tests.helpers.fake_system import trainings
from tests.helpers.grids import backend_grid

ONE_RUN = '[[variants.backend]]\nname = "knn k=1"\n'


def finished(tmp_path, root, name):
    """The one run of a small grid, finished in a store of its own; returns (store, spec, results)."""
    grid = load_grid(backend_grid(tmp_path, root, ONE_RUN))
    store = Store(tmp_path / name)
    return store, grid.runs[0].spec, store.run(grid.runs[0].spec, get_registry(), progress=False)


def damage(path):
    path.write_bytes(path.read_bytes()[: max(1, path.stat().st_size // 3)])


def set_aside(path):
    return sorted(p.name for p in path.parent.glob(f"{path.name}.damaged-*"))


@pytest.mark.slow
def test_a_damaged_last_checkpoint_resumes_from_the_last_good_epoch(fake_system, tiny_dataset, tmp_path, capsys):
    _, _, expected = finished(tmp_path, tiny_dataset, "reference")
    store, spec, _ = finished(tmp_path, tiny_dataset, "store")
    training = store.training_directory(spec)
    checkpoints = training / "checkpoints"  # "interrupted" after epoch 3, whose last.pt is damaged
    (checkpoints / "epoch_004.pt").rename(checkpoints / "last.pt")
    for path in (training / "trained.json", training / "embeddings", store.directory(spec)):
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    damage(checkpoints / "last.pt")
    assert store.run(spec, get_registry(), progress=False) == expected
    assert len(set_aside(training / "checkpoints" / "last.pt")) == 1
    assert "last.pt is damaged" in capsys.readouterr().err


@pytest.mark.slow
def test_a_damaged_ensemble_checkpoint_is_re_created(fake_system, tiny_dataset, tmp_path):
    _, _, expected = finished(tmp_path, tiny_dataset, "reference")
    store, spec, _ = finished(tmp_path, tiny_dataset, "store")
    training = store.training_directory(spec)
    (training / "embeddings" / "epoch_004.npz").unlink()
    shutil.rmtree(store.directory(spec))
    damage(training / "checkpoints" / "epoch_004.pt")
    assert store.run(spec, get_registry(), progress=False) == expected
    assert len(set_aside(training / "checkpoints" / "epoch_004.pt")) == 1


@pytest.mark.slow
def test_damaged_results_show_in_status_and_are_scored_again(fake_system, tiny_dataset, tmp_path):
    path = backend_grid(tmp_path, tiny_dataset, ONE_RUN)
    grid = load_grid(path)
    execute_grid(grid, tmp_path / "store", progress=False)
    expected = leaderboard.render(grid, tmp_path / "store")
    results = Store(tmp_path / "store").directory(grid.runs[0].spec) / "results.json"
    damage(results)
    assert [row["state"] for row in grid_status(grid, tmp_path / "store")] == ["damaged"]
    assert "missing" in leaderboard.render(grid, tmp_path / "store")
    executions = trainings(fake_system)
    execute_grid(grid, tmp_path / "store", progress=False)
    assert leaderboard.render(grid, tmp_path / "store") == expected and trainings(fake_system) == executions
    assert len(set_aside(results)) == 1


@pytest.mark.slow
def test_damaged_embeddings_are_named_set_aside_and_computed_again(fake_system, tiny_dataset, tmp_path):
    _, _, expected = finished(tmp_path, tiny_dataset, "reference")
    store, spec, _ = finished(tmp_path, tiny_dataset, "store")
    embeddings = store.training_directory(spec) / "embeddings" / "epoch_002.npz"
    shutil.rmtree(store.directory(spec))
    damage(embeddings)
    outcome = store.attempt(spec, get_registry())
    assert outcome.state.value == "failed" and str(embeddings) in outcome.error
    assert store.run(spec, get_registry(), progress=False) == expected
    assert len(set_aside(embeddings)) == 1


@pytest.mark.slow
def test_two_run_processes_on_one_spec_train_it_once(fake_system, tiny_dataset, tmp_path):
    grid = backend_grid(tmp_path, tiny_dataset, ONE_RUN).read_text()
    spec_file = tmp_path / "one.toml"
    spec_file.write_text(grid.split("[[variants")[0].replace("[base.", "[").replace("[base]\n", "")
                         .replace('loss = "fake-softmax"', 'loss = {name = "fake-softmax", slow = 0.05}'))
    command = [sys.executable, "-m", "asdbench", "run", str(spec_file), "--out", str(tmp_path / "store")]
    processes = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]
    outputs = [process.communicate(timeout=300) for process in processes]
    assert [process.returncode for process in processes] == [0, 0], outputs
    assert trainings(fake_system) == 1, "the second process waited for the first and read its run back"
    tables = [out.split("## Official score (%)")[1].split("files written")[0] for out, _ in outputs]
    assert tables[0] == tables[1] and "| one " in tables[0]
