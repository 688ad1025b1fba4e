"""The DCASE 2021/2022 MobileNetV2 baseline's grids: the base cites baseline.yaml, the years' grid sets each year's
padding and both formulas over one training per year, and the synthetic grid runs end to end on ci2021 and ci2022
(leaderboard/dcase-baseline-mobilenet*.toml)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from asdbench.cli.main import main
from asdbench.grid.expand import load_grid

LEADERBOARD = Path(__file__).resolve().parent.parent / "leaderboard"
ROWS = ("MobileNetV2 baseline (2021 score)", "MobileNetV2 baseline (2022 score)")


def test_the_years_grid_trains_once_per_year_with_its_padding_and_scores_both_formulas():
    runs = load_grid(LEADERBOARD / "dcase-baseline-mobilenet-years.toml").runs
    assert len(runs) == 4 and len({run.spec.training_hash for run in runs}) == 2
    for run in runs:
        (frontend,) = run.spec.system["frontends"]
        year = run.spec.dataset["name"]
        assert frontend.get("pad_mode", "constant") == {"dcase2021": "reflect", "dcase2022": "constant"}[year]
        assert (frontend["frames"], frontend["train_frame_hop"], frontend["frame_hop"]) == (64, 8, 1)
        assert run.spec.system["labels"] == "section" and run.spec.train["machinewise"] == "split"
        formula = run.spec.system["backend"]["formula"]
        assert run.coordinates["score"] == f"MobileNetV2 baseline ({formula} score)"
    base = (LEADERBOARD / "dcase-baseline-mobilenet.toml").read_text()
    for setting in ("`epochs: 20`", "`batch_size: 32`", "`lr: 0.00001`", "`decision_threshold: 0.9`",
                    "validation_split: 0.1", "n_hop_frames 8", "epsilon is 1e-7"):
        assert setting in base


@pytest.mark.slow
def test_the_baseline_runs_on_its_years_synthetic_layouts(tmp_path, monkeypatch, capsys, ci2021_dataset,
                                                          ci2022_dataset):
    for preset, made in (("ci2021", ci2021_dataset), ("ci2022", ci2022_dataset)):
        shutil.copytree(made, tmp_path / "leaderboard-data" / preset, symlinks=True)
    (tmp_path / "leaderboard").mkdir()
    for name in ("dcase-baseline-mobilenet.toml", "dcase-baseline-mobilenet-synth.toml"):
        shutil.copy(LEADERBOARD / name, tmp_path / "leaderboard" / name)
    monkeypatch.chdir(tmp_path)
    grid = "leaderboard/dcase-baseline-mobilenet-synth.toml"
    assert main(["grid", grid, "--out", "runs"]) == 0
    assert main(["leaderboard", grid, "--out", "runs", "--json", "cells.json"]) == 0
    cells = {(c["row"], c["column"]): c["mean"] for c in json.loads(Path("cells.json").read_text())}
    assert {row for row, _ in cells} == set(ROWS) and len(cells) == len(ROWS) * 2 * 2
    assert all(value is not None and 0 <= value <= 1 for value in cells.values())
    trainings = [p for p in Path("runs").iterdir() if (p / "trained.json").exists()]
    assert len(trainings) == 2, "both formulas score one training per year"
    for training in trainings:
        classes = json.loads((training / "trained.json").read_text())["classes"]
        assert all(name.startswith(("dev.", "eval.")) for name in classes), "a model per machine type and split"
        assert all(len(sections) == 3 for sections in classes.values()), "each classifies its machine's 3 sections"
    capsys.readouterr()
