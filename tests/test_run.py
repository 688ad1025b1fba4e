"""`asdbench run` end to end on the tiny preset: every output in place at both levels, finished runs never
recomputed."""

from __future__ import annotations

import json

import pytest

from asdbench.cli.main import main
from asdbench.contract.registry import get_registry
from asdbench.data.manifest import build_manifest
from asdbench.scoring.scorefiles import evaluate_directory
from asdbench.spec.validate import validate_spec
from asdbench.store.store import Store

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
    store = Store(tmp_path_factory.mktemp("runs"))
    return spec, store, store.run(spec, get_registry(), progress=False)


@pytest.mark.slow
def test_training_and_run_directories_hold_every_output(finished_run):
    spec, store, results = finished_run
    training, run_dir = store.training_directory(spec), store.directory(spec)
    assert (training.name, run_dir.parent, run_dir.name) == (spec.training_hash, training, spec.scoring_hash)
    assert json.loads((run_dir / "spec.json").read_text()) == spec.canonical
    training_spec = json.loads((training / "training.json").read_text())
    assert "backend" not in training_spec["system"] and "checkpoints" not in training_spec["train"]
    provenance = json.loads((training / "provenance.json").read_text())
    assert provenance["distributions"]["asdbench-methods"] == "0.1.0" and provenance["device"] == "cpu"
    assert provenance["checkouts"]["asdbench"]["commit"] and provenance["started"] <= provenance["finished"]
    assert sorted(p.name for p in (training / "checkpoints").iterdir()) == ["epoch_001.pt", "epoch_002.pt"], \
        "no last.pt beside the kept epochs"
    assert [e["epoch"] for e in json.loads((training / "history.json").read_text())["epochs"]] == [1, 2]
    assert sorted(p.name for p in (training / "embeddings").iterdir()) == ["epoch_001.npz", "epoch_002.npz"]
    assert json.loads((training / "trained.json").read_text()) == {"training": spec.training_hash,
                                                                   "num_classes": results["num_classes"],
                                                                   "classes": results["classes"]}
    assert len(results["classes"]) == results["num_classes"], "the class names, in index order"
    assert (results["training"], results["scoring"]) == (spec.training_hash, spec.scoring_hash)
    for split in ("dev", "eval"):
        names = sorted(p.name for p in (run_dir / "scores" / split).iterdir())
        assert len(names) == 4 and all(n.startswith(("anomaly_score_", "decision_result_")) for n in names)
        assert results["score_files"][split] == names
        assert 0 < results["splits"][split]["official_score"] <= 1


@pytest.mark.slow
def test_stored_metrics_equal_a_fresh_evaluation_of_the_score_files(finished_run, tiny_dataset):
    spec, store, results = finished_run
    manifest = build_manifest(tiny_dataset, 2024, "eval", ground_truth=tiny_dataset / "ground_truth")
    report = evaluate_directory(store.directory(spec) / "scores" / "eval", manifest[manifest["subset"] == "test"])
    assert report.to_dict() == results["splits"]["eval"]


@pytest.mark.slow
def test_finished_run_is_read_back_not_recomputed(finished_run):
    spec, store, results = finished_run
    training = store.training_directory(spec)
    stamps = {p: p.stat().st_mtime_ns for p in training.rglob("*") if p.is_file()}
    assert store.run(spec, get_registry(), progress=False) == results
    assert {p: p.stat().st_mtime_ns for p in training.rglob("*") if p.is_file()} == stamps


@pytest.mark.slow
def test_run_command_prints_tables_and_leaderboard(finished_run, tmp_path, capsys):
    spec, store, _ = finished_run
    spec_file = write_tiny_spec(tmp_path / "tiny.toml", spec.dataset["root"])
    assert main(["run", str(spec_file), "--out", str(store.root)]) == 0
    out = capsys.readouterr().out
    assert "## synth eval" in out and "## Official score (%)" in out and f"tiny: run {spec.hash}" in out
    assert f"score files: {store.directory(spec) / 'scores'}/{{dev,eval}}" in out
    assert "run store:" in out and "audio cache:" in out


@pytest.mark.slow
def test_run_shows_a_baseline_beside_it_and_plots_both(finished_run, tiny_dataset, tmp_path, capsys):
    """What `make demo` ends with: the baseline's stored results next to the run's, per split and per machine."""
    spec, store, results = finished_run
    spec_file = write_tiny_spec(tmp_path / "main.toml", spec.dataset["root"])
    assert main(["run", str(spec_file), "--out", str(store.root), "--baseline", str(tmp_path / "nothing")]) == 2
    assert "nothing/results.json: no results here" in capsys.readouterr().err

    assert main(["baseline", str(tiny_dataset), "--out", str(tmp_path / "baseline")]) == 0
    baseline = json.loads((tmp_path / "baseline" / "results.json").read_text())
    capsys.readouterr()
    plot = tmp_path / "plots" / "demo.png"
    assert main(["run", str(spec_file), "--out", str(store.root), "--baseline", str(tmp_path / "baseline"),
                 "--plot", str(plot)]) == 0
    out = capsys.readouterr().out
    official = table_rows(out[out.index("## Official score (%)"):out.index("## hmean per machine")])
    assert official == [[name] + [f"{100 * scores[split]['official_score']:.2f}" for split in ("dev", "eval")]
                        for name, scores in (("baseline", baseline["splits"]), ("main", results["splits"]))]
    machines = table_rows(out[out.index("## hmean per machine"):out.index("files written")])
    hmean = {m["machine"]: f"{100 * m['hmean']:.2f}" for m in results["splits"]["eval"]["machines"]}
    assert [row for row in machines if row[0] == "eval"] == [
        ["eval", machine, f"{100 * m['hmean']:.2f}", hmean[machine]]
        for m in baseline["splits"]["eval"]["machines"] for machine in [m["machine"]]]
    assert f"plot:        {plot}" in out and plot.stat().st_size > 10_000


@pytest.mark.slow
def test_a_baseline_given_as_a_run_spec_is_computed_in_the_store_and_shown_beside(finished_run, tmp_path, capsys):
    """`make demo` shows the organisers' baseline (a run spec) beside the paper's system and the training-free floor:
    a spec given to --baseline is run (here: read back, being the finished run under another file name) first."""
    spec, store, results = finished_run
    spec_file = write_tiny_spec(tmp_path / "main.toml", spec.dataset["root"])
    beside = write_tiny_spec(tmp_path / "reference.toml", spec.dataset["root"])
    broken = tmp_path / "broken.toml"
    broken.write_text(beside.read_text().replace("[train]", "[train]\nepochz = 3"))
    assert main(["run", str(spec_file), "--out", str(store.root), "--baseline", str(broken)]) == 2
    assert str(broken) in capsys.readouterr().err
    assert main(["run", str(spec_file), "--out", str(store.root), "--baseline", str(beside)]) == 0
    out = capsys.readouterr().out
    official = table_rows(out[out.index("## Official score (%)"):out.index("## hmean per machine")])
    assert [row[0] for row in official] == ["reference", "main"] and official[0][1:] == official[1][1:]
    assert f"reference: run {spec.hash}" in out


def table_rows(text):
    """The body cells of the markdown table in ``text``."""
    lines = [line for line in text.splitlines() if line.startswith("|")][2:]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]


def write_tiny_spec(path, root):
    """``tiny_spec`` as a TOML file, for the command line."""
    path.write_text(f"""
        seed = 1
        [dataset]
        name = "synth"
        root = "{root}"
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
    return path


def test_decision_threshold_is_the_gamma_90th_percentile():
    import numpy as np
    import scipy.stats

    from asdbench.scoring.ensemble import decision_threshold

    scores = scipy.stats.gamma.rvs(2.0, scale=0.1, size=4000, random_state=0)
    assert decision_threshold(scores, 0.9) == pytest.approx(scipy.stats.gamma.ppf(0.9, 2.0, scale=0.1), rel=0.05)
    assert decision_threshold(scores, 0.5) == pytest.approx(scipy.stats.gamma.ppf(0.5, 2.0, scale=0.1), rel=0.05)
    assert decision_threshold(np.full(5, 0.3), 0.9) == 0.3
