"""Results are reused only for the data they were made on: a dataset regenerated at the same path is noticed."""

from __future__ import annotations

import json
import shutil

import pytest

from asdbench.contract.registry import get_registry
from asdbench.data.fingerprint import fingerprint
from asdbench.errors import DataError
from asdbench.grid.execute import execute_grid
from asdbench.grid.expand import load_grid
from asdbench.spec.identity import RunSpec
from asdbench.spec.validate import validate_spec
from asdbench.store import datacheck
from asdbench.store import pseudolabels as pseudolabel
from asdbench.store.checks import UnknownOrigin
from asdbench.store.store import Store
from asdbench.synth.generate import generate
from tests.helpers.grids import grid_file


def test_fingerprint_follows_names_sizes_and_small_files(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "clip.wav").write_bytes(b"a" * 100_000)
    (data / "table.csv").write_text("file,label\nx,1\n")
    first = fingerprint([data])
    assert fingerprint([data]) == first
    (data / "table.csv").write_text("file,label\nx,2\n")  # same size, other content: counted
    changed_table = fingerprint([data])
    assert changed_table != first
    (data / "clip.wav").write_bytes(b"b" * 100_000)  # audio counts by name and size only
    assert fingerprint([data]) == changed_table
    (data / "clip.wav").write_bytes(b"b" * 100_002)
    assert fingerprint([data]) != changed_table
    (data / "clip.wav").rename(data / "other.wav")
    assert len({changed_table, fingerprint([data]), fingerprint([data, tmp_path / "absent"])}) == 3


@pytest.mark.slow
def test_runs_made_on_data_since_regenerated_are_refused(fake_system, tmp_path):
    root = tmp_path / "data"
    generate(root, "tiny", seed=0, progress=False)
    grid = load_grid(grid_file(tmp_path, root, seeds=(1,)))
    store = tmp_path / "store"
    execute_grid(grid, store, progress=False)
    run_dir, training = Store(store).directory(grid.runs[0].spec), Store(store).training_directory(grid.runs[0].spec)
    results = (run_dir / "results.json").read_text()
    recorded = json.loads((training / "data.json").read_text())["fingerprint"]
    executions = fake_system.read_text().count("\n")
    execute_grid(grid, store, progress=False)  # same data: read back
    assert fake_system.read_text().count("\n") == executions

    shutil.rmtree(root)
    generate(root, "tiny", seed=1, progress=False)  # same preset and path, other clips
    with pytest.raises(DataError, match=f"{training}.*other data.*{recorded}"):
        execute_grid(grid, store, progress=False)
    with pytest.raises(DataError, match="other data"):
        Store(store).run(grid.runs[0].spec, get_registry(), progress=False)
    rescored = RunSpec(grid.runs[0].spec.canonical | {"system": {**grid.runs[0].spec.system,
                                                                 "backend": {"name": "knn", "k": 2}}})
    with pytest.raises(DataError, match="other data"):  # another scoring of that training is refused too
        Store(store).run(rescored, get_registry(), progress=False)
    assert (run_dir / "results.json").read_text() == results  # nothing overwritten
    assert fake_system.read_text().count("\n") == executions

    execute_grid(grid, tmp_path / "fresh", progress=False)  # a new store computes them on the new data
    assert json.loads((Store(tmp_path / "fresh").training_directory(grid.runs[0].spec) / "data.json").read_text()) \
        != {"fingerprint": recorded}


def test_an_interrupted_run_does_not_resume_on_other_data(fake_system, tmp_path):
    root = tmp_path / "data"
    generate(root, "tiny", seed=0, progress=False)
    spec = load_grid(grid_file(tmp_path, root, seeds=(1,))).runs[0].spec
    store = Store(tmp_path / "store")
    training = store.training_directory(spec)
    training.mkdir(parents=True)
    (training / "data.json").write_text(json.dumps({"fingerprint": "0" * 16}))
    with pytest.raises(DataError, match="other data"):
        store.run(spec, get_registry(), progress=False)
    assert not (training / "trained.json").exists() and not (store.directory(spec) / "results.json").exists()


def test_label_tables_are_keyed_by_the_data(tmp_path):
    registry = get_registry()
    root = tmp_path / "data"
    spec = validate_spec({"dataset": {"name": "synth", "root": str(root)}, "system": {"labels": "pseudo:ground-truth"}},
                         registry)
    identities = []
    for seed in (0, 1):
        shutil.rmtree(root, ignore_errors=True)
        generate(root, "tiny", seed=seed, progress=False)
        identities.append(pseudolabel.identity(spec, registry))
    first, second = (identity["data"] for identity in identities)
    assert first is not None and second is not None and first != second
    assert {**identities[0], "data": None} == {**identities[1], "data": None}


@pytest.mark.slow
def test_a_training_without_its_data_record_is_refused_and_never_resumed(fake_system, tmp_path):
    """Every training records its data before it trains: without that record, which data made its checkpoints
    cannot be told, finished or not (tests/test_code_changes.py: the grid stops naming it, nothing moved)."""
    root = tmp_path / "data"
    generate(root, "tiny", seed=0, progress=False)
    grid = load_grid(grid_file(tmp_path, root, seeds=(1,)))
    execute_grid(grid, tmp_path / "store", progress=False)
    store = Store(tmp_path / "store")
    training = store.training_directory(grid.runs[0].spec)
    (training / "data.json").unlink()
    with pytest.raises(UnknownOrigin, match=f"{training / 'data.json'}: missing.*which data made the training"):
        store.run(grid.runs[0].spec, get_registry(), progress=False)
    (training / "trained.json").unlink()  # as if interrupted: its checkpoints are not resumed either
    shutil.rmtree(store.directory(grid.runs[0].spec))
    executions = fake_system.read_text().count("\n")
    with pytest.raises(DataError, match=f"{training} holds checkpoints but no data.json"):
        store.run(grid.runs[0].spec, get_registry(), progress=False)
    assert fake_system.read_text().count("\n") == executions and not (training / "data.json").exists()


def test_a_dataset_type_without_a_fingerprint_records_none_and_is_not_checked(tmp_path):
    datacheck.record(tmp_path, None)
    assert json.loads((tmp_path / "data.json").read_text()) == {"fingerprint": None}
    datacheck.check(tmp_path, None)
    with pytest.raises(DataError, match="records no fingerprint of the data it was made on"):
        datacheck.check(tmp_path, "sha256:abc")
