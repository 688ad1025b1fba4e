"""leaderboard/sota.toml (the state of the art next to the paper) and its CI-sized twin leaderboard/sota-synth.toml:
every system of it, BEATs + LoRA, EAT + LoRA and the training-free GenRep included, runs end to end through
`asdbench grid` and `asdbench leaderboard` on synthetic data with tiny models in the published layouts, and fills
every cell of the committed sota-synth.json. Its values are not compared: on 8 test clips per machine a thread
count moves a cell by 7 points, and the table says that its numbers mean nothing. So the test trains each system
for one epoch, not the grid's two."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from asdbench.cli.main import main
from asdbench.grid.expand import load_grid
from asdbench.synth.generate import generate

REPOSITORY = Path(__file__).resolve().parent.parent
LEADERBOARD = REPOSITORY / "leaderboard"


def _make_tiny_weights():
    spec = importlib.util.spec_from_file_location("make_tiny_weights", LEADERBOARD / "make_tiny_weights.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.write_tiny_weights


def test_sota_places_the_papers_system_beside_beats_eat_and_genrep():
    runs = load_grid(LEADERBOARD / "sota.toml").runs
    systems = {run.coordinates["system"]: run.spec for run in runs}
    assert len(runs) == 6 * 2 * 4
    networks = {name: [n["name"] for n in spec.system["networks"]] for name, spec in systems.items()}
    assert networks["BEATs + LoRA + SCAC (kNN + SMOTE)"] == ["beats"]
    assert networks["EAT + LoRA + SCAC (kNN + SMOTE)"] == ["eat"]
    genrep = systems["GenRep (training-free)"]
    assert genrep.train["epochs"] == 0 and genrep.system["networks"][0]["layer"] == 4
    beats = systems["BEATs + LoRA + SCAC (k-means)"]
    assert beats.train["warmup_steps"] == 5000 and beats.train["checkpoints"] == [25]
    # the two backends of one fine-tuned system share its training
    assert beats.training_hash == systems["BEATs + LoRA + SCAC (kNN + SMOTE)"].training_hash
    clips = {(run.coordinates["dataset"], run.coordinates["system"]): run.spec.train["clip_seconds"] for run in runs}
    assert clips[("DCASE2024", "BEATs + LoRA + SCAC (k-means)")] == 12.0
    assert clips[("DCASE2024", "Subspace loss (the paper)")] == 18.0


@pytest.mark.slow
def test_the_synthetic_sota_grid_runs_every_system_and_matches_its_committed_cells(tmp_path, monkeypatch, capsys):
    (tmp_path / "leaderboard").mkdir()
    grid = tmp_path / "leaderboard" / "sota-synth.toml"
    text = (LEADERBOARD / "sota-synth.toml").read_text()
    one_epoch = text.replace("epochs = 2\n", "epochs = 1\n").replace("checkpoints = [2]\n", "checkpoints = [1]\n")
    assert one_epoch.count("epochs = 1\n") == one_epoch.count("checkpoints = [1]\n") == 1
    grid.write_text(one_epoch)  # every training one epoch long: its values are not compared
    generate(tmp_path / "leaderboard-data" / "tiny", "tiny", seed=0, progress=False)
    _make_tiny_weights()(tmp_path / "leaderboard-data" / "weights")
    monkeypatch.chdir(tmp_path)  # the networks' weights paths are relative to the working folder, as in `make`
    assert main(["grid", str(grid), "--out", "runs"]) == 0
    capsys.readouterr()
    assert main(["leaderboard", str(grid), "--out", "runs", "--json", "cells.json"]) == 0
    table = capsys.readouterr().out
    cells = {(c["row"], c["column"]): c["mean"] for c in json.loads(Path("cells.json").read_text())}
    committed = {(c["row"], c["column"]) for c in json.loads((LEADERBOARD / "sota-synth.json").read_text())}
    assert set(cells) == committed and len(cells) == 4 * 2
    assert all(0 <= value <= 1 for value in cells.values())
    assert "these numbers say that every system runs, not how good it is" in table
    for system in ("Subspace loss (the paper)", "BEATs + LoRA + SCAC (kNN + SMOTE)",
                   "EAT + LoRA + SCAC (kNN + SMOTE)", "GenRep (training-free)"):
        assert system in table
