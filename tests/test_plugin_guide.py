"""docs/plugins.md is executed: its files are written as shown, its plugin is installed (as far as
importlib.metadata can tell) from its pyproject.toml, and every ``sh run`` block is run in order."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

GUIDE = Path(__file__).resolve().parent.parent / "docs" / "plugins.md"
BLOCK = re.compile(r"^```(\w+)([^\n]*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def blocks() -> list[tuple[str, str, str]]:
    """(language, info after it, body) of every fenced block of the guide."""
    return [(language, info.strip(), body) for language, info, body in BLOCK.findall(GUIDE.read_text())]


def install(project: Path) -> None:
    """What ``pip install -e .`` leaves for importlib.metadata: a dist-info with the entry points of pyproject."""
    meta = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    info = project / f"{meta['name'].replace('-', '_')}-{meta['version']}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {meta['name']}\nVersion: {meta['version']}\n")
    groups = meta["entry-points"]
    (info / "entry_points.txt").write_text("".join(
        f"[{group}]\n" + "".join(f"{name} = {target}\n" for name, target in points.items())
        for group, points in groups.items()))


@pytest.mark.slow
def test_the_plugin_guide_runs_as_written(tmp_path):
    project = tmp_path / "asdbench-example"
    files = [(info.removeprefix("file="), body) for _, info, body in blocks() if info.startswith("file=")]
    assert {path for path, _ in files} >= {"pyproject.toml", "asdbench_example/plugin.py", "tests/test_example.py",
                                          "grid.toml", "asdbench_example/labelling_plugin.py",
                                          "asdbench_example/tracker.py", "labels.toml",
                                          "asdbench_example/reconstruction_plugin.py", "autoencoder.toml"}
    for path, body in files:
        (project / path).parent.mkdir(parents=True, exist_ok=True)
        (project / path).write_text(body)
    install(project)
    environment = {**os.environ, "PYTHONPATH": str(project),
                   "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    environment.pop("ASDBENCH_LOAD_PLUGINS", None)
    outputs = []
    for command in (line for language, info, body in blocks() if language == "sh" and info == "run"
                    for line in body.splitlines() if line.strip()):
        result = subprocess.run(command, shell=True, cwd=project, env=environment, capture_output=True, text=True,
                                timeout=600)
        assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
        outputs.append((command, result.stdout))
    printed = dict(outputs)
    check = printed["ASDBENCH_LOAD_PLUGINS=asdbench-example asdbench plugins --check"]
    assert all(re.search(rf"{name}\s+asdbench-example\s+(ok|built)", check)
               for name in ("mahalanobis", "centre", "gain", "band-energies", "pca", "agglomerative", "tiny-ae",
                            "mean-error", "error-score")), check
    shown = printed["asdbench plugins show backend mahalanobis"]
    assert re.search(r"shrinkage\s+float\s+0.1\s+a number >= 0 and <= 1\s+how far the covariance", shown), shown
    assert "5 passed" in printed["pytest -q tests"]
    status = printed["asdbench status grid.toml --out runs"]
    assert "3 runs: 3 done" in status and "2 trainings: 2 done" in status
    board = printed["asdbench leaderboard grid.toml --out runs"]
    rows = [line for line in board.splitlines() if line.startswith("| ") and "system" not in line]
    assert len(rows) == 3 and "missing" not in board and "3 runs, scored from 2 trainings" in board
    labels = printed["asdbench leaderboard labels.toml --out runs"]
    titles = [line for line in labels.splitlines() if line.startswith("### ")]
    assert titles == ["### labels: official_score (%), one run per cell", "### labels: hmean (%), mean (std) over "
                      "pseudolabel.reducer.components, 2 runs a cell"], labels
    assert "| pseudolabel.reducer.components " in labels and "dev hmean" in labels and "missing" not in labels
    tidy = (project / "results.csv").read_text().splitlines()
    assert tidy[0].startswith("space,pseudolabel.reducer.components,seed,split,level,machine,section,metric,value")
    epochs = printed["cat runs/*/epochs.csv"].splitlines()
    assert len(epochs) == 2 * 1 + 4 * 1, "the tracker saw every epoch of the 2 + 4 trainings"
    trained = printed["asdbench run autoencoder.toml --out runs"]
    rescored = printed["asdbench run autoencoder.toml --out runs --set 'system.backend={name=\"error-score\", "
                       "statistic=\"max\"}'"]
    runs = [re.search(r"^autoencoder: run (\w+)/(\w+)$", text, re.MULTILINE) for text in (trained, rescored)]
    assert all(runs) and "official score:" in trained and "official score:" in rescored, (trained, rescored)
    assert runs[0][1] == runs[1][1] and runs[0][2] != runs[1][2], "rescored from the one training's embeddings"
