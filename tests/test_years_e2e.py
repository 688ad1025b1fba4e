"""`manifest`, `run`, `grid`, `leaderboard` and `pseudolabel` on the ci2025 and ci2026 presets, from the command line:
supplemental clips trained on when a spec asks for them, and each channel of two-channel audio. One cheap
system (one STFT branch, one epoch) keeps this to seconds."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from asdbench.cli.main import main
from asdbench.store.layout import trained_embeddings
from asdbench.synth.generate import PRESETS

LIGHT = """
seed = 1
[dataset]
name = "synth"
root = "{root}"
{options}
[system]
frontends = [{{name = "stft", n_fft = 1024}}]
networks = ["spectrogram-resnet"]
loss = "scac"
backend = {{name = "kmeans-target", clusters = 4}}
[train]
epochs = 1
checkpoints = [1]
batch_size = 16
clip_seconds = 2.5
"""


def light_spec(path, root, options=""):
    path.write_text(LIGHT.format(root=root, options=options))
    return path


def test_manifest_command_counts_supplemental_clips_by_what_they_hold(ci2025_dataset, ci2026_dataset, capsys):
    assert main(["manifest", "--dataset-root", str(ci2025_dataset), "--year", "2025", "--split", "eval",
                 "--ground-truth", str(ci2025_dataset / "ground_truth")]) == 0
    header, _, *lines = capsys.readouterr().out.splitlines()
    columns = re.split(r"\s{2,}", header.strip())
    rows = {values[0]: dict(zip(columns[1:], values[1:])) for values in map(str.split, lines)}
    assert rows["AutoTrash"]["supplemental unknown machine"] == rows["HomeCamera"]["supplemental unknown noise"] == "4"
    assert rows["AutoTrash"]["supplemental unknown noise"] == rows["HomeCamera"]["supplemental unknown machine"] == "0"
    assert rows["AutoTrash"]["train source normal"] == "10"
    assert main(["manifest", "--dataset-root", str(ci2026_dataset), "--year", "2026", "--split", "dev"]) == 0
    assert "ToyCarEmu" in capsys.readouterr().out


@pytest.mark.slow
def test_run_on_two_channel_audio_then_evaluate_its_score_files(ci2026_dataset, tmp_path, capsys):
    spec = light_spec(tmp_path / "run.toml", ci2026_dataset)
    assert main(["run", str(spec), "--out", str(tmp_path / "runs")]) == 0
    [results] = (tmp_path / "runs").glob("*/*/results.json")
    reports = json.loads(results.read_text())["splits"]
    assert set(reports) == {"dev", "eval"} and all(0 < report["official_score"] < 1 for report in reports.values())
    capsys.readouterr()
    assert main(["evaluate", str(results.parent / "scores" / "eval"), "--dataset-root", str(ci2026_dataset),
                 "--year", "2026", "--split", "eval", "--ground-truth", str(ci2026_dataset / "ground_truth")]) == 0


@pytest.mark.slow
def test_grid_trains_on_supplemental_clips_and_on_the_far_microphone(ci2025_dataset, ci2026_dataset, tmp_path,
                                                                     capsys):
    light_spec(tmp_path / "base.toml", ci2025_dataset)
    (tmp_path / "grid.toml").write_text(f"""
base = "base.toml"
[[variants.dataset]]
name = "2025 + supplemental"
"dataset.supplemental" = "train"
[[variants.dataset]]
name = "2026 far"
"dataset.root" = "{ci2026_dataset}"
"dataset.channel" = 1
[axes]
seed = [1]
[table]
rows = "dataset"
columns = ["split"]
value = "official_score"
""")
    assert main(["grid", str(tmp_path / "grid.toml"), "--out", str(tmp_path / "runs")]) == 0
    capsys.readouterr()
    assert main(["leaderboard", str(tmp_path / "grid.toml"), "--out", str(tmp_path / "runs"), "--format", "json"]) == 0
    cells = json.loads(capsys.readouterr().out)
    assert len(cells) == 4 and all(0 < cell["mean"] < 1 for cell in cells)
    trainings = {json.loads(p.read_text())["dataset"].get("supplemental"): p.parent
                 for p in (tmp_path / "runs").glob("*/training.json")}
    embeddings = trained_embeddings(trainings["train"], 1)
    extra = PRESETS["ci2025"].supplemental
    train = PRESETS["ci2025"].train_source + PRESETS["ci2025"].train_target
    assert len(embeddings["eval.AutoTrash.00.train"]) == train + extra  # clean supplemental clips
    assert len(embeddings["eval.HomeCamera.00.train"]) == train  # noise-only ones are not training clips
    assert np.isfinite(embeddings["eval.AutoTrash.00.train"]).all()


@pytest.mark.slow
@pytest.mark.parametrize(("dataset", "options"), [("ci2025", 'supplemental = "train"'), ("ci2026", "channel = 1")])
def test_pseudolabel_command(dataset, options, request, tmp_path, capsys):
    root = request.getfixturevalue(f"{dataset}_dataset")
    spec = light_spec(tmp_path / "pl.toml", root, options).read_text().replace(
        '[system]\n', '[system]\nlabels = "pseudo:triplet"\n')
    spec += ('[pseudolabel]\nfeature_space = {name = "triplet", epochs = 1, clip_seconds = 2.5}\nreducer = "none"\n'
             'clusterer = {name = "gmm-bic", selection = "in-sample"}\nmax_clusters_source = 3\n')
    (tmp_path / "pl.toml").write_text(spec)
    assert main(["pseudolabel", str(tmp_path / "pl.toml"), "--out", str(tmp_path / "runs")]) == 0
    assert "ari" in capsys.readouterr().out
    [table] = (tmp_path / "runs" / "pseudolabels").glob("*/labels.csv")
    labelled = table.read_text()
    hidden = json.loads((root / "synth.json").read_text())["hidden"]
    assert all(f"/{machine}/" in labelled for machine in hidden)
    assert ("/supplemental/" in labelled) == (dataset == "ci2025")  # the clean clips trained on are labelled too
