"""Plugins stand on the core's public API, :mod:`asdbench.api`: the built-in distributions import nothing else of the
core, and every name the API lists is there."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import asdbench.api

PUBLIC_API = ("asdbench.api",)

PLUGIN_MODULES = sorted((Path(__file__).resolve().parent.parent / "plugins").glob("*/asdbench_*/*.py"))


def core_imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {name for name in names if name == "asdbench" or name.startswith("asdbench.")}


@pytest.mark.parametrize("path", PLUGIN_MODULES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_plugin_module_imports_only_the_public_api(path):
    assert core_imports(path) <= set(PUBLIC_API), f"{path} imports {core_imports(path) - set(PUBLIC_API)}"


def test_the_check_sees_the_plugins_and_would_catch_an_internal_import(tmp_path):
    assert len(PLUGIN_MODULES) > 10
    module = tmp_path / "bad.py"
    module.write_text("from asdbench.store.store import Store\nimport asdbench.store.stages\n")
    assert core_imports(module) - set(PUBLIC_API) == {"asdbench.store.store", "asdbench.store.stages"}


def test_every_name_of_the_api_is_there():
    assert all(getattr(asdbench.api, name) is not None for name in asdbench.api.__all__)
    assert set(asdbench.api._LOADED_ON_USE) <= set(asdbench.api.__all__), "a name loaded on use but not listed"
    with pytest.raises(AttributeError, match="the public API is asdbench.api.__all__"):
        asdbench.api.Store  # noqa: B018
