"""One whole small grid (the main system, 2 seeds, tiny preset), one run at a time vs seeds stacked."""

from __future__ import annotations

import itertools
import textwrap

import pytest

from asdbench.grid.execute import execute_grid
from asdbench.grid.expand import load_grid
from asdbench.synth.generate import generate

from measure import measure

GRID = """
    [base]
    [base.dataset]
    name = "synth"
    root = "{root}"
    [base.system]
    frontends = [{{name = "spectrum"}}, {{name = "stft", n_fft = 256}}, {{name = "stft", n_fft = 4096}}]
    networks = ["spectrum-cnn", "spectrogram-resnet", "spectrogram-resnet"]
    loss = "scac"
    aux = "subspace"
    augmentations = ["mixup"]
    backend = {{name = "kmeans-target", clusters = 4}}  # tiny has 10 source clips per machine
    [base.train]
    epochs = 2
    checkpoints = [1, 2]
    clip_seconds = 4.5
    stack_seeds = {stack_seeds}
    [axes]
    seed = [1, 2]
    [table]
    rows = "seed"
    columns = "split"
"""


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    generate(root / "data", "tiny", seed=0, progress=False)
    grids = {}
    for stack_seeds in (1, 2):
        (root / f"grid{stack_seeds}.toml").write_text(textwrap.dedent(GRID.format(root=root / "data",
                                                                                   stack_seeds=stack_seeds)))
        grids[stack_seeds] = load_grid(root / f"grid{stack_seeds}.toml")
    return grids, len(list((root / "data").rglob("train/*.wav")))


@pytest.mark.parametrize(("way", "stack_seeds"), [("asdbench", 1), ("asdbench, seeds stacked", 2)])
def test_small_grid(benchmark, grid, tmp_path, way, stack_seeds):
    """clips/s counts training clips (clips x epochs x runs) over the whole grid, scoring included."""
    grids, train_clips = grid
    grid = grids[stack_seeds]
    stores = (tmp_path / f"store{i}" for i in itertools.count())
    outcomes = measure(benchmark, lambda: execute_grid(grid, next(stores), progress=False),
                       clips=train_clips * 2 * len(grid.runs), work="small grid (2 seeds, 2 epochs, tiny)", way=way,
                       rounds=1)
    assert all(outcome.state.value == "done" for outcome in outcomes.values()), [o.error for o in outcomes.values()]
    benchmark.extra_info["runs"] = len(grid.runs)
