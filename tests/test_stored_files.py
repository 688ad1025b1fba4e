"""Stored files are checked for what they say, not only for being readable (issue 22 §5): a file copied from
another run, a record lacking a field, a metric out of range, an embedding that does not fit its machines, a missing
score file are each named, shown as damaged, set aside and computed again from the last good state.

One small grid (two scorings of one training, and a second training) is trained once for the module; each test
works on a copy of its store."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from asdbench.cli.main import main
from asdbench.contract.registry import get_registry, use_registry
from asdbench.grid.execute import execute_grid, grid_status
from asdbench.grid.expand import load_grid
from asdbench.report import leaderboard
from asdbench.store.store import Store
from tests.helpers.fake_system import install_fake_system
from tests.helpers.grids import backend_grid

pytestmark = pytest.mark.slow  # the module's store is trained in the first test's set-up

VARIANTS = """
[[variants.backend]]
name = "k1"
[[variants.backend]]
name = "k3"
"system.backend" = {{name = "knn", k = 3}}
[[variants.backend]]
name = "wide"
"system.networks" = [{{name = "fake-dense", embedding_dim = 16}}]
"""


@pytest.fixture(scope="module")
def finished(tmp_path_factory, tiny_dataset):
    """The grid file and its finished store, and each run's leaderboard row, trained once."""
    directory = tmp_path_factory.mktemp("finished")
    with pytest.MonkeyPatch.context() as monkeypatch:
        install_fake_system(directory, monkeypatch)
        with use_registry(None):
            path = backend_grid(directory, tiny_dataset, VARIANTS)
            execute_grid(load_grid(path), directory / "store", progress=False)
            yield path, directory / "store", leaderboard.render(load_grid(path), directory / "store")


@pytest.fixture
def store(finished, tmp_path):
    """A copy of the finished store: (grid, store root, runs by variant name, the leaderboard it renders)."""
    path, root, table = finished
    shutil.copytree(root, tmp_path / "store")
    grid = load_grid(path)
    return grid, tmp_path / "store", {run.coordinates["backend"]: run.spec for run in grid.runs}, table


def states(grid, root):
    return {row["backend"]: row["state"] for row in grid_status(grid, root)}


def set_aside(path):
    return sorted(p.name for p in path.parent.glob(f"{path.name}.damaged-*"))


def recomputed(grid, root, table, path, capsys):
    """Running the grid again sets ``path`` aside, naming it, and restores the table; returns what it said."""
    execute_grid(grid, root, progress=False)
    assert leaderboard.render(grid, root) == table
    assert len(set_aside(path)) == 1
    assert set(states(grid, root).values()) == {"done"}
    return capsys.readouterr().err


def test_results_copied_from_the_sibling_scoring_are_not_shown_as_its_own(store, capsys):
    grid, root, specs, table = store
    target = Store(root).directory(specs["k1"]) / "results.json"
    shutil.copy(Store(root).directory(specs["k3"]) / "results.json", target)
    assert states(grid, root)["k1"] == "damaged" and states(grid, root)["k3"] == "done"
    assert "missing" in leaderboard.render(grid, root)
    said = recomputed(grid, root, table, target, capsys)
    assert f"{target} is damaged (field 'scoring' is '{specs['k3'].scoring_hash}'" in said


@pytest.mark.parametrize(("value", "shown"), [(5.0, "5.0"), ("abc", "'abc'"), (None, "None"), (-0.1, "-0.1")])
def test_a_metric_out_of_range_or_not_a_number_is_damage(store, capsys, value, shown):
    grid, root, specs, table = store
    target = Store(root).directory(specs["k1"]) / "results.json"
    results = json.loads(target.read_text())
    results["splits"]["dev"]["official_score"] = value
    target.write_text(json.dumps(results))
    assert states(grid, root)["k1"] == "damaged"
    assert main(["leaderboard", str(grid.path), "--out", str(root)]) == 0
    out = capsys.readouterr().out
    assert "500.00" not in out and "missing" in out
    said = recomputed(grid, root, table, target, capsys)
    assert f"splits.dev.official_score is {shown}, not a metric in [0, 1]" in said


def test_a_machine_metric_out_of_range_is_damage(store):
    grid, root, specs, _ = store
    target = Store(root).directory(specs["k1"]) / "results.json"
    results = json.loads(target.read_text())
    results["splits"]["dev"]["machines"][0]["auc_source"] = 1.5
    target.write_text(json.dumps(results))
    assert states(grid, root)["k1"] == "damaged"


@pytest.mark.parametrize("lacking", ["scoring", "score_files", "auc_all", "official_score_ci95"])
def test_a_results_json_lacking_a_field_is_damage_and_scored_again(store, capsys, lacking):
    """A scoring writes its whole record: one without a field of it was cut short or edited, and is scored again."""
    grid, root, specs, table = store
    target = Store(root).directory(specs["k1"]) / "results.json"
    results = json.loads(target.read_text())
    splits = results["splits"].values()
    parts = {"auc_all": [m for split in splits for m in split["machines"]], "official_score_ci95": list(splits)}
    for part in parts.get(lacking, [results]):
        del part[lacking]
    target.write_text(json.dumps(results))
    assert states(grid, root)["k1"] == "damaged"
    said = recomputed(grid, root, table, target, capsys)
    assert f"{target} is damaged" in said and f"no {lacking!r}" in said.replace("no field", "no")


@pytest.mark.parametrize("content", ["garbage", "another run's"])
def test_a_spec_json_that_lies_is_noticed(store, capsys, content):
    grid, root, specs, table = store
    target = Store(root).directory(specs["k1"]) / "spec.json"
    if content == "garbage":
        target.write_text("{not json")
    else:
        shutil.copy(Store(root).directory(specs["k3"]) / "spec.json", target)
    assert states(grid, root)["k1"] == "damaged"
    said = recomputed(grid, root, table, target, capsys)
    assert f"{target} is damaged" in said


@pytest.mark.parametrize(("name", "content"), [("training.json", "garbage"), ("training.json", "another run's"),
                                               ("trained.json", "another run's"), ("trained.json", "no training")])
def test_training_records_that_lie_are_noticed(store, capsys, name, content):
    grid, root, specs, table = store
    target = Store(root).training_directory(specs["k1"]) / name
    if content == "garbage":
        target.write_bytes(b"\x00\x01")
    elif content == "no training":
        target.write_text(json.dumps({k: v for k, v in json.loads(target.read_text()).items() if k != "training"}))
    else:
        shutil.copy(Store(root).training_directory(specs["wide"]) / name, target)
    assert states(grid, root) == {"k1": "damaged", "k3": "damaged", "wide": "done"}
    said = recomputed(grid, root, table, target, capsys)
    assert f"{target} is damaged" in said
    assert json.loads(target.read_text()) != json.loads(
        (Store(root).training_directory(specs["wide"]) / name).read_text())


def test_a_garbage_data_record_is_one_line_naming_it(store, capsys):
    grid, root, specs, _ = store
    target = Store(root).training_directory(specs["k1"]) / "data.json"
    target.write_text("][")
    assert main(["grid", str(grid.path), "--out", str(root)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and f"{target} is damaged" in error and "cannot be told" in error
    assert target.read_text() == "]["  # nothing the user has is moved or lost: they decide


@pytest.mark.parametrize(("damage", "problem"), [
    ("shape", "holds a float32 array of shape (3, 8), not one row of numbers per clip"),
    ("missing", "no embeddings of dev."),
    ("nan", "values that are NaN or infinite"),
])
def test_embeddings_that_do_not_fit_are_named_set_aside_and_computed_again(store, capsys, damage, problem):
    grid, root, specs, table = store
    training = Store(root).training_directory(specs["k1"])
    target = training / "embeddings" / "epoch_004.npz"
    with np.load(target) as stored:
        arrays = {key: stored[key] for key in stored.files}
    first = sorted(arrays)[0]
    if damage == "shape":
        arrays[first] = arrays[first][:3]
    elif damage == "missing":
        arrays.pop(first)
    else:
        arrays[first] = np.full_like(arrays[first], np.nan)
    np.savez(target, **arrays)
    shutil.rmtree(Store(root).directory(specs["k1"]))
    outcome = Store(root).attempt(specs["k1"], get_registry())
    assert outcome.state.value == "failed" and str(target) in outcome.error and problem in outcome.error
    assert "knn" not in outcome.error  # the file is at fault, not the backend plugin
    recomputed(grid, root, table, target, capsys)


def test_a_score_file_deleted_from_a_finished_run_is_written_again(store, capsys):
    grid, root, specs, table = store
    scores = Store(root).directory(specs["k1"]) / "scores" / "dev"
    deleted = sorted(scores.glob("anomaly_score_*.csv"))[0]
    expected = deleted.read_text()
    deleted.unlink()
    assert states(grid, root)["k1"] == "damaged"
    results = Store(root).directory(specs["k1"]) / "results.json"
    said = recomputed(grid, root, table, results, capsys)
    assert f"{deleted}: missing from the finished run" in said and deleted.read_text() == expected


def test_one_path_set_aside_twice_within_a_second_keeps_both(tmp_path, capsys):
    from asdbench.files.damaged import set_aside as set_damaged_aside
    from asdbench.store.listing import SET_ASIDE
    from asdbench.store.stale import set_aside as set_stale_aside

    results = tmp_path / "results.json"
    kept = []
    for text in ("first", "second"):
        results.write_text(text)
        kept.append(set_damaged_aside(results, "truncated"))
    assert [path.read_text() for path in kept] == ["first", "second"]
    training = tmp_path / "0123456789abcdef"
    for _ in range(2):
        training.mkdir()
        kept.append(set_stale_aside(training))
    assert len(set(kept)) == 4 and all(SET_ASIDE.search(path.name) for path in kept)
