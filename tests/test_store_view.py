"""The store as something one can look at: `asdbench ls`, `show` and `prune`, on a store made by a grid."""

from __future__ import annotations

import json
import shutil

import pytest

from asdbench.cli.main import main
from asdbench.contract.registry import get_registry
from asdbench.grid.expand import load_grid
from asdbench.report.words import component, scoring_words, training_words
from asdbench.store.listing import SET_ASIDE, entries, unreferenced
from tests.helpers.grids import backend_grid

ONE_BACKEND = '''
[[variants.backend]]
name = "knn k=1"
"system.backend" = {{name = "knn", k = 1}}
'''
TWO_BACKENDS = ONE_BACKEND + '''
[[variants.backend]]
name = "knn k=3"
"system.backend" = {{name = "knn", k = 3}}
'''


@pytest.fixture
def store(fake_system, tiny_dataset, tmp_path):
    """A store with one training scored two ways (backends.toml), a grid of its first scoring only (one.toml), and
    a damaged file set aside."""
    grid = backend_grid(tmp_path, tiny_dataset, variants=TWO_BACKENDS)
    one = backend_grid(tmp_path, tiny_dataset, variants=ONE_BACKEND, name="one.toml")
    out = tmp_path / "runs"
    assert main(["grid", str(grid), "--out", str(out)]) == 0
    training = load_grid(grid).runs[0].spec.training_hash
    (out / training / "damaged.json.damaged-20260101T000000-1").write_text("{")
    return out, grid, one


def test_words_name_the_options_that_differ_from_their_defaults():
    registry = get_registry()
    assert component({"name": "stft", "n_fft": 256, "f_min": 200.0, "f_max": 8000.0, "temporal_norm": False},
                     "frontends", registry) == "stft n_fft=256"
    assert component({"name": "unknown", "k": 1.5}, "backends", registry) == "unknown k=1.5"
    training = {"seed": 3, "dataset": {"name": "synth", "root": "/data/tiny", "splits": ["dev", "eval"]},
                "system": {"frontends": [{"name": "spectrum"}], "networks": [{"name": "spectrum-cnn",
                                                                               "embedding_dim": 64}],
                           "loss": {"name": "scac", "subclusters": 16, "trainable_centres": False},
                           "labels": "attributes"},
                "train": {"epochs": 16, "batch_size": 64, "lr": 1e-4, "clip_seconds": 18.0, "stacked": True}}
    assert training_words(training, registry) == ("synth tiny (dev, eval), seed 3: spectrum -> spectrum-cnn "
                                                  "embedding_dim=64; scac; attributes labels; 16 epochs, lr 0.0001, "
                                                  "clips 18 s, stacked"), "the defaults (batch 64) go unsaid"
    assert scoring_words({"system": {"backend": {"name": "knn", "k": 3}, "decision_quantile": 0.9},
                          "train": {"checkpoints": [12, 14, 16]}}, registry) == \
        "knn k=3, ensemble of epochs 12 14 16"
    assert scoring_words({"system": {"backend": {"name": "knn", "k": 1}, "decision_quantile": 0.5},
                          "train": {"checkpoints": [4]}}, registry) == "knn, checkpoint 4, decision quantile 0.5"


@pytest.mark.slow
def test_ls_lists_trainings_scorings_and_what_is_set_aside(store, capsys, monkeypatch):
    out, grid, _ = store
    monkeypatch.setenv("COLUMNS", "160")
    assert main(["ls", str(out)]) == 0
    printed = capsys.readouterr().out
    spec = load_grid(grid).runs[0].spec
    lines = printed.splitlines()
    training = next(line for line in lines if line.startswith("training") and spec.training_hash in line)
    assert " done " in training and "synth data (dev, eval), seed 1: fake-magnitude -> fake-dense; fake-softmax" \
        in training and " s " in training or " min " in training
    scorings = [line for line in lines if line.startswith("scoring")]
    assert len(scorings) == 2 and any("knn k=3, ensemble of epochs 2 4" in line for line in scorings)
    assert any(line.startswith("set aside") for line in lines)
    assert lines[-1].startswith("1 trainings, 2 scorings, 0 pseudo-label tables, 1 set aside: ")
    assert max(map(len, lines)) <= 160


@pytest.mark.slow
def test_show_says_what_a_run_is_its_results_provenance_and_history(store, capsys):
    out, grid, _ = store
    spec = load_grid(grid).runs[1].spec
    assert main(["show", spec.scoring_hash[:6], "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(f"training {spec.training_hash}: done, ")
    assert f"scoring {spec.scoring_hash}: done" in printed and "knn k=3, ensemble of epochs 2 4" in printed
    results = json.loads((out / spec.training_hash / spec.scoring_hash / "results.json").read_text())
    assert f"  dev: official score {100 * results['splits']['dev']['official_score']:.2f}" in printed
    assert "training provenance:" in printed and "scoring provenance:" in printed and "  host: " in printed
    assert "checkouts: asdbench " in printed and "history (4 epochs," in printed
    assert main(["show", str(out / spec.training_hash)]) == 0
    assert "2 scorings:" in capsys.readouterr().out


@pytest.mark.slow
def test_prune_lists_then_removes_what_no_grid_refers_to(store, capsys):
    out, grid, one = store
    kept = load_grid(one).runs[0].spec
    other = next(run.spec for run in load_grid(grid).runs if run.spec.hash != kept.hash)
    before = {entry.path for entry in entries(out)}
    assert main(["prune", str(out), str(one)]) == 0
    printed = capsys.readouterr().out
    assert str(out / other.training_hash / other.scoring_hash) in printed and "dry run: nothing removed" in printed
    assert {entry.path for entry in entries(out)} == before
    assert main(["prune", str(out), str(one), "--yes"]) == 0
    assert not (out / other.training_hash / other.scoring_hash).exists()
    assert (out / kept.training_hash / kept.scoring_hash / "results.json").exists()
    assert not [p for p in out.rglob("*") if SET_ASIDE.search(p.name)]
    assert main(["prune", str(out), str(one), str(grid)]) == 0
    assert "nothing to remove" in capsys.readouterr().out


@pytest.mark.slow
def test_a_training_a_kept_pseudo_label_table_trained_is_kept(store):
    out, grid, _ = store
    spec = load_grid(grid).runs[0].spec
    table = out / "pseudolabels" / "0123456789abcdef"
    table.mkdir(parents=True)
    (table / "labels.csv").write_text("path,label\n")
    (table / "systems.json").write_text(json.dumps({"trainings": [spec.training_hash]}))
    dropped = {entry.path for entry in unreferenced(out, set(), set(), {table.name})}
    assert out / spec.training_hash not in dropped and table not in dropped
    dropped = {entry.path for entry in unreferenced(out, set(), set(), set())}
    assert {out / spec.training_hash, table} <= dropped
    shutil.rmtree(table)


def test_ls_of_a_missing_store_is_one_line(tmp_path, capsys):
    assert main(["ls", str(tmp_path / "nowhere")]) == 2
    assert capsys.readouterr().err.strip() == f"asdbench: error: {tmp_path / 'nowhere'}: no run store there (no such " \
                                              "folder)"


def test_show_of_an_unknown_hash_names_the_store(tmp_path, capsys):
    (tmp_path / "runs").mkdir()
    assert main(["show", "abc", "--out", str(tmp_path / "runs")]) == 2
    assert "abc: no such training or run folder, nor a hash of one in" in capsys.readouterr().err



def test_what_lies_in_a_dropped_training_goes_with_it_and_is_not_listed_again(tmp_path):
    training = tmp_path / "0123456789abcdef"
    (training / "checkpoints").mkdir(parents=True)
    aside = training / "checkpoints" / "epoch_002.pt.damaged-20260101T000000-1"
    aside.write_bytes(b"x")
    (training / "fedcba9876543210").mkdir()
    elsewhere = tmp_path / "1111111111111111.stale-20260101T000000-1"
    elsewhere.mkdir()
    assert {entry.path for entry in entries(tmp_path)} == {training, training / "fedcba9876543210", aside, elsewhere}
    assert {entry.path for entry in unreferenced(tmp_path, set(), set(), set())} == {training, elsewhere}
