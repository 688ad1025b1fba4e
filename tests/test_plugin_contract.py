"""The plugin contract: refused registrations, misspelt hooks, one-line plugin failures, boundary checks and
``asdbench plugins --check``."""

from __future__ import annotations

import json
from contextlib import ExitStack

import numpy as np
import pytest
import torch
from torch import nn

from asdbench.cli.main import main
from asdbench.contract import registry as plugins
from asdbench.contract.boundary import (
    check_augmentation_output,
    check_clusters,
    check_feature_space_output,
    check_frontend_output,
    check_loss,
    check_network_output,
    check_reduced,
    check_scores,
)
from asdbench.contract.kinds import CONTRACTS, KINDS, singular
from asdbench.contract.registry import Registry
from asdbench.errors import ContractError, PluginCallError, PluginError
from asdbench.hookspecs import hookimpl
from asdbench.training.system import build_system
from tests.helpers.distributions import write_distribution


@pytest.fixture
def use_registry():
    """Make the CLI use the given registry instead of the process-wide one, until the test ends."""
    with ExitStack() as stack:
        def use(registry: Registry) -> Registry:
            stack.enter_context(plugins.use_registry(registry))
            return registry

        yield use


# --- the contract table -----------------------------------------------------------------------------------


def test_kinds_keep_their_order_and_have_singular_names():
    assert KINDS == ("frontends", "networks", "losses", "augmentations", "backends", "feature_spaces", "reducers",
                     "clusterers", "datasets")
    assert [singular(kind) for kind in ("losses", "feature_spaces")] == ["loss", "feature space"]
    assert CONTRACTS["networks"].runtime == ("input_shape",)
    assert CONTRACTS["losses"].call_form() == "factory(branch_dims, num_classes, /, **options)"
    assert CONTRACTS["backends"].members() == ("fit", "score")


@pytest.mark.parametrize(("kind", "message"), [("losses", "unknown loss 'nope'"),
                                                 ("feature_spaces", "unknown feature space 'nope'")])
def test_unknown_names_use_the_singular_of_their_kind(kind, message):
    with pytest.raises(PluginError, match=message):
        Registry(entry_points=False).get(kind, "nope")


# --- registration ---------------------------------------------------------------------------------------


def network_keyword_shape(input_shape, embedding_dim: int = 8):
    return nn.Linear(input_shape[0], embedding_dim)


def backend_positional(scale, /):
    return scale


def backend_var_args(*scales):
    return scales


def loss_one_runtime(branch_dims, /, *, margin: float = 0.1):
    return margin


@pytest.mark.parametrize(("kind", "factory", "problem"), [
    ("networks", network_keyword_shape, "parameter 1 is not a positional-only 'input_shape'"),
    ("networks", lambda: None, "parameter 1 is not a positional-only 'input_shape'"),
    ("losses", loss_one_runtime, "parameter 2 is not a positional-only 'num_classes'"),
    ("backends", backend_positional, "parameter 'scale' is positional-only"),
    ("backends", backend_var_args, "it takes *scales"),
    ("frontends", dict, "signature cannot be inspected"),
])
def test_a_factory_declared_against_its_kind_is_refused_at_registration(kind, factory, problem):
    class Plugin:
        pass

    def hook(self, register):
        register("bad", factory)
        register("fine", {0: lambda: None, 1: lambda a, /: None, 2: lambda a, b, /: None}[
            len(CONTRACTS[kind].runtime)])

    setattr(Plugin, f"asdbench_register_{kind}", hookimpl(hook))
    registry = Registry(entry_points=False, extra_plugins=[Plugin()])
    assert registry.get(kind, "fine"), "the hook's other registrations stand"
    [failure] = registry.failures
    assert failure.entry_point.endswith("Plugin") and problem in failure.error
    assert f"{singular(kind)} 'bad' refused: the core calls a {singular(kind)} factory as" in failure.error
    with pytest.raises(PluginError, match=f"unknown {singular(kind)} 'bad'.*refused"):
        registry.get(kind, "bad")


def test_a_misspelt_registration_meta_key_is_refused_naming_it():
    """``raw_embedding=True`` for ``raw_embeddings=True`` would be ignored: the backend would get normalised z_cat."""
    class Plugin:
        @hookimpl
        def asdbench_register_backends(self, register):
            register("raw-knn", lambda: None, raw_embedding=True)
            register("fine", lambda: None, description="kept")

    registry = Registry(entry_points=False, extra_plugins=[Plugin()])
    assert registry.get("backends", "fine").meta == {"description": "kept"}
    [failure] = registry.failures
    assert "backend 'raw-knn' refused: unknown registration meta 'raw_embedding' (did you mean 'raw_embeddings'?)" \
        in failure.error
    with pytest.raises(PluginError, match="unknown backend 'raw-knn'"):
        registry.get("backends", "raw-knn")


def test_a_refused_registration_names_its_distribution_in_the_plugins_command(site, use_registry, capsys):
    write_distribution(site, "asdbench-badnet", "asdbench_badnet_plugin", """
        from asdbench.hookspecs import hookimpl
        def dense(input_shape, embedding_dim=8):
            pass
        @hookimpl
        def asdbench_register_networks(register):
            register("dense", dense)
    """)
    use_registry(Registry())
    assert main(["plugins", "--json"]) == 0
    [failure] = json.loads(capsys.readouterr().out)["failures"]
    assert failure["distribution"] == "asdbench-badnet" and failure["version"] == "1.2.3"
    assert "network 'dense' refused" in failure["message"] and "input_shape" in failure["message"]


def test_a_torch_module_without_init_takes_no_options():
    class Gain(nn.Module):
        def forward(self, waveforms, targets):
            return waveforms, targets

    class Plugin:
        @hookimpl
        def asdbench_register_augmentations(self, register):
            register("gain", Gain)

    registration = Registry(entry_points=False, extra_plugins=[Plugin()]).get("augmentations", "gain")
    assert registration.options() == {} and not registration.accepts_any_option()


def test_a_misspelt_hook_fails_its_plugin_with_a_suggestion_and_spares_the_others(site, use_registry, capsys):
    write_distribution(site, "asdbench-typo", "asdbench_typo_plugin", """
        from asdbench.hookspecs import hookimpl
        @hookimpl
        def asdbench_register_backend(register):
            register("typo", object)
        @hookimpl
        def asdbench_register_frontends(register):
            register("typo-frontend", object)
    """, "0.3")
    registry = use_registry(Registry())
    [failure] = [f for f in registry.failures if f.distribution == "asdbench-typo"]
    assert failure.entry_point == "asdbench_typo_plugin" and failure.version == "0.3"
    assert "asdbench_register_backend, which is not an asdbench hook (did you mean asdbench_register_backends?)" \
        in failure.error
    assert "typo-frontend" not in registry.names("frontends"), "a plugin with a misspelt hook is not loaded"
    assert "asdbench-typo" not in registry.distributions()
    assert registry.get("backends", "knn"), "the other plugins still load"
    with pytest.raises(PluginError, match="unknown backend 'typo'.*did you mean asdbench_register_backends"):
        registry.get("backends", "typo")
    assert main(["plugins"]) == 0
    assert "asdbench_typo_plugin (asdbench-typo 0.3): implements asdbench_register_backend" in capsys.readouterr().err


def test_load_plugins_naming_a_missing_distribution_is_a_failure(site, monkeypatch):
    monkeypatch.setenv("ASDBENCH_LOAD_PLUGINS", "asdbench-methods, asdbench-nowhere")
    registry = Registry()
    assert registry.get("backends", "knn")
    [failure] = registry.failures
    assert failure.entry_point == "ASDBENCH_LOAD_PLUGINS" and failure.distribution == "asdbench-nowhere"
    assert "'asdbench-nowhere' is not installed" in failure.error and "asdbench-methods" in failure.error
    with pytest.raises(PluginError, match="asdbench-nowhere"):
        registry.get("backends", "missing")


def test_trace_plugins_prints_every_registration(site, monkeypatch, capsys):
    monkeypatch.setenv("ASDBENCH_TRACE_PLUGINS", "1")
    Registry()
    err = capsys.readouterr().err
    assert "asdbench_register_backends: asdbench-methods registered backend 'knn'\n" in err
    assert "asdbench_register_datasets: asdbench registered dataset 'synth'\n" in err


class _FirstPlugin:
    @hookimpl
    def asdbench_register_backends(self, register):
        register("twin", object)
        register("only-first", object)


class _SecondPlugin:
    @hookimpl
    def asdbench_register_backends(self, register):
        register("twin", object)


def test_plugins_command_marks_duplicates(use_registry, capsys):
    use_registry(Registry(entry_points=False, extra_plugins=[_FirstPlugin(), _SecondPlugin()]))
    assert main(["plugins", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    backends = [(p["name"], p["duplicate"]) for p in listed["plugins"] if p["kind"] == "backends"]
    assert backends == [("only-first", False), ("twin", True), ("twin", True)]
    assert "registered twice" in listed["conflicts"][0]
    assert main(["plugins"]) == 0
    [twin_row, _] = [line for line in capsys.readouterr().out.splitlines() if " twin " in line]
    assert "DUPLICATE" in twin_row


# --- building, and calls into plugins -------------------------------------------------------------------


class Echo:
    def __init__(self, scale: float = 1.0):
        self.scale = scale

    def fit(self, embeddings, domains):
        pass

    def score(self, embeddings):
        return embeddings.sum(axis=1) * self.scale


class Scalar(nn.Module):
    def forward(self, waveforms):
        return waveforms.abs().mean(dim=1, keepdim=True)

    def output_shape(self, num_samples):
        return (1,)


def failing_backend(fail_with: str = "ValueError"):
    raise {"ValueError": ValueError("no such\nthing"), "PluginError": PluginError("a clear error of its own")}[
        fail_with]


class Parametric(Scalar):
    def __init__(self):
        super().__init__()
        self.gain = nn.Parameter(torch.ones(1))


class NoDimension(nn.Module):
    def __init__(self, input_shape, /):
        super().__init__()


class Dense(nn.Module):
    def __init__(self, input_shape, /, *, embedding_dim: int = 4):
        super().__init__()
        self.embedding_dim = embedding_dim
        self.layer = nn.Linear(input_shape[0], embedding_dim)

    def forward(self, features):
        return self.layer(features)


class SumLoss(nn.Module):
    def __init__(self, branch_dims, num_classes, /):
        super().__init__()

    def forward(self, branches, targets):
        return sum(b.sum() for b in branches)


class Fakes:
    @hookimpl
    def asdbench_register_backends(self, register):
        register("echo", Echo)
        register("failing", failing_backend)
        register("scoreless", object)

    @hookimpl
    def asdbench_register_frontends(self, register):
        register("scalar", Scalar)
        register("parametric", Parametric)

    @hookimpl
    def asdbench_register_networks(self, register):
        register("dense", Dense)
        register("no-dimension", NoDimension)

    @hookimpl
    def asdbench_register_losses(self, register):
        register("sum", SumLoss)


@pytest.fixture
def fakes():
    return Registry(entry_points=False, extra_plugins=[Fakes()])


def test_build_takes_a_canonical_component(fakes):
    assert fakes.build("backends", {"name": "echo", "scale": 2.0}).scale == 2.0
    assert fakes.build("networks", {"name": "dense", "embedding_dim": 3}, (5,)).embedding_dim == 3


def test_build_names_the_component_for_options_it_does_not_take(fakes):
    with pytest.raises(PluginError, match=r"backend 'echo' \(\(registered in process\)\) cannot be built with "
                                          r"options \{'k': 3\}"):
        fakes.build("backends", {"name": "echo", "k": 3})


def test_a_raising_factory_is_one_line_naming_the_component_chained_to_the_original(fakes):
    with pytest.raises(PluginCallError) as error:
        fakes.create("backends", "failing")
    assert str(error.value) == ("backend 'failing' ((registered in process)) failed in factory(): ValueError: no such "
                                "...; run with --debug for the traceback")
    assert isinstance(error.value.__cause__, ValueError)


def test_a_plugins_own_asdbench_error_passes_unchanged(fakes):
    with pytest.raises(PluginError, match="^a clear error of its own$"):
        fakes.create("backends", "failing", fail_with="PluginError")


@pytest.mark.parametrize(("kind", "name", "problem"), [
    ("backends", "scoreless", "it returned an instance of object without fit, score; a backend needs fit, score"),
    ("frontends", "parametric", "frontends must be parameter-free"),
    ("networks", "no-dimension", "without embedding_dim"),
])
def test_a_product_without_its_protocol_is_refused_when_built(fakes, kind, name, problem):
    runtime = ((3,),) if kind == "networks" else ()
    with pytest.raises(ContractError) as error:
        fakes.create(kind, name, *runtime)
    assert str(error.value).startswith(f"{singular(kind)} '{name}' ((registered in process)) broke its contract in "
                                       "factory(): ")
    assert problem in str(error.value)


def test_system_calls_name_the_component_whose_output_is_wrong(fakes):
    class Liar(Scalar):
        def output_shape(self, num_samples):
            return (2,)

    class Plugin:
        @hookimpl
        def asdbench_register_frontends(self, register):
            register("liar", Liar)

    registry = Registry(entry_points=False, extra_plugins=[Fakes(), Plugin()])
    system = {"frontends": [{"name": "liar"}], "networks": [{"name": "dense"}], "loss": {"name": "sum"}}
    built = build_system(system, registry, num_classes=2, num_samples=16)
    with pytest.raises(ContractError, match=r"frontend 'liar' .* broke its contract in forward\(\): the features: "
                                            r"shape \(3, 1\), expected \(3, 2\)"):
        built.embed(torch.zeros(3, 16))


def test_cli_reports_a_failing_plugin_in_one_line_and_the_traceback_with_debug(site, use_registry, capsys):
    write_distribution(site, "asdbench-exploding", "asdbench_exploding_plugin", """
        from asdbench.hookspecs import hookimpl
        def exploding(root: str):
            raise ValueError("disk on fire")
        @hookimpl
        def asdbench_register_datasets(register):
            register("exploding", exploding)
    """)
    use_registry(Registry())
    argv = ["baseline", str(site), "--dataset", "exploding", "--out", str(site / "out")]
    assert main(argv) == 2
    assert capsys.readouterr().err == (
        "asdbench: error: dataset 'exploding' (asdbench-exploding 1.2.3) failed in factory(): ValueError: disk on "
        "fire; run with --debug for the traceback\n")
    assert main(["--debug", *argv]) == 2
    err = capsys.readouterr().err
    assert 'raise ValueError("disk on fire")' in err and "direct cause of the following exception" in err


SHORT_BACKEND = """
    from asdbench.hookspecs import hookimpl

    class Short:
        def fit(self, embeddings, domains):
            pass
        def score(self, embeddings):
            return embeddings[:3, 0]

    @hookimpl
    def asdbench_register_backends(register):
        register("short", Short)
"""


def test_a_backend_returning_too_few_scores_is_one_line_naming_it(site, use_registry, tiny_dataset, capsys):
    write_distribution(site, "asdbench-short", "asdbench_short_plugin", SHORT_BACKEND, "0.1.0")
    use_registry(Registry())
    assert main(["baseline", str(tiny_dataset), "--splits", "dev", "--backend", "short",
                 "--out", str(site / "out")]) == 2
    [error] = [line for line in capsys.readouterr().err.splitlines() if "error" in line]  # after tqdm's bars
    assert error.startswith("asdbench: error: backend 'short' (asdbench-short 0.1.0) broke its contract in score(): "
                            "it returned scores of shape (3,) for ")


# --- the boundary checks ----------------------------------------------------------------------------------


@pytest.fixture
def registration(fakes):
    return fakes.get("backends", "echo")


@pytest.mark.parametrize(("scores", "problem"), [
    (np.zeros(3), r"shape \(3,\) for 4 embeddings"),
    (np.zeros((4, 1)), r"shape \(4, 1\) for 4 embeddings"),
    (np.array([0.0, np.nan, 1.0, 2.0]), "1 non-finite values"),
    (np.array(["a", "b", "c", "d"]), "the scores: dtype <U1, expected numbers"),
    ([[1.0], [2.0, 3.0]], "the scores: not an array"),
])
def test_check_scores(registration, scores, problem):
    with pytest.raises(ContractError, match=problem):
        check_scores(scores, 4, registration)


def test_check_scores_returns_float64(registration):
    assert check_scores([1, 2], 2, registration).dtype == np.float64


def test_check_tensor_outputs(registration):
    features = torch.zeros(2, 5, 3)
    assert check_frontend_output(features, 2, (5, 3), registration) is features
    with pytest.raises(ContractError, match=r"the features: shape \(2, 5, 3\), expected \(2, 5\)"):
        check_frontend_output(features, 2, (5,), registration)
    with pytest.raises(ContractError, match="the embeddings: dtype torch.int64, expected a floating dtype"):
        check_network_output(torch.zeros(2, 4, dtype=torch.long), 2, 4, registration)
    with pytest.raises(ContractError, match="the embeddings: ndarray, not a torch.Tensor"):
        check_network_output(np.zeros((2, 4)), 2, 4, registration)
    nan = torch.full((2, 4), float("nan"))
    assert check_network_output(nan, 2, 4, registration, finite=False) is nan
    with pytest.raises(ContractError, match="non-finite"):
        check_network_output(nan, 2, 4, registration)


def test_check_loss(registration):
    branch = torch.ones(2, 3, requires_grad=True)
    assert check_loss(branch.sum(), [branch], registration).requires_grad
    with pytest.raises(ContractError, match=r"the loss: shape \(2,\), expected \(\)"):
        check_loss(branch.sum(1), [branch], registration)
    with pytest.raises(ContractError, match="does not require grad"):
        check_loss(torch.tensor(1.0), [branch], registration)
    with torch.no_grad():
        check_loss(torch.tensor(1.0), [branch], registration)


def test_check_augmentation_output(registration):
    waveforms, targets = torch.zeros(4, 10), torch.zeros(4, 3)
    assert check_augmentation_output((waveforms, targets), waveforms, targets, registration) == (waveforms, targets)
    with pytest.raises(ContractError, match="expected a .waveforms, targets. pair"):
        check_augmentation_output(waveforms, waveforms, targets, registration)
    with pytest.raises(ContractError, match=r"the targets: shape \(4, 2\)"):
        check_augmentation_output((waveforms, targets[:, :2]), waveforms, targets, registration)


def test_check_pseudolabel_outputs(registration):
    assert check_reduced(np.zeros((5, 2)), 5, registration).shape == (5, 2)
    with pytest.raises(ContractError, match=r"shape \(5,\) for 5 embeddings"):
        check_reduced(np.zeros(5), 5, registration)
    assert list(check_clusters(np.array([0, 1, 1]), 3, 2, registration)) == [0, 1, 1]
    with pytest.raises(ContractError, match="found 3 clusters, more than max_clusters=2"):
        check_clusters(np.array([0, 1, 2]), 3, 2, registration)
    with pytest.raises(ContractError, match="dtype float64, expected integers"):
        check_clusters(np.zeros(3), 3, 2, registration)
    assert check_feature_space_output(np.array(["a", "b"], dtype=object), 2, registration).shape == (2,)
    assert check_feature_space_output(np.zeros((2, 7)), 2, registration).shape == (2, 7)
    with pytest.raises(ContractError, match=r"3 class names for 2 clips"):
        check_feature_space_output(np.array(["a", "b", "c"]), 2, registration)
    with pytest.raises(ContractError, match=r"shape \(2, 7, 1\) for 2 clips"):
        check_feature_space_output(np.zeros((2, 7, 1)), 2, registration)


# --- asdbench plugins --check ---------------------------------------------------------------------------


def test_check_passes_on_the_builtins(use_registry, capsys):
    use_registry(Registry())
    assert main(["plugins", "--check", "--json"]) == 0
    results = {(r["kind"], r["name"]): r for r in json.loads(capsys.readouterr().out)}
    assert not any(r["failed"] for r in results.values())
    assert results[("backends", "knn")]["result"] == "ok: 7 test and 20 training scores"
    assert results[("networks", "spectrum-cnn")]["result"] == "ok: (2, 80001) -> (2, 128)"
    assert results[("networks", "spectrogram-resnet")]["result"] == "ok: (2, 128, 313) -> (2, 128)"
    assert results[("datasets", "synth")]["result"] == "signature checked (needs data)"
    assert {r["result"].split(":")[0] for k, r in results.items() if k[0] == "feature_spaces"} <= {
        "built; embed() not run (needs data)", "skipped"}


BROKEN_PLUGIN = """
    import torch
    from torch import nn
    from asdbench.hookspecs import hookimpl

    class Short:
        def fit(self, embeddings, domains):
            pass
        def score(self, embeddings):
            return embeddings[:3, 0]

    class Flat(nn.Module):
        def forward(self, waveforms, targets):
            return waveforms

    class Detached(nn.Module):
        def __init__(self, branch_dims, num_classes, /):
            super().__init__()
        def forward(self, branches, targets):
            return torch.tensor(1.0)

    class Tidy:
        def fit_predict(self, points, max_clusters):
            return [0] * len(points)

    @hookimpl
    def asdbench_register_backends(register):
        register("short", Short)
        register("needs-k", lambda k: Short())

    @hookimpl
    def asdbench_register_augmentations(register):
        register("flat", Flat)

    @hookimpl
    def asdbench_register_losses(register):
        register("detached", Detached)

    @hookimpl
    def asdbench_register_clusterers(register):
        register("tidy", Tidy)
"""


def test_check_fails_naming_a_broken_plugin(site, use_registry, monkeypatch, capsys):
    write_distribution(site, "asdbench-broken-contract", "asdbench_broken_contract", BROKEN_PLUGIN, "2.0")
    monkeypatch.setenv("ASDBENCH_LOAD_PLUGINS", "asdbench-broken-contract")
    use_registry(Registry())
    assert main(["plugins", "--check", "--json"]) == 1
    results = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert results["short"]["failed"] and "shape (3,) for 7 embeddings" in results["short"]["result"]
    assert results["flat"]["failed"] and "expected a (waveforms, targets) pair" in results["flat"]["result"]
    assert results["detached"]["failed"] and "does not require grad" in results["detached"]["result"]
    assert not results["tidy"]["failed"], "a list of ints is an array of cluster indices"
    assert results["needs-k"] == {"kind": "backends", "name": "needs-k", "distribution": "asdbench-broken-contract",
                                  "failed": False, "result": "skipped: no default for k",
                                  "label": "backend 'needs-k' (asdbench-broken-contract 2.0)"}
    assert main(["plugins", "--check"]) == 1
    assert capsys.readouterr().out.rstrip().splitlines()[-1] == (
        f"{len(results)} checked, 3 failed: loss 'detached' (asdbench-broken-contract 2.0), augmentation 'flat' "
        "(asdbench-broken-contract 2.0), backend 'short' (asdbench-broken-contract 2.0)")


def test_check_fails_on_plugins_that_did_not_load(use_registry, capsys):
    class Typo:
        @hookimpl
        def asdbench_register_frontend(self, register):
            pass

    use_registry(Registry(entry_points=False, extra_plugins=[Typo()]))
    assert main(["plugins", "--check", "--json"]) == 1
    [failed] = [r for r in json.loads(capsys.readouterr().out) if r["failed"]]
    assert failed["kind"] == "(plugin)" and failed["name"].endswith("Typo")
    assert "did you mean asdbench_register_frontends?" in failed["result"]
