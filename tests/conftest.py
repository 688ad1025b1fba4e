"""Shared fixtures: a private audio cache, small synthetic datasets generated once per session, a folder to install
plugin distributions in, the fake system, a registry of fake training components. Test modules take shared
fixtures from here, and shared helpers from tests/helpers.

Every test that starts a process or trains a network must be marked ``slow`` (tests/helpers/slow_work.py): the
hooks below fail one that is not."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from asdbench.contract.registry import Registry, use_registry
from asdbench.synth.generate import generate
from asdbench_methods.networks import SpectrogramNetwork
from tests.helpers import slow_work
from tests.helpers.browser import chromium, recording_page
from tests.helpers.fake_system import install_fake_system
from tests.helpers.training import Fakes

pytest_plugins = ["pytester"]  # tests/test_suite_layout.py runs the hooks below on tests of its own
collect_ignore_glob = ["data/*"]
"""tests/data/ holds inputs, no tests; the evaluators checked out in tests/data/evaluators/ (its README) bring test
modules of their own (the 2023/2024 ones' tools/test_plots.py, which need seaborn), which are not the suite's."""

THREADS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS")
"""What sets the thread count of torch, of the BLAS libraries numpy and scikit-learn call, and of numba."""


def pytest_configure(config: pytest.Config) -> None:
    # pytest-xdist's controller, before it starts its workers (`make test`: two, on two cores): each worker, and
    # every process a test starts in it, computes in one thread, as two threads each would oversubscribe the cores
    if config.getoption("numprocesses", None) and "PYTEST_XDIST_WORKER" not in os.environ:
        os.environ.update(dict.fromkeys(THREADS, "1"))


HEAVIEST_FIRST = ("test_plugin_guide", "test_grid", "test_synth", "test_cluster", "test_readme_demo",
                  "test_grid_progress", "test_plugin_contract", "test_gpu_check", "test_run", "test_scoring_levels",
                  "test_sota_synth", "test_sections", "test_damaged_runs", "test_machinewise", "test_report_site",
                  "test_baseline_ae_grid", "test_baseline_mobilenet_grid", "test_featurespaces", "test_pseudolabel")
"""The modules that took longest (``pytest --durations``, 2026-12-07), sent to the workers first. `make test`'s
``--dist loadscope`` hands modules to its two workers in collection order, so a long one collected last (the
plugin guide's, alphabetically late) kept one worker busy alone for a minute and more while the other idled."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: position for position, name in enumerate(HEAVIEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.stem, len(rank)))  # stable: each module's tests stay together


SLOW_WORK = pytest.StashKey[list[str]]()
"""What a test's set-up did of slow work (tests/helpers/slow_work.py)."""


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item):
    with slow_work.watching() as seen:
        item.stash[SLOW_WORK] = seen
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    """A test that started a process or trained (in its fixtures' set-up or itself) fails unless marked slow."""
    with slow_work.watching() as seen:
        result = yield
    done = [*item.stash[SLOW_WORK], *(work for work in seen if work not in item.stash[SLOW_WORK])]
    if done and item.get_closest_marker("slow") is None:
        pytest.fail(f"{item.nodeid} {', '.join(done)}, but is not marked slow: mark it @pytest.mark.slow (what is "
                    "slow: tests/helpers/slow_work.py)", pytrace=False)
    return result


@pytest.fixture(scope="session", autouse=True)
def private_audio_cache(tmp_path_factory) -> Path:
    """Tests never read or write the user's cache."""
    path = tmp_path_factory.mktemp("audio-cache")
    previous = os.environ.get("ASDBENCH_CACHE_DIR")
    os.environ["ASDBENCH_CACHE_DIR"] = str(path)
    yield path
    if previous is None:
        os.environ.pop("ASDBENCH_CACHE_DIR", None)
    else:
        os.environ["ASDBENCH_CACHE_DIR"] = previous


def generated_preset(tmp_path_factory, preset: str) -> Path:
    """A synthetic preset generated once per session (seed 0), for the fixtures below."""
    root = tmp_path_factory.mktemp(preset) / "data"
    generate(root, preset, seed=0, progress=False)
    return root


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory) -> Path:
    """The `tiny` preset (2024 style: one attributed and one hidden machine per split). Treat as read-only."""
    return generated_preset(tmp_path_factory, "tiny")


@pytest.fixture(scope="session")
def ci2025_dataset(tmp_path_factory) -> Path:
    """The `ci2025` preset: supplemental/ folders (clean machine sound for slider and AutoTrash, noise for fan and
    HomeCamera), slider and AutoTrash concealing their attributes. Treat as read-only."""
    return generated_preset(tmp_path_factory, "ci2025")


@pytest.fixture(scope="session")
def ci2021_dataset(tmp_path_factory) -> Path:
    """The `ci2021` preset: three sections per machine type and split, domains in the file names. Read-only."""
    return generated_preset(tmp_path_factory, "ci2021")


@pytest.fixture(scope="session")
def ci2022_dataset(tmp_path_factory) -> Path:
    """The `ci2022` preset: three sections per machine type and split. Treat as read-only."""
    return generated_preset(tmp_path_factory, "ci2022")


@pytest.fixture(scope="session")
def ci2026_dataset(tmp_path_factory) -> Path:
    """The `ci2026` preset: two-channel files (near microphone in channel 0, far in channel 1). Treat as read-only."""
    return generated_preset(tmp_path_factory, "ci2026")


@pytest.fixture
def empty_models_dir(tmp_path, monkeypatch) -> Path:
    """An empty models folder as ``ASDBENCH_MODELS_DIR``: no test sees the user's pretrained weights (the pretrained
    tests use it for every test, through ``pytestmark``)."""
    folder = tmp_path / "models"
    folder.mkdir()
    monkeypatch.setenv("ASDBENCH_MODELS_DIR", str(folder))
    return folder


@pytest.fixture
def site(tmp_path, monkeypatch) -> Path:
    """``tmp_path`` on ``sys.path``, for distributions written there (tests.helpers.distributions), with the
    variables that restrict or trace plugin loading unset."""
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("ASDBENCH_LOAD_PLUGINS", raising=False)
    monkeypatch.delenv("ASDBENCH_TRACE_PLUGINS", raising=False)
    return tmp_path


@pytest.fixture
def fake_system(tmp_path, monkeypatch) -> Iterator[Path]:
    """A cheap system plugin (tests.helpers.fake_system), installed as a distribution visible to this process and
    its children; the log its loss writes a line to per system built."""
    log = install_fake_system(tmp_path, monkeypatch)
    with use_registry(None):
        yield log


@pytest.fixture
def training_registry() -> Registry:
    """The fake training components of tests.helpers.training, and no plugin."""
    return Registry(entry_points=False, extra_plugins=[Fakes()])


@pytest.fixture
def one_block_resnets(monkeypatch) -> None:
    """spectrogram-resnet with one residual block, a downsampling one, instead of eight: every kind of its layers
    (stem, batch norms, squeeze-excitation, pooled skip) at a fraction of the cost, for the tests of what does not
    depend on the network's depth (data order, random draws, stacking, compiling, memory formats)."""
    monkeypatch.setattr(SpectrogramNetwork, "STAGES", ((32, 2),))


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright, started once (tests.helpers.browser); skipped where it is missing."""
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser):
    """A fresh page of :func:`browser` recording its problems and requests (tests.helpers.browser.recording_page)."""
    with recording_page(browser) as opened:
        yield opened

