"""``train.machinewise``: one model per machine type (asdbench.store.models), each trained on its machine type's
clips and classes only, each machine type's units embedded and scored by its own model; out of the hash at its
default; resumed after a kill like a shared training."""

from __future__ import annotations

import signal
import textwrap
import time

import pandas as pd
import pytest
import torch

from asdbench.contract.registry import get_registry
from asdbench.data.labels import build_labels
from asdbench.data.units import Unit
from asdbench.errors import SpecError
from asdbench.grid.execute import check_grid, execute_grid
from asdbench.grid.expand import load_grid
from asdbench.grid.watch import plan
from asdbench.spec.validate import validate_spec
from asdbench.store.datacheck import open_dataset
from asdbench.store.layout import read_json
from asdbench.store.models import model_units
from asdbench.store.store import Store
from tests.helpers.grids import fake_system_base, start_asdbench

BASE = {"dataset": {"name": "synth", "root": "data"},
        "system": {"frontends": ["spectrum"], "networks": ["spectrum-cnn"], "loss": "scac", "backend": "knn"}}


def spec(**train):
    return validate_spec({**BASE, "train": train}, get_registry())


def test_machinewise_false_is_the_shared_run_and_true_another_training():
    shared, stated, machinewise = spec(), spec(machinewise=False), spec(machinewise=True)
    assert "machinewise" not in shared.train and stated.canonical == shared.canonical
    assert machinewise.train["machinewise"] is True
    assert machinewise.training_hash != shared.training_hash and machinewise.scoring_hash == shared.scoring_hash


@pytest.mark.parametrize(("train", "message"), [
    ({"epochs": 0}, r"train.machinewise trains one model per machine type, but train.epochs = 0 trains none"),
    ({"stack_seeds": 2}, r"train.machinewise with train.stack_seeds > 1 is not supported"),
])
def test_what_machinewise_cannot_do_is_refused_before_any_work(train, message):
    with pytest.raises(SpecError, match=message):
        spec(machinewise=True, **train)


def unit(split: str, machine: str, section: str) -> Unit:
    return Unit(split, machine, section, pd.DataFrame(), pd.DataFrame())


def test_a_machine_type_model_holds_its_sections_of_every_split():
    """DCASE 2020-2022: a machine type's dev and additional-training sections train one model, as ASDKit's formatted
    raw/<machine>/train holds them."""
    units = [unit("dev", "fan", "00"), unit("dev", "fan", "01"), unit("dev", "valve", "00"),
             unit("eval", "fan", "03"), unit("eval", "valve", "03")]
    assert model_units(units, machinewise=False) == [(None, units)]
    assert [(machine, [u.key for u in group]) for machine, group in model_units(units, machinewise=True)] == [
        ("fan", ["dev.fan.00", "dev.fan.01", "eval.fan.03"]), ("valve", ["dev.valve.00", "eval.valve.03"])]


def machinewise_grid(tmp_path, root, *, slow: float = 0.0):
    path = tmp_path / "machinewise.toml"
    path.write_text(fake_system_base(root, seed=1) + textwrap.dedent(f"""
        loss = {{name = "fake-softmax", slow = {slow}}}
        backend = {{name = "knn", k = 1}}
        [base.train]
        epochs = 3
        checkpoints = [2, 3]
        batch_size = 8
        clip_seconds = 1.0
        machinewise = true
        [table]
        rows = "machine"
        columns = "split"
        value = "hmean"
    """))
    return path


def manifest(spec_) -> pd.DataFrame:
    dataset = open_dataset(spec_.dataset, get_registry())
    return pd.concat([dataset.manifest(split) for split in spec_.dataset["splits"]])


def classes_by_machine(rows: pd.DataFrame) -> dict[str, int]:
    """The classes of each machine type's training clips alone."""
    train = rows[rows["subset"] == "train"]
    return {machine: build_labels(group, "attributes").num_classes for machine, group in train.groupby("machine")}


def test_the_grid_weighs_a_machinewise_training_as_its_models_epochs_in_turn(fake_system, tiny_dataset, tmp_path):
    grid = load_grid(machinewise_grid(tmp_path, tiny_dataset))
    store = Store(tmp_path / "store")
    checked = check_grid(grid, store, get_registry(), changed_code="refuse", device=True)
    (training,) = plan(grid, store, checked)
    size = checked.sizes[grid.runs[0].spec.hash]
    assert size.machines == 4 and training.epochs == training.epochs_left == 3 * 4
    assert training.epoch_work == size.training_clips / 4


@pytest.mark.slow
def test_a_machinewise_run_trains_a_model_per_machine_and_resumes_after_a_kill(fake_system, tiny_dataset, tmp_path):
    path = machinewise_grid(tmp_path, tiny_dataset, slow=0.05)
    grid = load_grid(path)
    (run,) = grid.runs
    execute_grid(grid, tmp_path / "reference", progress=False)
    reference = Store(tmp_path / "reference")
    training = reference.training_directory(run.spec)

    rows = manifest(run.spec)
    classes = classes_by_machine(rows)  # the tiny preset: 2 machine types in dev, 2 others in eval
    assert len(classes) == 4
    assert read_json(training / "trained.json")["num_classes"] == classes
    for machine, count in classes.items():  # each model's head has its machine type's classes, no other
        assert sorted(p.name for p in (training / "checkpoints" / machine).iterdir()) == ["epoch_002.pt",
                                                                                          "epoch_003.pt"]
        state = torch.load(training / "checkpoints" / machine / "epoch_003.pt", weights_only=True)["model"]
        assert state["loss.head.weight"].shape[0] == count
    history = read_json(training / "history.json")["epochs"]
    assert [(e["machine"], e["epoch"]) for e in history] == [(m, e) for m in sorted(classes) for e in (1, 2, 3)]
    results = reference.results(run.spec)
    for split, machines in rows.groupby("split")["machine"]:
        assert {row["machine"] for row in results["splits"][split]["machines"]} == set(machines)

    store = tmp_path / "killed"
    process = start_asdbench("grid", str(path), "--out", str(store))
    second = store / training.name / "checkpoints" / sorted(classes)[1]
    deadline = time.monotonic() + 120
    while not second.is_dir() and time.monotonic() < deadline:  # the second machine type's model has begun
        time.sleep(0.02)
    time.sleep(0.3)
    process.send_signal(signal.SIGKILL)
    process.wait()
    first = store / training.name / "checkpoints" / sorted(classes)[0]
    kept = {p.name: p.stat().st_mtime_ns for p in first.iterdir()}
    assert kept and not (store / training.name / "trained.json").exists(), "the kill must interrupt the training"
    process = start_asdbench("grid", str(path), "--out", str(store))
    assert process.wait(timeout=300) == 0, process.stderr.read()
    assert {p.name: p.stat().st_mtime_ns for p in first.iterdir()} == kept, "a finished model is not trained again"
    resumed = Store(store).results(run.spec)
    assert resumed["splits"] == results["splits"]
