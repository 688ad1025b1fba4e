"""Synthetic data: official layout, determinism, refusal to overwrite, and that it is a real stand-in."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import cross_val_score

from asdbench.cli import main
from asdbench.data.audio import AudioCache
from asdbench.data.dcase import build_manifest
from asdbench.data.synth import PRESETS, generate
from asdbench.errors import DataError


def digest(root):
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(root)).encode() + path.read_bytes())
    return h.hexdigest()


def test_same_seed_same_bytes_other_seed_other_bytes(tiny_dataset, tmp_path):
    generate(tmp_path / "again", "tiny", seed=0, progress=False)
    generate(tmp_path / "other", "tiny", seed=1, progress=False)
    assert digest(tmp_path / "again") == digest(tiny_dataset)
    assert digest(tmp_path / "other") != digest(tiny_dataset)


def test_layout_reads_back_with_the_preset_sizes(tiny_dataset):
    info = json.loads((tiny_dataset / "synth.json").read_text())
    preset = PRESETS["tiny"]
    assert info["year"] == 2024 and info["hidden"]
    for split in ("dev", "eval"):
        manifest = build_manifest(tiny_dataset, 2024, split, ground_truth=tiny_dataset / "ground_truth",
                                  hidden_attributes=tiny_dataset / "hidden_attributes")
        per_machine = manifest.groupby(["machine", "subset", "domain"]).size()
        for machine in manifest["machine"].unique():
            assert per_machine[(machine, "train", "source")] == preset.train_source
            assert per_machine[(machine, "train", "target")] == preset.train_target
            assert per_machine[(machine, "test")].sum() == preset.test
        hidden = manifest[manifest["machine"].isin(info["hidden"])]
        assert set(hidden["attribute_string"]) == {"noAttribute"}
        assert all(hidden["hidden_attributes"].map(len) > 0)


@pytest.mark.parametrize("name", list(PRESETS))
def test_presets_keep_a_few_target_clips_and_balanced_tests(name):
    preset = PRESETS[name]
    assert 2 <= preset.train_target <= preset.train_source / 5
    assert preset.test % 4 == 0
    if name.startswith("dcase"):
        assert (preset.seconds, preset.machines_per_split, preset.train_source + preset.train_target,
                preset.test) == (10.0, 7, 1000, 200)


def test_refuses_to_write_over_other_data(tiny_dataset, tmp_path):
    assert generate(tiny_dataset, "tiny", seed=0, progress=False).clips == 80  # finished: left as it is
    with pytest.raises(DataError, match="another synthetic dataset"):
        generate(tiny_dataset, "tiny", seed=5, progress=False)
    (tmp_path / "mine.txt").write_text("keep me")
    with pytest.raises(DataError, match="not empty"):
        generate(tmp_path, "tiny", seed=0, progress=False)
    assert (tmp_path / "mine.txt").read_text() == "keep me"


def test_synth_command(tmp_path, capsys):
    assert main(["synth", str(tmp_path / "d"), "--preset", "tiny", "--seed", "3"]) == 0
    assert "tiny" in capsys.readouterr().out and (tmp_path / "d" / "synth.json").exists()
    assert main(["synth", str(tmp_path / "e"), "--preset", "huge"]) == 2


@pytest.fixture(scope="module")
def ci_dev(tmp_path_factory):
    """The dev split of the `ci` preset, with log-spectra of every clip (generated once, ~15 s)."""
    root = tmp_path_factory.mktemp("ci") / "data"
    generate(root, "ci", seed=0, progress=False)
    manifest = build_manifest(root, 2024, "dev", hidden_attributes=root / "hidden_attributes")
    clips = AudioCache().load(list(manifest["path"]), progress=False)
    waveforms = clips.batch(range(len(clips)), int(clips.lengths.max()))
    spectra = np.abs(np.fft.rfft(waveforms, axis=1)) ** 2
    bands = np.log(spectra[:, : spectra.shape[1] // 128 * 128].reshape(len(spectra), 128, -1).mean(2) + 1e-12)
    frames = waveforms[:, : waveforms.shape[1] // 160 * 160].reshape(len(waveforms), -1, 160)
    envelope = np.sqrt((frames**2).mean(-1))
    envelope /= envelope.mean(1, keepdims=True)
    modulation = np.log(np.abs(np.fft.rfft(envelope - 1, axis=1))[:, 1:30] + 1e-6)
    rms = np.sqrt((waveforms**2).mean(1))
    return manifest.assign(rms=rms), bands, modulation


def test_level_alone_does_not_reveal_anomalies(ci_dev):
    manifest = ci_dev[0]
    test = manifest[manifest["subset"] == "test"]
    assert 0.4 <= roc_auc_score(test["label"] == "anomaly", test["rms"]) <= 0.6


@pytest.mark.filterwarnings("ignore:The least populated class")
def test_every_attribute_changes_the_sound(ci_dev):
    """Each attribute is learnable from the spectrum (speed, load, resonance) or the envelope (rate, modulation)."""
    manifest, bands, modulation = ci_dev
    for machine, rows in manifest[manifest["subset"] == "train"].groupby("machine"):
        truth = rows["attributes"].where(rows["attributes"].map(len) > 0, rows["hidden_attributes"])
        for key in truth.iloc[0]:
            target = truth.map(lambda attributes: attributes[key])
            accuracy = max(
                cross_val_score(LogisticRegression(max_iter=2000), features[rows.index], target, cv=3).mean()
                for features in (bands, modulation)
            )
            chance = target.value_counts(normalize=True).max()
            assert accuracy > chance + 0.15, (machine, key, accuracy, chance)


def test_anomalies_are_detectable_from_the_spectrum(ci_dev):
    manifest, bands, _ = ci_dev
    aucs = []
    for _, rows in manifest.groupby("machine"):
        train = bands[rows.index[rows["subset"] == "train"]]
        test_rows = rows[rows["subset"] == "test"]
        test = bands[test_rows.index]
        distance = ((test[:, None] - train[None]) ** 2).sum(-1).min(1)
        aucs.append(roc_auc_score(test_rows["label"] == "anomaly", distance))
    assert np.mean(aucs) > 0.55, aucs
