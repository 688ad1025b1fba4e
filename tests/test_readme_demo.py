"""The README's "Every command on the demo's output" block runs as written, on what `make demo` leaves.

The test rebuilds that state on the `tiny` preset, every training (the demo's, the grid's, the triplet space's)
one epoch long, and runs the block in one shell, as a user pasting it would."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from asdbench.cli.main import main
from asdbench.synth.generate import generate
from tests.helpers.browser import load_offline
from tests.helpers.site import pages

REPOSITORY = Path(__file__).resolve().parent.parent
BLOCK = re.compile(r"^```sh demo\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def demo_block() -> str:
    (block,) = BLOCK.findall((REPOSITORY / "README.md").read_text())
    return block


def for_tiny(spec: str) -> str:
    """A demo spec sized for the tiny preset: 10 source and 2 target clips per machine (so 4 k-means clusters,
    not 16, and BIC in-sample, not on held-out folds) of 1 s (too short for the triplet space's STFT network
    unless tiled, as the demo's 4 s clips need not be), and trained for one epoch, its checkpoint the one scored
    (what the commands do with a run does not depend on how long it trained)."""
    assert "backend = {name = \"kmeans-target\", clusters = 16}" in spec
    spec = spec.replace("clusters = 16}", "clusters = 4}")
    spec = spec.replace('clusterer = "gmm-bic"', 'clusterer = {name = "gmm-bic", selection = "in-sample"}')
    spec = spec.replace('{name = "triplet", epochs = 2}', '{name = "triplet", epochs = 1, clip_seconds = 2.0}')
    short = re.sub(r"(?m)^checkpoints = .*$", "checkpoints = [1]", re.sub(r"(?m)^epochs = \d+$", "epochs = 1", spec))
    assert short != spec
    return short


@pytest.fixture(scope="module")
def demo_output(tmp_path_factory):
    """The README's demo block run as written on what `make demo` leaves (rebuilt on `tiny`): (its folder, stdout)."""
    tmp_path = tmp_path_factory.mktemp("readme-demo")
    (tmp_path / "leaderboard").mkdir()
    (tmp_path / "leaderboard" / "demo.toml").write_text(for_tiny((REPOSITORY / "leaderboard" / "demo.toml").read_text()))
    shutil.copytree(REPOSITORY / "examples", tmp_path / "examples")
    for example in (tmp_path / "examples").glob("demo-*.toml"):  # what the demo block runs
        example.write_text(for_tiny(example.read_text()))
    generate(tmp_path / "demo-output" / "data", "tiny", seed=0, progress=False)
    environment = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    script = "set -euo pipefail\nasdbench run leaderboard/demo.toml --out demo-output/runs\n" + demo_block()
    script = script.replace("--preset demo", "--preset tiny")
    result = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=environment, capture_output=True, text=True,
                            timeout=900)
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    return tmp_path, result.stdout


@pytest.mark.slow
def test_every_readme_command_runs_on_the_demo_output(demo_output):
    tmp_path, out = demo_output
    assert "already holds the synthetic" in out and "nothing written" in out
    # the run's dev and eval, `evaluate` of its eval score files, then the run read back
    scores = re.findall(r"official score: (\d+\.\d+)", out)
    assert scores[2] == scores[1] and scores[3:5] == scores[:2], scores
    assert (tmp_path / "demo-output" / "space-gearbox.png").stat().st_size > 10_000
    assert "2 runs: 2 done" in out and "2 trainings: 2 done" in out
    assert (tmp_path / "demo-output" / "grid.png").stat().st_size > 10_000
    assert "| SCAC + subspace" in out
    assert (tmp_path / "demo-output" / "grid.csv").read_text().startswith("system,seed,split,level,machine,section,")
    assert re.search(r"^\d+ trainings, \d+ scorings, 1 pseudo-label tables, 1 feature spaces, 0 set aside: ", out, re.MULTILINE), out
    assert "training provenance:" in out and "history (1 epochs" in out


@pytest.mark.slow
def test_the_demo_stores_site_holds_asdbench_results_and_loads_in_a_browser(demo_output, page, capsys,
                                                                              monkeypatch):
    """`asdbench report` on the demo's store (issue 27): every page's numbers are `asdbench results`' for it, and the
    site opens offline with no error."""
    tmp_path, _ = demo_output
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    assert main(["results", "examples/demo-grid.toml", "--out", "demo-output/runs", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    site = tmp_path / "demo-output" / "site"
    found = pages(site)
    assert found["index.html"].numbers["results"] == rows and rows
    for name, shown in found.items():
        if name.startswith("runs/"):
            assert all(row in rows for row in shown.numbers["results"]), name
    load_offline(page, site, charts=1, screenshot="demo.png")
