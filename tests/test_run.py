"""`asdbench run` end to end on the tiny preset: every output in place, finished runs never recomputed."""

from __future__ import annotations

import json

import pytest

from asdbench.cli import main
from asdbench.data.dcase import build_manifest
from asdbench.plugins import get_registry
from asdbench.run import execute, run_directory
from asdbench.scorefiles import evaluate_directory
from asdbench.spec import validate_spec

MAIN_SYSTEM = {
    "labels": "attributes",
    "frontends": [{"name": "spectrum"}, {"name": "stft", "n_fft": 256}, {"name": "stft", "n_fft": 4096}],
    "networks": ["spectrum-cnn", "spectrogram-resnet", "spectrogram-resnet"],
    "loss": "scac",
    "aux": "subspace",
    "augmentations": ["mixup"],
    "backend": {"name": "kmeans-target", "clusters": 4},
}


def tiny_spec(root, **system):
    return validate_spec({
        "seed": 1,
        "dataset": {"name": "synth", "root": str(root)},
        "system": {**MAIN_SYSTEM, **system},
        "train": {"epochs": 2, "checkpoints": [1, 2], "batch_size": 16, "clip_seconds": 4.5},
    }, get_registry())


@pytest.fixture(scope="module")
def finished_run(tiny_dataset, tmp_path_factory):
    spec = tiny_spec(tiny_dataset)
    run_dir = run_directory(tmp_path_factory.mktemp("runs"), spec)
    return spec, execute(spec, run_dir, get_registry(), progress=False)


def test_run_directory_holds_every_output(finished_run):
    spec, result = finished_run
    run_dir = result.run_dir
    assert run_dir.name == spec.hash
    assert json.loads((run_dir / "spec.json").read_text()) == spec.canonical
    provenance = json.loads((run_dir / "provenance.json").read_text())
    assert provenance["distributions"]["asdbench-methods"] == "0.1.0" and provenance["device"] == "cpu"
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == ["epoch_001.pt", "epoch_002.pt", "last.pt"]
    assert sorted(p.name for p in (run_dir / "embeddings").iterdir()) == ["epoch_001.npz", "epoch_002.npz"]
    for split in ("dev", "eval"):
        names = sorted(p.name for p in (run_dir / "scores" / split).iterdir())
        assert len(names) == 4 and all(n.startswith(("anomaly_score_", "decision_result_")) for n in names)
        assert 0 < result.results["splits"][split]["official_score"] <= 1


def test_stored_metrics_equal_a_fresh_evaluation_of_the_score_files(finished_run, tiny_dataset):
    _, result = finished_run
    manifest = build_manifest(tiny_dataset, 2024, "eval", ground_truth=tiny_dataset / "ground_truth")
    report = evaluate_directory(result.run_dir / "scores" / "eval", manifest[manifest["subset"] == "test"])
    assert report.to_dict() == result.results["splits"]["eval"]


def test_finished_run_is_read_back_not_recomputed(finished_run):
    spec, result = finished_run
    stamps = {p: p.stat().st_mtime_ns for p in result.run_dir.rglob("*") if p.is_file()}
    again = execute(spec, result.run_dir, get_registry(), progress=False)
    assert again.results == result.results
    assert {p: p.stat().st_mtime_ns for p in result.run_dir.rglob("*") if p.is_file()} == stamps


def test_run_command_prints_tables_and_leaderboard(finished_run, tmp_path, capsys):
    spec, result = finished_run
    spec_file = tmp_path / "tiny.toml"
    spec_file.write_text(f"""
        seed = 1
        [dataset]
        name = "synth"
        root = "{spec.dataset["root"]}"
        [system]
        labels = "attributes"
        frontends = [{{name = "spectrum"}}, {{name = "stft", n_fft = 256}}, {{name = "stft", n_fft = 4096}}]
        networks = ["spectrum-cnn", "spectrogram-resnet", "spectrogram-resnet"]
        loss = "scac"
        aux = "subspace"
        augmentations = ["mixup"]
        backend = {{name = "kmeans-target", clusters = 4}}
        [train]
        epochs = 2
        checkpoints = [1, 2]
        batch_size = 16
        clip_seconds = 4.5
    """.replace("\n        ", "\n"))
    assert main(["run", str(spec_file), "--out", str(result.run_dir.parent)]) == 0
    out = capsys.readouterr().out
    assert "## synth eval" in out and "Leaderboard" in out and spec.hash in out


def test_decision_threshold_is_the_gamma_90th_percentile():
    import numpy as np
    import scipy.stats

    from asdbench.embed import decision_threshold

    scores = scipy.stats.gamma.rvs(2.0, scale=0.1, size=4000, random_state=0)
    assert decision_threshold(scores) == pytest.approx(scipy.stats.gamma.ppf(0.9, 2.0, scale=0.1), rel=0.05)
    assert decision_threshold(np.full(5, 0.3)) == 0.3
