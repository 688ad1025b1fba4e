"""How the suite is laid out. No module of it imports a test module: what test modules share lives in
tests/helpers/ and tests/conftest.py. A test that starts a process or trains is marked slow, so that
`make test-fast` (``-m "not slow"``) leaves it out.

A fixture imported from a test module works only through the name the importer holds, unused as far as any linter
can tell (hence the noqa F401/F811 such imports needed), and a test module's helpers change with its tests."""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest
import torch

from tests.helpers import slow_work

ROOT = Path(__file__).resolve().parent.parent
MODULES = sorted([*(p for p in (ROOT / "tests").rglob("*.py") if not p.is_relative_to(ROOT / "tests" / "data")),
                  *(ROOT / "benchmarks").rglob("*.py")])
"""The suite's modules: tests/data/ holds inputs and, where checked out, the evaluators' own code (not ours)."""


def imported_test_modules(path: Path) -> set[str]:
    """What ``path`` imports whose dotted name has a part starting ``test_``: a test module, or a name from one."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            prefix = "." * node.level + (f"{node.module}." if node.module else "")
            names.update(prefix + alias.name for alias in node.names)
    return {name for name in names if any(part.startswith("test_") for part in name.split("."))}


def test_no_module_of_the_suite_imports_a_test_module():
    assert len(MODULES) > 60
    offenders = {str(path.relative_to(ROOT)): imported_test_modules(path) for path in MODULES}
    assert {path: names for path, names in offenders.items() if names} == {}


def test_the_check_sees_absolute_relative_and_from_imports_of_test_modules(tmp_path):
    module = tmp_path / "test_bad.py"
    module.write_text("import tests.test_grid\nfrom tests.test_train import plan\nfrom . import test_plugins\n"
                      "from .test_fast_paths import make\nimport test_bench_cli\nfrom tests.helpers.grids import grid_file\n")
    assert imported_test_modules(module) == {"tests.test_grid", "tests.test_train.plan", ".test_plugins",
                                             ".test_fast_paths.make", "test_bench_cli"}


SLOW_WORK_TESTS = """
    import multiprocessing
    import os
    import subprocess

    import pytest
    import torch


    @pytest.fixture
    def started():
        subprocess.run(["true"], check=True)


    def test_starts_a_process():
        subprocess.run(["true"], check=True)


    def test_forks():
        process = multiprocessing.get_context("fork").Process(target=os.getpid)
        process.start()
        process.join()


    def test_trains():
        weight = torch.nn.Parameter(torch.ones(1))
        optimiser = torch.optim.SGD([weight], lr=0.1)
        weight.sum().backward()
        optimiser.step()


    def test_uses_a_fixture_that_starts_a_process(started):
        pass


    @pytest.mark.slow
    def test_marked_slow(started):
        test_starts_a_process()
        test_trains()


    def test_neither():
        torch.nn.Linear(2, 1)(torch.ones(2)).sum().backward()
"""


@pytest.fixture(scope="module")
def optimisers_imported():
    """torch imports its compiler stack (some 800 modules) at the first optimiser step and cannot import it twice,
    while pytester forgets every module first imported after it was set up: that step is taken before, in a watch
    of its own (it is not the test's training)."""
    with slow_work.watching():
        torch.optim.SGD([torch.nn.Parameter(torch.ones(1))]).step()


@pytest.mark.usefixtures("optimisers_imported")
def test_a_test_that_starts_a_process_or_trains_unmarked_fails(pytester):
    """The suite's hooks (tests/conftest.py) fail such a test, and only such a test."""
    pytester.makeini("[pytest]\nmarkers = slow\n")
    pytester.makeconftest("from tests.conftest import pytest_runtest_call, pytest_runtest_setup\n")
    pytester.makepyfile(test_work=textwrap.dedent(SLOW_WORK_TESTS))
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-p", "no:benchmark")  # its report runs git, hg and file
    result.assert_outcomes(passed=2, failed=4)
    result.stdout.fnmatch_lines_random([
        "*test_starts_a_process started a process (subprocess.Popen true), but is not marked slow: mark it*",
        "*test_forks started a process (multiprocessing, ForkProcess), started a process (os.fork), but is not*",
        "*test_trains trained (SGD.step), but is not marked slow*",
        "*test_uses_a_fixture_that_starts_a_process started a process (subprocess.Popen true), but is not*",
    ])
