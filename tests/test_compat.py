"""asdbench.compat: every option added after runs were made leaves their identity as it was while it holds its
default, and is hashed like any other option once it is set; a plugin does the same through ``omit_defaults``."""

from __future__ import annotations

import pytest

from asdbench.compat import TRAIN_OMITTED_AT_DEFAULT
from asdbench.contract.registry import Registry
from asdbench.hookspecs import hookimpl
from asdbench.spec.identity import training_identity
from asdbench.spec.schema import TRAIN_DEFAULTS, TRAIN_OPTIONS
from asdbench.spec.validate import validate_spec


class Fakes:
    @hookimpl
    def asdbench_register_frontends(self, register):
        register("spectrum", lambda: "spectrum")

    @hookimpl
    def asdbench_register_backends(self, register):
        register("knn", lambda k=1: k)
        register("raw-knn", lambda k=1: k, raw_embeddings=True)

    @hookimpl
    def asdbench_register_datasets(self, register):
        register("fake-data", lambda root: root)


class LaterFakes(Fakes):
    """The same plugin, in a version whose dataset has gained an option."""

    @hookimpl
    def asdbench_register_datasets(self, register):
        register("fake-data", lambda root, microphone=0: root, omit_defaults=("microphone",))


@pytest.fixture
def registry():
    return Registry(entry_points=False, extra_plugins=[Fakes()])


def spec(registry, dataset=None, backend="knn", system=None, **train):
    return validate_spec({"seed": 1, "dataset": {"name": "fake-data", "root": "/data/x", **(dataset or {})},
                          "system": {"frontends": ["spectrum"], "backend": backend, **(system or {})},
                          "train": train}, registry)


# Frozen values: if one changes, the identity of every run made before its option existed changes with it.
BEFORE = "238b5de7eb283991/b91e085b589665f0"


@pytest.mark.parametrize(("given", "section", "key"), [
    ({"warmup_steps": 0}, "train", "warmup_steps"),
    ({"system": {"embeddings": "normalised"}}, "system", "embeddings"),
    ({"stack_seeds": 1}, "train", "stacked"),
])
def test_an_option_at_its_default_is_left_out_and_the_run_keeps_its_hash(registry, given, section, key):
    spelled_out = spec(registry, **given)
    assert key not in spelled_out.canonical[section] and key not in training_identity(spelled_out.canonical)[section]
    assert spelled_out.hash == spec(registry).hash == BEFORE


@pytest.mark.parametrize(("given", "section", "key", "value", "frozen"), [
    ({"warmup_steps": 5000}, "train", "warmup_steps", 5000, "58c01c6f84b4b616/b91e085b589665f0"),
    ({"backend": "raw-knn", "system": {"embeddings": "raw"}}, "system", "embeddings", "raw",
     "0f809d0f0ff2371d/730e20a75de570ef"),
    ({"stack_seeds": 2}, "train", "stacked", True, "80e776ddb785ae13/b91e085b589665f0"),
])
def test_an_option_away_from_its_default_is_hashed(registry, given, section, key, value, frozen):
    changed = spec(registry, **given)
    assert training_identity(changed.canonical)[section][key] == value
    assert changed.hash == frozen


def test_train_options_left_out_at_their_default_have_one(registry):
    assert set(TRAIN_OMITTED_AT_DEFAULT) <= set(TRAIN_OPTIONS) and not set(TRAIN_OMITTED_AT_DEFAULT) & set(TRAIN_DEFAULTS)


def test_a_plugin_option_added_later_keeps_the_runs_made_before_it(registry):
    """A component (here a dataset) that gains an option lists it in ``omit_defaults``: a spec that leaves it out
    or gives its default is the run made before the option existed; another value is another run."""
    later = Registry(entry_points=False, extra_plugins=[LaterFakes()])
    assert spec(later).hash == spec(later, dataset={"microphone": 0}).hash == spec(registry).hash == BEFORE
    far = spec(later, dataset={"microphone": 1})
    assert far.dataset["microphone"] == 1 and far.training_hash != spec(registry).training_hash
