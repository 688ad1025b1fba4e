"""The committed grid files, the committed CI leaderboards and the regression gate's cells.

`.ci/run` reruns leaderboard/gate.toml and fails when a cell falls more than GATE_TOLERANCE points (Makefile)
below gate.json, so what these tests assert of the committed gate cells holds, within that tolerance, for every
change that lands. synth.toml (`make leaderboard`) is rerun by hand, not gated.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from asdbench.grid.expand import load_grid

ROOT = Path(__file__).resolve().parent.parent
LEADERBOARD = ROOT / "leaderboard"
GRIDS = sorted(p for p in LEADERBOARD.glob("*.toml") if "[table]" in p.read_text())


@pytest.mark.parametrize("path", GRIDS, ids=lambda p: p.name)
def test_every_grid_file_expands_against_the_registered_plugins(path):
    grid = load_grid(path)
    assert grid.runs and len({run.spec.hash for run in grid.runs}) == len(grid.runs)


PAPER_GRIDS = ["table1.toml", "table2.toml", "table2-years.toml", "table2-dcase2020.toml", "table3-dcase2023.toml",
               "table3-dcase2024.toml"]


def test_paper_grids_have_the_papers_shape():
    assert len(load_grid(LEADERBOARD / "table1.toml").runs) == (7 + 1) * 2 * 5  # + the row as published
    assert len(load_grid(LEADERBOARD / "table2.toml").runs) == 3 * 2 * 5
    for year in (2023, 2024):
        assert len(load_grid(LEADERBOARD / f"table3-dcase{year}.toml").runs) == 6 * 5


def test_table2_across_the_years_adds_2021_2022_2025_and_2026_columns_to_table2s_runs():
    runs = load_grid(LEADERBOARD / "table2-years.toml").runs
    assert len(runs) == 3 * 7 * 5
    assert {run.spec.hash for run in load_grid(LEADERBOARD / "table2.toml").runs} <= {run.spec.hash for run in runs}
    datasets = {run.coordinates["dataset"]: run.spec.dataset for run in runs}
    assert {name: (d["name"], d.get("supplemental"), d.get("channel")) for name, d in datasets.items()} == {
        "DCASE2021": ("dcase2021", None, None), "DCASE2022": ("dcase2022", None, None),
        "DCASE2023": ("dcase2023", None, None), "DCASE2024": ("dcase2024", None, None),
        "DCASE2025": ("dcase2025", "none", None), "DCASE2025 + supplemental": ("dcase2025", "train", None),
        "DCASE2026 (channel 0)": ("dcase2026", "none", 0)}


def test_table2_on_dcase2020_runs_the_same_systems_with_the_2020_summary():
    runs = load_grid(LEADERBOARD / "table2-dcase2020.toml").runs
    years = load_grid(LEADERBOARD / "table2-years.toml").runs
    assert {run.spec.dataset["name"] for run in runs} == {"dcase2020"}
    assert {(run.coordinates["system"], run.coordinates["seed"]): run.spec.system for run in runs} == {
        (run.coordinates["system"], run.coordinates["seed"]): run.spec.system for run in years}


@pytest.mark.parametrize("name", PAPER_GRIDS)
def test_paper_grids_train_in_fp32_as_published(name):
    assert {run.spec.train["precision"] for run in load_grid(LEADERBOARD / name).runs} == {"fp32"}


def test_table1_as_published_row_mean_normalises_the_4096_branch_only():
    runs = load_grid(LEADERBOARD / "table1.toml").runs
    for run in runs:
        normalised = [f["n_fft"] for f in run.spec.system["frontends"] if f.get("temporal_norm")]
        assert normalised == ([4096] if run.coordinates["system"].endswith("(as published)") else []), run.coordinates


def committed_cells(name):
    return {(c["row"], c["column"]): c["mean"] for c in json.loads((LEADERBOARD / name).read_text())}


def test_committed_ci_leaderboard_beats_chance_and_attributes_beat_machine_labels():
    cells = committed_cells("synth.json")
    assert all(value > 0.5 for value in cells.values()), cells
    for split in ("dev", "eval"):
        assert cells[("Subspace loss", split)] > cells[("Subspace loss, machine labels only", split)]


def test_the_gates_trained_cells_stand_so_far_above_an_untrained_network_that_a_break_cannot_pass():
    """Every deliberate break (leaderboard/gate_breaks.py) takes a trained row down to about the untrained one,
    which itself moves by up to 6 points with the seed: a trained cell must stand more than the tolerance and that
    above it, or a break could pass."""
    tolerance = float(re.search(r"^GATE_TOLERANCE := (\S+)$", (ROOT / "Makefile").read_text(), re.M).group(1)) / 100
    cells = committed_cells("gate.json")
    baselines = {"DCASE baseline (MSE)", "DCASE baseline (selective Mahalanobis)"}
    assert {row for row, _ in cells} == {"Untrained network", "Main loss (scac)", "Subspace loss alone", *baselines}
    for split in ("dev", "eval"):
        untrained = cells[("Untrained network", split)]
        assert 0.4 < untrained < 0.6, (split, untrained)  # near chance: the preset hides its anomalies from it
        # so does the organisers' autoencoder (gate.toml): its rows catch a baseline that no longer runs, and
        # tests/test_baseline_ae.py what it computes
        assert all(0.4 < cells[(row, split)] < 0.6 for row in baselines), cells
        for row in ("Main loss (scac)", "Subspace loss alone"):
            assert cells[(row, split)] - untrained > tolerance + 0.06, (row, split, cells[(row, split)], untrained)


def test_backend_ablation_scores_the_ci_leaderboards_subspace_trainings():
    ablation = load_grid(LEADERBOARD / "backends.toml").runs
    subspace = [run for run in load_grid(LEADERBOARD / "synth.toml").runs
                if run.coordinates["system"] == "Subspace loss"]
    assert len(ablation) == 8 * 2
    assert {run.spec.training_hash for run in ablation} == {run.spec.training_hash for run in subspace}
    assert {run.spec.hash for run in subspace} <= {run.spec.hash for run in ablation}


BASE_SPECS = ["paper-base.toml", "dcase-baseline.toml", "dcase-baseline-mobilenet.toml"]
"""The run specs the real-data grids are based on."""


@pytest.mark.parametrize("name", [*PAPER_GRIDS, "sota.toml", "dcase-baseline-years.toml",
                                  "dcase-baseline-mobilenet-years.toml"])
def test_paper_grids_run_unedited_on_data_elsewhere(name, tmp_path, monkeypatch):
    """$ASDBENCH_DATA_DIR moves every data folder of a paper grid, to the runs the edited file would name."""
    monkeypatch.setenv("ASDBENCH_DATA_DIR", str(tmp_path / "mine"))
    runs = load_grid(LEADERBOARD / name).runs
    paths = {run.spec.dataset.get(key) for run in runs for key in ("root", "ground_truth", "hidden_attributes")} - {None}
    assert paths and all(path.startswith(str(tmp_path / "mine") + "/") for path in paths)
    for file in (name, *BASE_SPECS):
        (tmp_path / file).write_text((LEADERBOARD / file).read_text().replace("${ASDBENCH_DATA_DIR:-/data}",
                                                                               str(tmp_path / "mine")))
    assert [run.spec.hash for run in runs] == [run.spec.hash for run in load_grid(tmp_path / name).runs]
    monkeypatch.delenv("ASDBENCH_DATA_DIR")
    assert {run.spec.dataset["root"] for run in load_grid(LEADERBOARD / name).runs} <= {
        f"/data/dcase{year}" for year in range(2020, 2027)}


PUBLISHED = {"table1.toml": 7 * 4, "table2.toml": 3 * 4, "table3-dcase2023.toml": 6 * (7 + 1) * 2,
             "table3-dcase2024.toml": 6 * (7 + 1), "sota.toml": 3 * 4 + 1 + 2 * 2,
             "dcase-baseline-years.toml": 4 + 4 + 8}
"""The published figures each committed grid carries: every cell of the paper's Tables I-III (Table I's
three-resolution row against the row as published), and in sota.toml the four published systems' figures and two
reference rows (the challenge's baseline and top rank, eval only); dcase-baseline-years.toml those for 2021-2024
and ASDKit's autoencoder, all reference rows."""


@pytest.mark.parametrize(("name", "count"), PUBLISHED.items())
def test_committed_published_figures_name_cells_of_their_table_with_a_source(name, count, tmp_path):
    """load_grid refuses a figure naming a label its table lacks; here each figure's cell is also one the table
    draws (for a per-machine table, one of its year's machines or the aggregate), and has a source."""
    from asdbench.data.years import YEARS
    from asdbench.report.leaderboard import table_frame
    from asdbench.report.published import published_cells

    grid = load_grid(LEADERBOARD / name)
    figures = published_cells(grid)
    assert len(figures) == count and figures["source"].str.len().min() > 20
    assert figures["mean"].between(0.4, 1).all() and figures["std"].dropna().between(0, 0.15).all()
    reproduced = figures[~figures["reference"]]
    assert grid.table.rows == ["system"] and set(reproduced["row"]) <= set(grid.dimensions["system"])
    assert not set(figures[figures["reference"]]["row"]) & set(grid.dimensions["system"])
    if "machine" in grid.table.columns:
        machines = {m for run in grid.runs for split in run.spec.dataset["splits"]
                    for m in YEARS[int(run.spec.dataset["name"][-4:])].machines[split]}
        assert {column.split()[-1] for column in figures["column"]} <= machines | {"hmean"}
    else:  # no run has finished: the table has a cell for each run and split
        cells = table_frame(grid, tmp_path)
        assert set(zip(reproduced["row"], reproduced["column"])) <= set(zip(cells["row"], cells["column"]))
        assert set(figures["column"]) <= set(cells["column"])


def test_table2s_published_figures_are_the_papers():
    figures = {(f.coordinates["system"], f.coordinates["dataset"], f.coordinates["split"]): (f.mean, f.std, f.n)
               for f in load_grid(LEADERBOARD / "table2.toml").table.published}
    assert figures[("Subspace loss", "DCASE2023", "eval")] == (68.83, 0.94, 5)
    assert figures[("N/A", "DCASE2024", "dev")] == (61.95, 0.78, 5)
    assert figures[("FeatEx", "DCASE2024", "eval")] == (55.20, 0.63, 5)
