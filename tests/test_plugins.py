"""The plugin manager: entry-point discovery, lookups, duplicates, broken plugins, the `plugins` command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from asdbench.cli.main import main
from asdbench.contract.kinds import CONTRACTS, KINDS
from asdbench.contract.registry import Registry, get_registry, use_registry
from asdbench.errors import PluginError
from asdbench.hookspecs import hookimpl
from tests.helpers.distributions import write_distribution

GOOD_PLUGIN = """
    from asdbench.hookspecs import hookimpl

    class EchoBackend:
        def __init__(self, scale: float = 1.0):
            self.scale = scale
        def fit(self, embeddings, domains):
            pass
        def score(self, embeddings):
            return embeddings.sum(axis=1) * self.scale

    @hookimpl
    def asdbench_register_backends(register):
        register("echo", EchoBackend, description="test backend")
"""


def test_entry_point_plugin_is_discovered_with_its_distribution(site):
    write_distribution(site, "asdbench-echo", "asdbench_echo_plugin", GOOD_PLUGIN)
    registry = Registry()
    registration = registry.get("backends", "echo")
    assert (registration.distribution, registration.version) == ("asdbench-echo", "1.2.3")
    assert registration.options() == {"scale": 1.0}
    assert registry.create("backends", "echo", scale=2.0).scale == 2.0
    assert registry.distributions()["asdbench-echo"] == "1.2.3"


def test_builtin_methods_distribution_is_loaded_through_its_entry_point():
    registry = Registry()
    assert registry.get("frontends", "spectrum").distribution == "asdbench-methods"
    assert registry.get("backends", "knn").distribution == "asdbench-methods"
    assert {"dcase2023", "dcase2024", "synth"} <= set(registry.names("datasets"))


def test_broken_plugin_is_reported_with_its_distribution_and_others_still_load(site):
    write_distribution(site, "asdbench-echo", "asdbench_echo_plugin", GOOD_PLUGIN)
    write_distribution(site, "asdbench-broken", "asdbench_broken_plugin", "import not_a_module_anywhere\n", "0.9")
    registry = Registry()
    assert registry.get("backends", "echo")
    [failure] = [f for f in registry.failures if f.distribution == "asdbench-broken"]
    assert failure.version == "0.9" and "not_a_module_anywhere" in failure.error
    with pytest.raises(PluginError, match="asdbench-broken"):
        registry.get("backends", "missing")


def test_plugin_whose_registration_hook_raises_is_reported(site):
    write_distribution(site, "asdbench-raises", "asdbench_raises_plugin", """
        from asdbench.hookspecs import hookimpl
        @hookimpl
        def asdbench_register_losses(register):
            raise RuntimeError("boom")
    """)
    registry = Registry()
    assert any(f.distribution == "asdbench-raises" and "boom" in f.error for f in registry.failures)
    assert registry.get("frontends", "spectrum")


def test_load_plugins_env_restricts_distributions(site, monkeypatch):
    write_distribution(site, "asdbench-echo", "asdbench_echo_plugin", GOOD_PLUGIN)
    monkeypatch.setenv("ASDBENCH_LOAD_PLUGINS", "asdbench-echo")
    registry = Registry()
    assert registry.names("backends") == ["echo"]
    assert registry.names("frontends") == []
    assert "synth" in registry.names("datasets"), "the core's dataset readers always load"


def test_unknown_name_under_load_plugins_names_the_variable_and_what_it_left_out(site, monkeypatch):
    write_distribution(site, "asdbench-echo", "asdbench_echo_plugin", GOOD_PLUGIN)
    monkeypatch.setenv("ASDBENCH_LOAD_PLUGINS", "asdbench-echo")
    with pytest.raises(PluginError) as error:
        Registry().get("frontends", "stft")
    assert ("ASDBENCH_LOAD_PLUGINS is set to 'asdbench-echo': it loads the core and asdbench-echo only, leaving out "
            "asdbench-methods, asdbench-pretrained; add the distribution that registers 'stft' to it, or unset it"
            in str(error.value))
    monkeypatch.delenv("ASDBENCH_LOAD_PLUGINS")
    with pytest.raises(PluginError) as error:
        Registry().get("frontends", "nope")
    assert "ASDBENCH_LOAD_PLUGINS" not in str(error.value), "unset, it is not mentioned"


def test_unknown_name_lists_the_registered_names_of_that_kind():
    registry = Registry()
    with pytest.raises(PluginError) as error:
        registry.get("backends", "nope")
    assert "'nope'" in str(error.value) and "knn" in str(error.value)
    with pytest.raises(PluginError, match="unknown plugin kind 'widgets'"):
        registry.get("widgets", "x")


def test_use_registry_swaps_the_process_wide_registry_and_puts_it_back_however_the_block_ends():
    process_wide, mine = get_registry(), Registry(entry_points=False)
    with pytest.raises(RuntimeError), use_registry(mine):
        assert get_registry() is mine
        raise RuntimeError
    assert get_registry() is process_wide


def test_use_registry_none_loads_a_fresh_registry_that_sees_a_distribution_installed_since(site):
    process_wide = get_registry()
    write_distribution(site, "asdbench-echo", "asdbench_echo_plugin", GOOD_PLUGIN)
    with use_registry(None):
        fresh = get_registry()
        assert fresh is not process_wide and fresh is get_registry()
        assert fresh.get("backends", "echo").distribution == "asdbench-echo"
    assert get_registry() is process_wide


class _FirstPlugin:
    @hookimpl
    def asdbench_register_backends(self, register):
        register("twin", object)
        register("only-first", object)


class _SecondPlugin:
    @hookimpl
    def asdbench_register_backends(self, register):
        register("twin", object)


def test_duplicate_name_names_both_plugins_and_spares_their_other_names():
    registry = Registry(entry_points=False, extra_plugins=[_FirstPlugin(), _SecondPlugin()])
    with pytest.raises(PluginError) as error:
        registry.get("backends", "twin")
    message = str(error.value)
    assert "_FirstPlugin" in message and "_SecondPlugin" in message
    assert registry.get("backends", "only-first").plugin.endswith("_FirstPlugin")


FACTORIES = {  # by the number of runtime arguments a kind's factory takes first
    0: lambda **options: options,
    1: lambda first, /, **options: options,
    2: lambda first, second, /, **options: options,
}


@pytest.mark.parametrize("kind", KINDS)
def test_every_registration_hook_reaches_the_registry(kind):
    class Plugin:
        pass

    def hook(self, register):
        register(f"inline-{kind}", FACTORIES[len(CONTRACTS[kind].runtime)], description=kind)

    setattr(Plugin, f"asdbench_register_{kind}", hookimpl(hook))
    registry = Registry(entry_points=False, extra_plugins=[Plugin()])
    assert registry.get(kind, f"inline-{kind}").meta == {"description": kind}


def test_lifecycle_hooks_are_called():
    calls = []

    class Logger:
        @hookimpl
        def asdbench_run_started(self, run_dir, spec):
            calls.append(("started", run_dir, spec["seed"]))

        @hookimpl
        def asdbench_run_finished(self, run_dir, spec, results):
            calls.append(("finished", results["dev"]))

    registry = Registry(entry_points=False, extra_plugins=[Logger()])
    registry.hook.asdbench_run_started(run_dir=Path("r"), spec={"seed": 3})
    registry.hook.asdbench_run_finished(run_dir=Path("r"), spec={}, results={"dev": 0.7})
    assert calls == [("started", Path("r"), 3), ("finished", 0.7)]


def test_plugins_command_prints_kind_name_distribution_and_version(capsys):
    assert main(["plugins", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["plugins"]
    spectrum = next(p for p in listed if p["name"] == "spectrum")
    assert spectrum["kind"] == "frontends" and spectrum["distribution"] == "asdbench-methods"
    assert spectrum["version"] == "0.1.0"
    assert main(["plugins"]) == 0
    table = capsys.readouterr().out
    assert "spectrum" in table and "asdbench-methods" in table
