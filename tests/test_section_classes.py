"""What a classifier that scores by the clip's own class needs of the core (the DCASE 2021/2022 MobileNetV2
baseline, docs/mobilenet-baseline.md): ``system.labels = "section"``, a network factory that declares
``num_classes``, a backend registered with ``unit_class=True`` told its unit's class index from the class names the
training stored, and ``train.machinewise = "split"``; each out of the hash at its default, and refused where
misused."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from asdbench.contract.registry import Registry, use_registry
from asdbench.data.labels import build_labels, unit_class_index
from asdbench.data.units import Unit
from asdbench.errors import PluginError, SpecError
from asdbench.hookspecs import hookimpl
from asdbench.spec.validate import validate_spec
from asdbench.store.layout import read_json
from asdbench.store.models import model_units
from asdbench.store.stages import unit_classes
from asdbench.store.store import Store
from tests.helpers.training import Fakes, Magnitude


class Classifier(nn.Module):
    """A head in the network: the clip's log-softmax over its model's classes is its embedding."""

    def __init__(self, input_shape, num_classes, /):
        super().__init__()
        self.embedding_dim = num_classes
        self.head = nn.Linear(input_shape[-1], num_classes)

    def forward(self, features):
        return torch.log_softmax(self.head(features), dim=1)


class OwnClassLoss(nn.Module):
    def __init__(self, branch_dims, num_classes, /):
        super().__init__()

    def forward(self, branches, targets):
        return -(targets * branches[0]).sum(1).mean()


class OwnClassScore:
    """Minus the log-probability of the unit's own class."""

    def fit(self, embeddings, domains, class_index):
        self.class_index = class_index

    def score(self, embeddings):
        return -embeddings[:, self.class_index]


class ClassAware:
    @hookimpl
    def asdbench_register_frontends(self, register):
        register("magnitude", Magnitude)

    @hookimpl
    def asdbench_register_networks(self, register):
        register("classifier", Classifier)

    @hookimpl
    def asdbench_register_losses(self, register):
        register("own-class", OwnClassLoss)

    @hookimpl
    def asdbench_register_backends(self, register):
        register("own-class", OwnClassScore, unit_class=True)


SYSTEM = {"frontends": ["magnitude"], "networks": ["classifier"], "loss": "own-class", "backend": "own-class",
          "labels": "section"}


def class_aware_registry() -> Registry:
    return Registry(extra_plugins=[ClassAware()])


def spec(system=None, **train):
    return validate_spec({"dataset": {"name": "synth", "root": "data"}, "system": system or SYSTEM, "train": train},
                         class_aware_registry())


def rows(**columns) -> pd.DataFrame:
    base = {"dataset": "synth", "split": "dev", "machine": "fan", "section": "00", "domain": "source",
            "attribute_string": "a"}
    return pd.DataFrame([{**base, **row} for row in columns["rows"]])


def test_section_labels_are_one_class_per_section_whatever_the_domain_or_attributes():
    train = rows(rows=[{}, {"domain": "target", "attribute_string": "b"}, {"section": "01"}, {"machine": "pump"}])
    assert build_labels(train, "section").names == ["synth/dev/fan/00", "synth/dev/fan/01", "synth/dev/pump/00"]
    assert list(build_labels(train, "section").indices) == [0, 0, 1, 2]
    assert build_labels(train, "machine").num_classes == 4


def test_a_units_class_index_is_found_in_its_models_classes_or_refused():
    names = ["synth/dev/fan/00", "synth/dev/fan/01"]
    assert unit_class_index(rows(rows=[{"section": "01"}] * 2), "section", names, "dev.fan.01") == 1
    with pytest.raises(SpecError, match=r"dev.fan.02: its class 'synth/dev/fan/02' is not one its model trained on"):
        unit_class_index(rows(rows=[{"section": "02"}]), "section", names, "dev.fan.02")
    with pytest.raises(SpecError, match=r"dev.fan.00: .* needs one class per unit, but its training clips have 2 "
                                        r"under system.labels = 'machine'"):
        unit_class_index(rows(rows=[{}, {"domain": "target"}]), "machine", names, "dev.fan.00")


def test_split_machinewise_trains_a_model_per_machine_type_and_split():
    units = [Unit(split, machine, section, pd.DataFrame(), pd.DataFrame())
             for split, machine, section in [("dev", "fan", "00"), ("dev", "fan", "01"), ("eval", "fan", "03"),
                                             ("dev", "pump", "00")]]
    assert [(name, [u.key for u in group]) for name, group in model_units(units, "split")] == [
        ("dev.fan", ["dev.fan.00", "dev.fan.01"]), ("dev.pump", ["dev.pump.00"]), ("eval.fan", ["eval.fan.03"])]
    assert [name for name, _ in model_units(units, True)] == ["fan", "pump"]


def test_split_machinewise_and_section_labels_are_other_trainings_and_the_defaults_keep_their_hash():
    shared = spec(system={**SYSTEM, "labels": "attributes", "backend": "knn"})
    assert "machinewise" not in shared.train
    hashes = {spec(machinewise=value).training_hash for value in (False, True, "split")}
    assert len(hashes) == 3 and spec(machinewise="split").train["machinewise"] == "split"
    with pytest.raises(SpecError, match=r"train.machinewise: expected false, true or 'split', got 'dev'"):
        spec(machinewise="dev")


@pytest.mark.parametrize(("system", "train", "message"), [
    ({**SYSTEM, "labels": "machine"}, {}, r"system.backend: backend 'own-class' .* scores each machine section by "
                                          r"its class, .* system.labels is 'machine'"),
    ({**SYSTEM, "loss": None, "labels": None}, {"epochs": 0},
     r"system.networks\[0\]: network 'classifier' .* is built for the classes it trains on, but train.epochs = 0"),
])
def test_what_needs_classes_is_refused_without_them(system, train, message):
    system = {k: v for k, v in system.items() if v is not None}
    with pytest.raises(SpecError, match=message):
        spec(system, **train)


def test_a_network_declares_the_class_count_and_is_given_it_only_then():
    registry = class_aware_registry()
    assert registry.get("networks", "classifier").optional_runtime() == ("num_classes",)
    assert registry.create("networks", "classifier", (5,), 4).embedding_dim == 4
    with pytest.raises(TypeError, match=r"declares the runtime arguments \('num_classes',\), which were not given"):
        registry.create("networks", "classifier", (5,))


def test_optional_runtime_arguments_out_of_place_are_refused_at_registration():
    def misplaced(input_shape, colour, /):
        return None

    class Plugin:
        @hookimpl
        def asdbench_register_networks(self, register):
            register("misplaced", misplaced)

    registry = Registry(entry_points=False, extra_plugins=[Fakes(), Plugin()])
    (failure,) = registry.failures
    assert "its parameter 'colour' is positional-only: options are passed by keyword" in failure.error
    assert "factory(input_shape, [num_classes, ]/, **options)" in failure.error
    with pytest.raises(PluginError):
        registry.get("networks", "misplaced")


def tiny_run(root, registry, **train):
    return validate_spec({"dataset": {"name": "synth", "root": str(root)}, "system": SYSTEM,
                          "train": {"epochs": 1, "checkpoints": [1], "batch_size": 8, "clip_seconds": 0.1, **train}},
                         registry)


@pytest.mark.slow
def test_a_backend_scores_each_unit_by_its_class_from_the_stored_class_names(tiny_dataset, tmp_path):
    registry, store = class_aware_registry(), Store(tmp_path / "store")
    shared, split = tiny_run(tiny_dataset, registry), tiny_run(tiny_dataset, registry, machinewise="split")
    with use_registry(registry):
        store.run(shared, registry, progress=False)
        store.run(split, registry, progress=False)

    trained = read_json(store.training_directory(shared) / "trained.json")
    names = trained["classes"]
    assert len(names) == trained["num_classes"] == 4 and all(name.endswith("/00") for name in names)
    embeddings = np.load(store.training_directory(shared) / "embeddings" / "epoch_001.npz")
    for index, name in enumerate(names):  # each unit scored by its own class, which the backend was told
        _, split_name, machine, section = name.split("/")
        written = pd.read_csv(store.directory(shared) / "scores" / split_name /
                              f"anomaly_score_{machine}_section_{section}_test.csv", header=None)[1].to_numpy()
        expected = -embeddings[f"{split_name}.{machine}.{section}.test"][:, index]
        np.testing.assert_allclose(written, expected, rtol=1e-6)

    models = read_json(store.training_directory(split) / "trained.json")["classes"]
    assert models == {f"{name.split('/')[1]}.{name.split('/')[2]}": [name] for name in names}, \
        "one model per machine type and split, each with its section's class"
    assert sorted(p.name for p in (store.training_directory(split) / "checkpoints").iterdir()) == sorted(models)


def test_a_training_stored_without_class_names_is_refused_by_a_backend_that_needs_them(tmp_path):
    run = spec()
    train = rows(rows=[{}])
    units = [Unit("dev", "fan", "00", train, train)]
    with pytest.raises(SpecError, match=r"trained.json: no class names .* which system.backend 'own-class' scores by; "
                                        r"remove the training directory"):
        unit_classes(run, units, {"training": run.training_hash, "num_classes": 1}, tmp_path)
    assert unit_classes(run, units, {"classes": ["synth/dev/fan/00"]}, tmp_path) == {"dev.fan.00": 0}
