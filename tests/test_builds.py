"""``asdbench.api.builds``: a component's options declared once, in its factory stub's signature, which is what the
core reads; calling the factory imports and builds the class with every option; a class that does not take exactly
those options fails when built, and so fails ``asdbench plugins --check``."""

from __future__ import annotations

import inspect
import re
import sys
import textwrap
from typing import Annotated

import pytest

from asdbench.api import OneOf, Range, builds, hookimpl
from asdbench.contract.registry import Registry
from asdbench.contract.selfcheck import check_component
from asdbench.errors import AsdbenchError, PluginError, SpecError
from asdbench.spec.validate import validate_spec

PRODUCTS = "builds_products"
"""The module the stubs below build from, written by the ``products`` fixture: importing this test module does not
import it."""

PRODUCTS_SOURCE = """
    class Nearest:
        def __init__(self, *, k, metric):
            self.k, self.metric = k, metric

        def fit(self, embeddings, domains):
            self.bank = embeddings

        def score(self, embeddings):
            return embeddings.sum(axis=1) * self.k


    class Head:
        def __init__(self, branch_dims, num_classes, /, *, names):
            self.built_with = (branch_dims, num_classes, names)


    class Defaulted(Nearest):
        def __init__(self, *, k=1, metric):  # k's default a second time
            super().__init__(k=k, metric=metric)


    class Missing(Nearest):
        def __init__(self, *, k):  # no metric
            super().__init__(k=k, metric="cosine")


    class Positional(Nearest):
        def __init__(self, k, metric):  # options by position
            super().__init__(k=k, metric=metric)
"""


@builds(f"{PRODUCTS}:Nearest")
def nearest(*, k: Annotated[int, Range(ge=1)] = 1, metric: Annotated[str, OneOf("cosine", "l2")] = "cosine"):
    """Mean distance to the k nearest."""


@builds(f"{PRODUCTS}:Head")
def head(branch_dims, num_classes, /, *, names: list[str] = ["a", "b"]):  # noqa: B006 - builds copies it per call
    """A loss-like product with runtime arguments."""


@pytest.fixture
def products(tmp_path, monkeypatch):
    """The product module, importable and not imported yet."""
    (tmp_path / f"{PRODUCTS}.py").write_text(textwrap.dedent(PRODUCTS_SOURCE))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, PRODUCTS, raising=False)
    yield PRODUCTS
    sys.modules.pop(PRODUCTS, None)


def registry_with(**backends) -> Registry:
    class Plugin:
        @hookimpl
        def asdbench_register_backends(self, register):
            for name, factory in backends.items():
                register(name, factory)

    return Registry(entry_points=False, extra_plugins=[Plugin()])


def test_the_stubs_signature_is_what_the_core_reads_without_importing_the_class(products):
    assert inspect.signature(nearest) == inspect.signature(nearest.__wrapped__)
    registry = registry_with(nearest=nearest)
    registration = registry.get("backends", "nearest")
    assert registration.options() == {"k": 1, "metric": "cosine"}
    spec = {"dataset": {"name": "synth", "root": "data"}, "system": {"backend": {"name": "nearest", "k": 3}}}
    assert validate_spec(spec, registry).system["backend"] == {"name": "nearest", "k": 3, "metric": "cosine"}
    with pytest.raises(SpecError, match=r"^system\.backend\.metric: expected one of 'cosine', 'l2', got 'l3'"):
        validate_spec({**spec, "system": {"backend": {"name": "nearest", "metric": "l3"}}}, registry)
    assert products not in sys.modules
    assert registry.create("backends", "nearest", k=2).k == 2
    assert products in sys.modules


def test_calling_the_factory_builds_the_class_with_every_option(products):
    built = nearest(k=4)
    assert (type(built).__module__, type(built).__name__) == (products, "Nearest")
    assert (built.k, built.metric) == (4, "cosine")
    first = head([8, 8], 3)
    assert first.built_with == ([8, 8], 3, ["a", "b"])
    first.built_with[2].append("changed")
    assert head([8], 2).built_with == ([8], 2, ["a", "b"]), "each build gets its own copy of a default"
    assert head([8], 2, names=["c"]).built_with == ([8], 2, ["c"])


@pytest.mark.parametrize(("options", "message"), [
    ({"k": 0}, r"tests\.test_builds\.nearest\.k: expected a number >= 1, got 0"),
    ({"metric": "l3"}, r"tests\.test_builds\.nearest\.metric: expected one of 'cosine', 'l2', got 'l3'"),
])
def test_a_value_its_constraints_refuse_is_refused_when_built(products, options, message):
    with pytest.raises(AsdbenchError, match=f"^{message}$"):
        nearest(**options)


@pytest.mark.parametrize(("product", "problem"), [
    ("Defaulted", "it gives k a default of its own"),
    ("Missing", r"it takes \(\*, k\), expected \(\*, k, metric\)"),
    ("Positional", r"it takes \(k, metric\), expected \(\*, k, metric\)"),
])
def test_a_class_that_does_not_take_exactly_the_declared_options_fails_the_check(products, product, problem):
    @builds(f"{PRODUCTS}:{product}")
    def declared(*, k: int = 1, metric: str = "cosine"):
        """Built by a class that takes other parameters than these."""

    registry = registry_with(declared=declared, nearest=nearest)
    result = check_component(registry, registry.get("backends", "declared"))
    assert result.failed and f"{PRODUCTS}:{product}, built by " in result.result, result.result
    assert re.search(problem, result.result), result.result
    with pytest.raises(PluginError, match=problem):
        declared()
    assert not check_component(registry, registry.get("backends", "nearest")).failed


def test_a_stub_declares_runtime_arguments_positional_only_and_options_keyword_only():
    with pytest.raises(TypeError, match=r"k must be positional-only \(a runtime argument\) or keyword-only"):
        @builds(f"{PRODUCTS}:Nearest")
        def loose(k=1):
            """An option that could be passed by position."""
    with pytest.raises(ValueError, match="expected 'package.module:ClassName'"):
        builds(f"{PRODUCTS}.Nearest")


def test_a_target_that_is_not_there_is_named(products):
    @builds(f"{PRODUCTS}:Nowhere")
    def nowhere():
        """Builds a class its module does not have."""

    with pytest.raises(PluginError, match="builds_products has no Nowhere"):
        nowhere()
