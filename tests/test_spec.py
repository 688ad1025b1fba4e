"""Run specs: validation against registered plugins, canonical form, stable hash."""

from __future__ import annotations

import re
import textwrap

import pytest

from asdbench.contract.registry import Registry
from asdbench.errors import SpecError
from asdbench.hookspecs import hookimpl
from asdbench.spec.schema import TRAIN_DEFAULTS
from asdbench.spec.validate import load_spec, validate_spec


def stft(n_fft: int = 1024, temporal_norm: bool = False, f_min: float = 200.0):
    return ("stft", n_fft, temporal_norm, f_min)


def needs_path(path: str):
    return path


class Fakes:
    @hookimpl
    def asdbench_register_frontends(self, register):
        register("stft", stft)
        register("spectrum", lambda: "spectrum")

    @hookimpl
    def asdbench_register_losses(self, register):
        register("main", lambda dims, classes, /: "main")
        register("helper", lambda dims, classes, /: "helper", aux_only="it regularises a main loss")

    @hookimpl
    def asdbench_register_backends(self, register):
        register("knn", lambda k=1: k)
        register("needs-path", needs_path)

    @hookimpl
    def asdbench_register_datasets(self, register):
        register("fake-data", lambda root, ground_truth=None: root)


@pytest.fixture
def registry():
    return Registry(entry_points=False, extra_plugins=[Fakes()])


def base_spec(**overrides):
    spec = {
        "seed": 1,
        "dataset": {"name": "fake-data", "root": "/data/x", "splits": ["eval", "dev"]},
        "system": {"frontends": [{"name": "spectrum"}, {"name": "stft", "n_fft": 256}], "backend": "knn"},
    }
    spec.update(overrides)
    return spec


def test_canonical_form_fills_defaults_and_orders_splits(registry):
    spec = validate_spec(base_spec(), registry)
    assert spec.system["frontends"][1] == {"name": "stft", "n_fft": 256, "temporal_norm": False, "f_min": 200.0}
    assert spec.system["backend"] == {"name": "knn", "k": 1}
    assert spec.dataset == {"name": "fake-data", "root": "/data/x", "ground_truth": None, "splits": ["dev", "eval"]}
    assert spec.train["epochs"] == 16 and spec.train["checkpoints"] == [12, 14, 16]


def test_hash_is_stable_across_spelling_of_the_same_run(registry):
    explicit = base_spec(system={
        "backend": {"name": "knn", "k": 1},
        "frontends": [{"name": "spectrum"}, {"n_fft": 256, "f_min": 200, "name": "stft"}],
    })
    assert validate_spec(base_spec(), registry).hash == validate_spec(explicit, registry).hash
    # Frozen values: if these change, every stored run's identity changes with them.
    assert validate_spec(base_spec(), registry).hash == "620948164e13b066/b91e085b589665f0"


def test_scoring_fields_change_the_scoring_only_and_training_fields_the_training_only(registry):
    reference = validate_spec(base_spec(), registry)
    rescored = [
        base_spec(system={**base_spec()["system"], "backend": {"name": "knn", "k": 3}}),
        base_spec(system={**base_spec()["system"], "decision_quantile": 0.8}),
        base_spec(train={"checkpoints": [16]}),
    ]
    for raw in rescored:
        spec = validate_spec(raw, registry)
        assert spec.training_hash == reference.training_hash and spec.scoring_hash != reference.scoring_hash, raw
    retrained = validate_spec(base_spec(train={"lr": 1e-4}), registry)
    assert retrained.training_hash != reference.training_hash
    assert retrained.scoring_hash == reference.scoring_hash
    with pytest.raises(SpecError, match=r"system\.decision_quantile: expected a number > 0 and < 1, got 1\.0"):
        validate_spec(base_spec(system={**base_spec()["system"], "decision_quantile": 1.0}), registry)


def test_execution_options_are_recorded_but_not_part_of_the_identity(registry):
    fast = validate_spec(base_spec(train={"compile": True, "memory_format": "channels_last"}), registry)
    assert fast.train["compile"] is True and fast.train["memory_format"] == "channels_last"
    assert fast.hash == validate_spec(base_spec(), registry).hash
    with pytest.raises(SpecError, match="train.memory_format: expected one of 'auto', 'channels_last', 'contiguous'"):
        validate_spec(base_spec(train={"memory_format": "nhwc"}), registry)
    with pytest.raises(SpecError, match="train.compile: expected true or false"):
        validate_spec(base_spec(train={"compile": "yes"}), registry)


def test_hash_changes_with_any_option_seed_or_order_of_components(registry):
    reference = validate_spec(base_spec(), registry).hash
    variants = [
        base_spec(seed=2),
        base_spec(system={"frontends": [{"name": "spectrum"}, {"name": "stft", "n_fft": 512}], "backend": "knn"}),
        base_spec(system={"frontends": [{"name": "stft", "n_fft": 256}, {"name": "spectrum"}], "backend": "knn"}),
        base_spec(train={"batch_size": 32}),
    ]
    hashes = {validate_spec(v, registry).hash for v in variants}
    assert reference not in hashes and len(hashes) == len(variants)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"system": {"frontends": [{"name": "stft", "nfft": 256}]}}, "system.frontends[0].nfft"),
        ({"system": {"frontends": [{"name": "mel"}]}}, "system.frontends[0].name"),
        ({"system": {"frontends": [{"name": "stft", "n_fft": "256"}]}}, "system.frontends[0].n_fft"),
        ({"system": {"frontends": [{"name": "stft", "n_fft": 2.5}]}}, "system.frontends[0].n_fft"),
        ({"system": {"backend": "needs-path"}}, "system.backend.path"),
        ({"system": {"backend": ["knn"]}}, "system.backend"),
        ({"system": {"labels": "speed"}}, "system.labels"),
        ({"system": {"frontends": ["spectrum"], "networks": ["a", "b"]}}, "system.networks"),
        ({"system": {"optimiser": "adam"}}, "system.optimiser"),
        ({"seed": -1}, "seed"),
        ({"seed": True}, "seed"),
        ({"dataset": {"name": "fake-data", "root": "x", "splits": ["test"]}}, "dataset.splits"),
        ({"dataset": {"root": "x"}}, "dataset.name"),
        ({"dataset": {"name": "nope", "root": "x"}}, "dataset.name"),
        ({"train": {"epochs": -1}}, "train.epochs"),
        ({"train": {"epochs": 10**12}}, "train.epochs"),
        ({"seed": 2**63}, "seed"),
        ({"train": {"epochs": 0, "checkpoints": [12, 14, 16]}}, "train.checkpoints"),
        ({"train": {"epochs": 2, "checkpoints": [0]}}, "train.checkpoints"),
        ({"train": {"checkpoints": [20]}}, "train.checkpoints"),
        ({"train": {"lr": float("nan")}}, "train.lr"),
        ({"train": {"lr": "fast"}}, "train.lr"),
        ({"train": {"clip_seconds": 0}}, "train.clip_seconds"),
        ({"train": {"precision": "fp16"}}, "train.precision"),
        ({"trian": {}}, "trian"),
    ],
)
def test_errors_name_the_field(registry, overrides, field):
    with pytest.raises(SpecError, match="^" + re.escape(field)):
        validate_spec(base_spec(**overrides), registry)


class PseudoLabelling:
    @hookimpl
    def asdbench_register_feature_spaces(self, register):
        register("space", lambda context, /: "space")

    @hookimpl
    def asdbench_register_reducers(self, register):
        register("umap", lambda: "umap")

    @hookimpl
    def asdbench_register_clusterers(self, register):
        register("gmm-bic", lambda: "gmm-bic")


@pytest.mark.parametrize(("section", "value", "message"), [
    ("train", {"batch_size": 0}, "train.batch_size: expected a number >= 1, got 0"),
    ("train", {"lr": "fast"}, "train.lr: expected float (like the default 0.001), got 'fast'"),
    ("train", {"weight_decay": float("inf")}, "train.weight_decay: expected a finite number, got inf"),
    ("train", {"precision": "fp16"}, "train.precision: expected one of 'auto', 'fp32', 'bf16', got 'fp16'"),
    ("train", {"warmup_steps": 2.5}, "train.warmup_steps: expected int (like the default 0), got 2.5"),
    ("train", {"checkpoints": 12}, "train.checkpoints: expected list (like the default [12, 14, 16]), got 12"),
    ("system", {"labels": 3}, "system.labels: expected str (like the default 'attributes'), got 3"),
    ("system", {"labels": "pseudo:"}, "system.labels: expected one of attributes, machine, section or 'pseudo:<feature space>'"),
    ("pseudolabel", {"max_clusters_target": 0}, "pseudolabel.max_clusters_target: expected a number >= 1, got 0"),
    ("pseudolabel", {"transductive": 1}, "pseudolabel.transductive: expected true or false, got 1"),
    ("pseudolabel", {"machines": "some"}, "pseudolabel.machines: expected one of 'unlabelled', 'all', got 'some'"),
])
def test_the_cores_own_options_are_checked_as_a_components_are(section, value, message):
    """[train], [pseudolabel] and [system]'s own options: their type from their default, finiteness and their
    declared constraints (asdbench.spec.schema), on the path a component's options take."""
    registry = Registry(entry_points=False, extra_plugins=[Fakes(), PseudoLabelling()])
    spec = base_spec(system={**base_spec()["system"], "labels": "pseudo:space"}, pseudolabel={})
    spec[section] = {**spec.get(section, {}), **value}
    with pytest.raises(SpecError, match="^" + re.escape(message)):
        validate_spec(spec, registry)


def test_the_cores_own_options_keep_their_canonical_types_and_omissions():
    registry = Registry(entry_points=False, extra_plugins=[Fakes(), PseudoLabelling()])
    spec = validate_spec(base_spec(system={**base_spec()["system"], "labels": "pseudo:space"},
                                   train={"lr": 1, "weight_decay": 0, "clip_seconds": 4, "warmup_steps": 0}), registry)
    assert spec.train == {**TRAIN_DEFAULTS, "lr": 1.0, "weight_decay": 0.0, "clip_seconds": 4.0}
    assert all(isinstance(spec.train[key], float) for key in ("lr", "weight_decay", "clip_seconds"))
    assert spec.system["decision_quantile"] == 0.9 and "embeddings" not in spec.system
    assert spec.canonical["pseudolabel"] == {
        "machines": "unlabelled", "max_clusters_source": 16, "max_clusters_target": 2, "transductive": False,
        "reducer": {"name": "umap"}, "clusterer": {"name": "gmm-bic"}, "feature_space": {"name": "space"}}


def test_unknown_plugin_error_lists_registered_names(registry):
    with pytest.raises(SpecError, match="registered frontends: spectrum, stft"):
        validate_spec(base_spec(system={"frontends": ["mel"]}), registry)


def test_toml_file_paths_resolve_against_the_spec_directory(tmp_path, registry):
    (tmp_path / "specs").mkdir()
    path = tmp_path / "specs" / "run.toml"
    path.write_text(textwrap.dedent("""
        seed = 3
        [dataset]
        name = "fake-data"
        root = "../data"
        [system]
        frontends = ["spectrum"]
    """))
    spec = load_spec(path, registry)
    assert spec.dataset["root"] == str((tmp_path / "data").resolve())
    assert spec.dataset["splits"] == ["dev", "eval"]


def test_malformed_toml_names_the_file(tmp_path, registry):
    path = tmp_path / "bad.toml"
    path.write_text("seed = \n[dataset")
    with pytest.raises(SpecError, match="bad.toml: not valid TOML"):
        load_spec(path, registry)
    with pytest.raises(SpecError, match="missing.toml not found"):
        load_spec(tmp_path / "missing.toml", registry)


def test_seed_and_epochs_are_bounded_at_what_a_run_can_use(registry):
    spec = validate_spec(base_spec(seed=2**63 - 1, train={"epochs": 10_000}), registry)
    assert spec.seed == 2**63 - 1 and spec.train["epochs"] == 10_000
    with pytest.raises(SpecError, match=r"^seed: expected an integer from 0 to 2\^63 - 1"):
        validate_spec(base_spec(seed=2**63), registry)
    with pytest.raises(SpecError, match=r"^train\.epochs: expected a number >= 0 and <= 10000, got 10001"):
        validate_spec(base_spec(train={"epochs": 10_001}), registry)


def test_a_loss_registered_aux_only_is_refused_as_the_main_loss_and_kept_as_aux(registry):
    with pytest.raises(SpecError, match=r"^system\.loss: loss 'helper' .* is an auxiliary term, not a main loss: it "
                                        r"regularises a main loss; give it as system.aux.*main losses: main\)"):
        validate_spec(base_spec(system={"frontends": ["spectrum"], "loss": "helper"}), registry)
    spec = validate_spec(base_spec(system={"frontends": ["spectrum"], "loss": "main", "aux": "helper"}), registry)
    assert spec.system["aux"] == {"name": "helper"}


@pytest.mark.parametrize("depth", [65, 5000])
def test_a_file_nested_too_deep_is_named_and_one_at_the_limit_is_read(tmp_path, registry, depth):
    path = tmp_path / "deep.toml"
    path.write_text(f"x = {'[' * depth}{']' * depth}\n")
    with pytest.raises(SpecError, match=r"deep\.toml: arrays or tables nested more than 64 deep"):
        load_spec(path, registry)
    path.write_text(f"x = {'[' * 64}{']' * 64}\n")
    with pytest.raises(SpecError, match=r"deep\.toml: x: unknown field"):  # read, then validated
        load_spec(path, registry)
