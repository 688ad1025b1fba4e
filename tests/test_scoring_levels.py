"""Two levels of identity: runs that differ only in how they score share one training.

A backend or ensemble ablation trains once and scores each variant from the stored embeddings, with the
results of separate full runs; an invalid backend fails before any training; checkpoints a training did not
keep are re-created exactly; a store of the one-level layout asdbench wrote before 0.1.0 is left as it is, and its
runs are computed anew beside it.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import replace

import pytest

from asdbench.contract.registry import get_registry
from asdbench.errors import PreflightError, SpecError
from asdbench.grid.execute import execute_grid, grid_status
from asdbench.grid.expand import load_grid
from asdbench.report import leaderboard
from asdbench.spec.identity import RunSpec
from asdbench.store.reading import RunState
from asdbench.store.store import Store
from tests.helpers.fake_system import trainings
from tests.helpers.grids import BACKENDS, backend_grid


@pytest.mark.slow
def test_backend_variants_train_once_and_equal_separate_full_runs(fake_system, tiny_dataset, tmp_path):
    grid = load_grid(backend_grid(tmp_path, tiny_dataset))
    assert len({run.spec.training_hash for run in grid.runs}) == 1 and len({r.spec.hash for r in grid.runs}) == 4
    outcomes = execute_grid(grid, tmp_path / "store", progress=False)
    assert {o.state for o in outcomes.values()} == {RunState.DONE}
    assert trainings(fake_system) == 1, "one training for four scorings"
    training = Store(tmp_path / "store").training_directory(grid.runs[0].spec)
    assert sorted(p.parent.name for p in training.glob("*/results.json")) == sorted(r.spec.scoring_hash
                                                                                   for r in grid.runs)
    status = grid_status(grid, tmp_path / "store")
    assert {(row["training"], row["trained"]) for row in status} == {(training.name, "done")}
    assert {row["state"] for row in status} == {"done"}

    for index, run in enumerate(grid.runs):  # each variant alone, in a store of its own, trains again
        alone = Store(tmp_path / f"alone-{index}").run(run.spec, get_registry(), progress=False)
        assert alone == Store(tmp_path / "store").results(run.spec), run.coordinates
    assert trainings(fake_system) == 1 + len(grid.runs)
    assert "4 runs, scored from 1 trainings" in leaderboard.render(grid, tmp_path / "store")


def test_an_invalid_backend_fails_before_any_training(fake_system, tiny_dataset, tmp_path):
    variants = BACKENDS + '[[variants.backend]]\nname = "k=0"\n"system.backend" = {{name = "knn", k = 0}}\n'
    with pytest.raises(SpecError, match=r"\[backend=k=0\]: system.backend.k: expected a number >= 1, got 0"):
        load_grid(backend_grid(tmp_path, tiny_dataset, variants))  # validation refuses it before any run
    # a spec that bypasses validation (one written by hand) is refused by the grid's checks, before any training
    grid = load_grid(backend_grid(tmp_path, tiny_dataset, variants.replace("k = 0", "k = 2")))
    invalid = next(run for run in grid.runs if run.coordinates["backend"] == "k=0")
    invalid = replace(invalid, spec=RunSpec({**invalid.spec.canonical, "system": {
        **invalid.spec.system, "backend": {"name": "knn", "k": 0}}}))
    grid = replace(grid, runs=[invalid if run.coordinates["backend"] == "k=0" else run for run in grid.runs])
    with pytest.raises(PreflightError, match=r"\[backend=k=0\]: system.backend: .*knn.k: expected a number >= 1"):
        execute_grid(grid, tmp_path / "store", progress=False)
    with pytest.raises(PreflightError, match=r"knn\.k: expected a number >= 1, got 0"):
        Store(tmp_path / "store").run(invalid.spec, get_registry(), progress=False)
    assert trainings(fake_system) == 0 and not (tmp_path / "store").exists()


@pytest.mark.slow
def test_a_checkpoint_the_training_did_not_keep_is_re_created_exactly(fake_system, tiny_dataset, tmp_path):
    grid = load_grid(backend_grid(tmp_path, tiny_dataset, variants='[[variants.backend]]\nname = "knn k=1"\n'))
    base = grid.runs[0].spec  # keeps epochs 2 and 4
    store = Store(tmp_path / "store")
    store.run(base, get_registry(), progress=False)
    third = RunSpec(base.canonical | {"train": {**base.train, "checkpoints": [1, 3]}})
    assert third.training_hash == base.training_hash
    results = store.run(third, get_registry(), progress=False)
    checkpoints = store.training_directory(base) / "checkpoints"
    assert sorted(p.name for p in checkpoints.iterdir()) == [f"epoch_00{e}.pt" for e in (1, 2, 3, 4)]
    fresh = Store(tmp_path / "fresh").run(third, get_registry(), progress=False)
    assert results == fresh, "epochs 1 and 3 trained again from the start equal a training that kept them"
    from_epoch_2 = RunSpec(base.canonical | {"train": {**base.train, "checkpoints": [3]}})
    other = Store(tmp_path / "other")
    other.run(base, get_registry(), progress=False)
    assert other.run(from_epoch_2, get_registry(), progress=False) == \
        Store(tmp_path / "fresh").run(from_epoch_2, get_registry(), progress=False), "epoch 3 from epoch 2's state"


@pytest.mark.slow
def test_a_one_level_store_is_left_as_it_is_and_its_runs_are_computed_anew(fake_system, tiny_dataset, tmp_path):
    grid = load_grid(backend_grid(tmp_path, tiny_dataset))
    execute_grid(grid, tmp_path / "store", progress=False)
    expected = leaderboard.render(grid, tmp_path / "store")
    old = tmp_path / "old"
    for index, run in enumerate(grid.runs):
        write_one_level_run(Store(tmp_path / "store"), run.spec, old / f"{index:016x}")
    before = contents(old)
    assert {row["state"] for row in grid_status(grid, old)} == {"pending"}, "an old run is none of today's"

    executions = trainings(fake_system)
    execute_grid(grid, old, progress=False)
    assert trainings(fake_system) == executions + 1, "trained anew, once for the four scorings"
    assert leaderboard.render(grid, old) == expected
    assert {path: data for path, data in contents(old).items() if path.parts[0] in
            {f"{index:016x}" for index in range(len(grid.runs))}} == before, "the old runs are left as they were"


def contents(root):
    """Every file under ``root``, by path relative to it: its bytes."""
    return {path.relative_to(root): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


def write_one_level_run(store, spec, directory):
    """``spec``'s run as asdbench wrote it before 0.1.0, when trainings and scorings had no directories of their own."""
    training, run = store.training_directory(spec), store.directory(spec)
    shutil.copytree(training / "checkpoints", directory / "checkpoints")
    os.makedirs(directory / "embeddings")
    for epoch in spec.train["checkpoints"]:
        shutil.copy(training / "embeddings" / f"epoch_{epoch:03d}.npz", directory / "embeddings")
    shutil.copytree(run / "scores", directory / "scores")
    for name in ("data.json", "provenance.json"):
        shutil.copy(training / name, directory / name)
    canonical = json.loads((run / "spec.json").read_text())
    del canonical["system"]["decision_quantile"]
    (directory / "spec.json").write_text(json.dumps(canonical))
    results = json.loads((run / "results.json").read_text())
    del results["training"], results["scoring"]
    (directory / "results.json").write_text(json.dumps({**results, "hash": directory.name}))


SHORT_BACKEND = """
    import numpy as np
    from asdbench.hookspecs import hookimpl

    class Short:
        def fit(self, embeddings, domains):
            pass
        def score(self, embeddings):
            return np.zeros(3)

    def short():
        return Short()

    @hookimpl
    def asdbench_register_backends(register):
        register("short", short)
"""


@pytest.mark.slow
def test_a_backend_breaking_its_contract_is_one_line_naming_it(fake_system, tiny_dataset, tmp_path, capsys):
    from asdbench.cli.main import main
    from asdbench.contract import registry as plugins
    from tests.helpers.distributions import write_distribution

    write_distribution(tmp_path / "site", "asdbench-short", "asdbench_short", SHORT_BACKEND, version="0.3")
    spec_file = tmp_path / "short.toml"
    spec_file.write_text(backend_grid(tmp_path, tiny_dataset, "").read_text().split("[table]")[0]
                         .replace("[base.", "[").replace("[base]\n", "").replace('{name = "knn", k = 1}', '"short"'))
    with plugins.use_registry(None):
        assert main(["run", str(spec_file), "--out", str(tmp_path / "store")]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0, error
    assert "backend 'short' (asdbench-short 0.3)" in error and "shape (3,) for" in error


def test_a_backend_that_cannot_fit_the_data_fails_before_any_training(fake_system, tiny_dataset, tmp_path):
    variants = '[[variants.backend]]\nname = "too many clusters"\n' \
               '"system.backend" = {{name = "kmeans-target", clusters = 500}}\n'
    grid = load_grid(backend_grid(tmp_path, tiny_dataset, variants))
    with pytest.raises(PreflightError) as refused:
        execute_grid(grid, tmp_path / "store", progress=False)
    assert "[backend=too many clusters]: dev/" in str(refused.value)
    assert "source-domain training clips for 500 clusters" in str(refused.value)
    assert "more machine sections)" in str(refused.value)
    assert trainings(fake_system) == 0 and not (tmp_path / "store").exists()
