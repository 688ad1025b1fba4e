"""The DCASE autoencoder baseline's grids on every year's synthetic layout, end to end: one training per layout,
scored by both of its backends, tabled (leaderboard/dcase-baseline-synth.toml and dcase-baseline-synth2020.toml)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from asdbench.cli.main import main
from asdbench.grid.expand import load_grid
from asdbench.synth.generate import generate

LEADERBOARD = Path(__file__).resolve().parent.parent / "leaderboard"
SYSTEMS = ("DCASE baseline (MSE)", "DCASE baseline (selective Mahalanobis)")


def test_the_baseline_grids_share_one_training_per_layout_and_cite_the_baselines_settings():
    runs = load_grid(LEADERBOARD / "dcase-baseline-synth.toml").runs
    assert {run.coordinates["data"] for run in runs} == {"ci", "ci2021", "ci2022", "ci2025", "ci2026"}
    assert {run.coordinates["system"] for run in runs} == set(SYSTEMS)
    assert len({run.spec.training_hash for run in runs}) == 5 and len(runs) == 10
    assert all(run.spec.train["machinewise"] for run in runs), "the baseline trains a model per machine type"
    base = (LEADERBOARD / "dcase-baseline.toml").read_text()
    for setting in ("--epochs: 100", "--batch_size: 256", "-lr: 0.001", "--seed: 13711", "--decision_threshold: 0.9",
                    "--validation_split: 0.1"):
        assert setting in base


@pytest.mark.slow
def test_the_baseline_runs_on_every_years_synthetic_layout(tmp_path, monkeypatch, capsys, tiny_dataset,
                                                          ci2021_dataset, ci2022_dataset, ci2025_dataset,
                                                          ci2026_dataset):
    data = tmp_path / "leaderboard-data"
    for preset, made in (("ci", tiny_dataset), ("ci2021", ci2021_dataset), ("ci2022", ci2022_dataset),
                         ("ci2025", ci2025_dataset), ("ci2026", ci2026_dataset)):
        shutil.copytree(made, data / preset, symlinks=True)  # `tiny` stands for `ci` (2024 style): cheaper
    generate(data / "ci2020", "ci2020", seed=0, progress=False)
    (tmp_path / "leaderboard").mkdir()
    for name in ("dcase-baseline.toml", "dcase-baseline-synth.toml", "dcase-baseline-synth2020.toml"):
        shutil.copy(LEADERBOARD / name, tmp_path / "leaderboard" / name)
    monkeypatch.chdir(tmp_path)
    cells = {}
    for grid, columns in (("dcase-baseline-synth.toml", 5 * 2), ("dcase-baseline-synth2020.toml", 2)):
        assert main(["grid", f"leaderboard/{grid}", "--out", "runs"]) == 0
        assert main(["leaderboard", f"leaderboard/{grid}", "--out", "runs", "--json", f"{grid}.json"]) == 0
        made = {(c["row"], c["column"]): c["mean"] for c in json.loads(Path(f"{grid}.json").read_text())}
        assert len(made) == len(SYSTEMS) * columns and {row for row, _ in made} == set(SYSTEMS)
        cells.update(made)
    assert all(value is not None and 0 <= value <= 1 for value in cells.values())
    capsys.readouterr()
