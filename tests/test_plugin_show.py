"""Knowing the components without reading their source: `asdbench plugins show KIND NAME`, each option's meaning
read from its factory's docstring (asdbench.contract.describe), a list that fits a terminal, and an error about an
option naming the component that owns it."""

from __future__ import annotations

import json
from typing import Annotated

import pytest

from asdbench.api import Range, builds, hookimpl
from asdbench.cli.main import main
from asdbench.contract.describe import REQUIRED, describe, kind_named, option_meanings
from asdbench.contract.registry import Registry, get_registry
from asdbench.errors import AsdbenchError, PluginError


@builds("collections:OrderedDict")
def documented(*, k: Annotated[int, Range(ge=1)] = 3, metric: str = "cosine", scale: float | None = None):
    """A backend for these tests.

    ``k``: neighbours each score averages,
    over both domains.
    ``metric``: the distance.

    ``scale`` is not documented by the convention (no colon after the name).
    """


class Plugin:
    @hookimpl
    def asdbench_register_backends(self, register):
        register("documented", documented, description="a backend of the tests")


def test_options_are_read_with_type_default_constraint_and_meaning():
    described = describe(Registry(entry_points=False, extra_plugins=[Plugin()]).get("backends", "documented"))
    assert described.summary == "A backend for these tests."
    assert described.factory == f"{__name__}:documented" and described.builds == "collections:OrderedDict"
    k, metric, scale = described.options
    assert (k.name, k.type, k.default, k.constraints) == ("k", "int", 3, ("a number >= 1",))
    assert k.meaning == "neighbours each score averages, over both domains."
    assert (metric.type, metric.meaning) == ("str", "the distance.")
    assert (scale.type, scale.default, scale.meaning) == ("float | None", None, "")


def test_the_meaning_convention_is_the_core_declarations_own():
    from asdbench.spec.schema import train_options

    meanings = option_meanings(train_options.__doc__ or "")
    assert meanings["clip_seconds"].startswith("every clip is tiled")
    assert "epochs = 0" not in meanings  # a paragraph about a value, not an option


def test_every_built_in_option_has_a_meaning():
    undocumented = [f"{r.kind}/{r.name}.{o.name}" for r in get_registry().all() for o in describe(r).options
                    if not o.meaning and r.distribution in ("asdbench", "asdbench-methods", "asdbench-pretrained")]
    assert undocumented == []


@pytest.mark.parametrize("text", ["feature-space", "feature space", "feature_spaces", "Feature-Spaces"])
def test_a_kind_is_named_singular_or_plural(text):
    assert kind_named(text) == "feature_spaces"


def test_an_unknown_kind_lists_the_kinds():
    with pytest.raises(PluginError, match="unknown plugin kind 'widget'; kinds: frontend, network"):
        kind_named("widget")


def test_show_prints_options_and_the_reference(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    assert main(["plugins", "show", "feature-space", "triplet"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("feature space 'triplet' (asdbench-methods 0.1.0)\n")
    assert "distribution: asdbench-methods 0.1.0" in out
    assert "builds:       asdbench_methods.featurespaces:TripletSpace" in out
    assert "called as:    factory(context, /, **options)" in out
    line = next(line for line in out.splitlines() if line.startswith("n_fft"))
    assert "int" in line and "1024" in line and "a number >= 16; a power of two" in line
    assert "(undocumented)" not in out
    assert max(len(line) for line in out.splitlines() if line.startswith(("n_fft", "clip_seconds"))) <= 100


def test_show_json_and_a_required_option(capsys):
    assert main(["plugins", "show", "dataset", "dcase2024", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    root = next(o for o in shown["options"] if o["name"] == "root")
    assert root["required"] and root["default"] is None and root["meaning"].startswith("the folder holding")
    assert shown["distribution"] == "asdbench" and shown["plugin"] == "readers"
    assert describe(get_registry().get("datasets", "dcase2024")).options[0].default is REQUIRED


def test_show_of_an_unknown_name_lists_the_names(capsys):
    assert main(["plugins", "show", "backend", "nope"]) == 2
    assert "unknown backend 'nope'; registered backends:" in capsys.readouterr().err


@pytest.mark.parametrize("columns", [80, 120])
def test_the_list_fits_the_terminal(capsys, monkeypatch, columns):
    monkeypatch.setenv("COLUMNS", str(columns))
    assert main(["plugins"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines and max(map(len, lines)) <= columns
    assert any(line.rstrip().endswith("...") for line in lines), "long descriptions are cut, not wrapped"


def test_a_clip_too_short_for_the_triplet_network_names_the_spaces_own_option():
    from asdbench_methods.featurespaces import TripletSpace

    space = TripletSpace(None, n_fft=1024, epochs=1, batch_size=2, margin=1.0, lr=1e-3, clip_seconds=0.5,
                         snr_low=-5.0, snr_high=5.0)
    with pytest.raises(AsdbenchError) as error:
        space.network(8000)
    message = str(error.value)
    assert message.startswith("feature space 'triplet' (pseudolabel.feature_space): its clip_seconds = 0.5 and "
                              "n_fft = 1024 are too short")
    assert "train.clip_seconds" not in message


def test_a_clip_too_short_for_a_systems_network_names_train_clip_seconds():
    from asdbench.training.system import build_system

    system = {"frontends": [{"name": "stft", "n_fft": 1024, "f_min": 200.0, "f_max": 8000.0, "temporal_norm": False}],
              "networks": [{"name": "spectrogram-resnet", "embedding_dim": 8}]}
    with pytest.raises(AsdbenchError, match=r"system\.networks\[0\], on system\.frontends\[0\]'s output for clips "
                                            r"of 0\.5 s \(train\.clip_seconds\): network 'spectrogram-resnet'"):
        build_system(system, get_registry(), num_classes=2, num_samples=8000, trained=False)
