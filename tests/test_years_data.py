"""DCASE 2025 and 2026 data: supplemental clips in their own role, two-channel files read at one channel, the
synthetic presets of both years, and bad input named in one line with the user's folders left as they were."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile

from asdbench.cli.main import main
from asdbench.contract.registry import get_registry
from asdbench.data import audio
from asdbench.data.audio import AudioCache, decode
from asdbench.data.manifest import build_manifest
from asdbench.errors import DataError, SpecError
from asdbench.spec.validate import validate_spec
from asdbench.synth.generate import PRESETS, render
from asdbench.synth.plans import plan_clips

SUPPLEMENTAL_NAME = r"section_00_(machine|noise)_\d{4}_\.wav"  # written here apart from asdbench.data.layout


def manifest_2025(root: Path, split: str = "eval", **options):
    return build_manifest(root, 2025, split, ground_truth=root / "ground_truth",
                          hidden_attributes=root / "hidden_attributes", **options)


def tree(root: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under ``root`` with its size and modification time: what "untouched" compares."""
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(root.rglob("*"))}


@pytest.fixture
def copy_2025(ci2025_dataset, tmp_path):
    shutil.copytree(ci2025_dataset, tmp_path / "data")
    return tmp_path / "data"


@pytest.fixture
def copy_2026(ci2026_dataset, tmp_path):
    shutil.copytree(ci2026_dataset, tmp_path / "data")
    return tmp_path / "data"


# --- 2025: supplemental clips ---------------------------------------------------------------------------------


@pytest.mark.parametrize("split", ["dev", "eval"])
def test_supplemental_clips_are_their_own_subset_with_what_they_hold(ci2025_dataset, split):
    info = json.loads((ci2025_dataset / "synth.json").read_text())
    manifest = manifest_2025(ci2025_dataset, split)
    supplemental = manifest[manifest["subset"] == "supplemental"]
    for machine in info["machines"][split]:
        rows = supplemental[supplemental["machine"] == machine]
        folder = ci2025_dataset / f"{split}_data/raw/{machine}/supplemental"
        assert sorted(rows["path"]) == sorted(str(p) for p in folder.iterdir())
        assert len(rows) == PRESETS["ci2025"].supplemental and rows["file"].str.fullmatch(SUPPLEMENTAL_NAME).all()
        assert set(rows["content"]) == {info["supplemental"][machine]}
        assert set(rows["domain"]) == set(rows["label"]) == {"unknown"}
    others = manifest[manifest["subset"] != "supplemental"]
    assert set(others["subset"]) == {"train", "test"} and set(others["content"]) == {"mixture"}
    assert not others["path"].str.contains("/supplemental/").any()
    hidden = others[others["machine"].isin(info["hidden"])]
    assert set(hidden["attribute_string"]) == {"noAttribute"} and hidden["hidden_attributes"].map(len).all()


def test_supplemental_train_adds_the_clean_clips_as_source_training_clips_only(ci2025_dataset):
    info = json.loads((ci2025_dataset / "synth.json").read_text())
    plain = manifest_2025(ci2025_dataset)
    used = manifest_2025(ci2025_dataset, supplemental="train")
    assert len(used) == len(plain) and (used["path"] == plain["path"]).all()
    changed = used[used["subset"] != plain["subset"]]
    clean = [m for m in info["machines"]["eval"] if info["supplemental"][m] == "machine"]
    assert set(changed["machine"]) == set(clean) and len(changed) == len(clean) * PRESETS["ci2025"].supplemental
    assert set(changed["content"]) == {"machine"} and set(changed["subset"]) == {"train"}
    assert set(changed["domain"]) == {"source"} and set(changed["label"]) == {"normal"}
    assert set(changed["attribute_string"]) == {"noAttribute"}
    noise = used[used["content"] == "noise"]
    assert len(noise) and set(noise["subset"]) == {"supplemental"}
    unchanged = used["subset"] == plain["subset"]
    assert used[unchanged].drop(columns=["attributes", "hidden_attributes"]).equals(
        plain[unchanged].drop(columns=["attributes", "hidden_attributes"]))


def rename_supplemental(folder: Path, name_of) -> list[str]:
    """Rename the clips of a supplemental/ folder, the i-th (from 0) to ``name_of(i)``; their new names."""
    names = [name_of(i) for i in range(len(list(folder.glob("*.wav"))))]
    for path, name in zip(sorted(folder.glob("*.wav")), names):
        path.rename(folder / name)
    return names


def test_both_real_supplemental_name_forms_are_read(copy_2025):
    """The dev form of the listing of Zenodo record 15097779 (``dev_bearing.zip``, which the baseline unzips in
    dev_data/raw: ``bearing/supplemental/section_00_machine_source_0000_noAttribute.wav``) and the eval form of
    the baseline's README (``section_00_machine_0001_.wav``, as the synthetic 2025 style writes it)."""
    dev_names = rename_supplemental(copy_2025 / "dev_data/raw/slider/supplemental",
                                    lambda i: f"section_00_machine_source_{i:04d}_noAttribute.wav")
    dev = manifest_2025(copy_2025, "dev")
    rows = dev[(dev["subset"] == "supplemental") & (dev["machine"] == "slider")]
    assert sorted(rows["file"]) == dev_names and set(rows["content"]) == {"machine"}
    assert set(rows["domain"]) == {"source"} and set(rows["attribute_string"]) == {"noAttribute"}
    assert set(rows["assumed"]) == {""}, "a real form: nothing taken on trust"
    evaluation = manifest_2025(copy_2025, "eval")
    rows = evaluation[(evaluation["subset"] == "supplemental") & (evaluation["machine"] == "AutoTrash")]
    assert rows["file"].str.fullmatch(r"section_00_machine_\d{4}_\.wav").all() and len(rows)
    assert set(rows["content"]) == {"machine"} and set(rows["assumed"]) == {""}
    trained = manifest_2025(copy_2025, "dev", supplemental="train")
    assert set(dev_names) <= set(trained.query("subset == 'train' and machine == 'slider'")["file"])


def test_a_supplemental_name_of_another_form_is_read_saying_what_was_assumed(copy_2025, tmp_path):
    rename_supplemental(copy_2025 / "dev_data/raw/slider/supplemental", lambda i: f"section_00_machine_take{i}.wav")
    out = tmp_path / "manifest.csv"
    assert main(["manifest", "--dataset-root", str(copy_2025), "--year", "2025", "--split", "dev",
                 "--csv", str(out)]) == 0
    manifest = pd.read_csv(out, keep_default_na=False)
    take = manifest[manifest["file"] == "section_00_machine_take1.wav"].iloc[0]
    assert (take["subset"], take["content"], take["domain"]) == ("supplemental", "machine", "unknown")
    assert take["assumed"] == ("name form not confirmed: read as clean machine sound from the word 'machine' after "
                               "the section; the rest of the name ('take1') is not interpreted")
    noise = manifest[manifest["content"] == "noise"]
    assert len(noise) and noise["assumed"].str.startswith("noise-only clip names are not confirmed").all()
    assert set(manifest.query("subset != 'supplemental'")["assumed"]) == {""}


def test_supplemental_train_without_clean_clips_names_the_folder(tiny_dataset):
    with pytest.raises(DataError, match=r"eval_data/raw: no machine has clean machine sound in a supplemental/"):
        build_manifest(tiny_dataset, 2024, "eval", supplemental="train")


def test_pseudolabelling_leaves_supplemental_clips_out(ci2025_dataset, tmp_path, monkeypatch):
    """The rows a feature space embeds for a machine are its train and test clips, never its supplemental ones."""
    from asdbench.store import pseudolabels as pseudolabel

    seen = []
    monkeypatch.setattr(pseudolabel, "label_unit", lambda space, reducer, clusterer, rows, config:
                        seen.append(rows) or (_ for _ in ()).throw(RuntimeError("stop")))
    spec = validate_spec({
        "dataset": {"name": "synth", "root": str(ci2025_dataset)},
        "system": {"labels": "pseudo:ground-truth", "frontends": ["spectrum"], "networks": ["spectrum-cnn"]},
        "pseudolabel": {"reducer": "none"},
    }, get_registry())
    manifests = {split: manifest_2025(ci2025_dataset, split) for split in ("dev", "eval")}
    with pytest.raises(RuntimeError, match="stop"):
        pseudolabel.compute(spec, get_registry(), tmp_path, manifests, systems=None, progress=False)
    assert set(seen[0]["subset"]) == {"train", "test"}


# --- 2026: two channels -------------------------------------------------------------------------------------


def test_two_channel_files_are_read_at_the_chosen_channel_each_decoded_once(ci2026_dataset, tmp_path, monkeypatch):
    calls = []
    real = audio._decode_int16
    monkeypatch.setattr(audio, "_decode_int16", lambda path, **layout: calls.append(layout) or real(path, **layout))
    cache = AudioCache(tmp_path / "cache")
    near_rows = build_manifest(ci2026_dataset, 2026, "dev")
    far_rows = build_manifest(ci2026_dataset, 2026, "dev", channel=1)
    assert set(near_rows["channels"]) == {2} and set(near_rows["channel"]) == {0} and set(far_rows["channel"]) == {1}
    rows = near_rows[near_rows["subset"] == "train"]
    near, far = cache.load_rows(rows, progress=False), cache.load_rows(far_rows.loc[rows.index], progress=False)
    again = AudioCache(tmp_path / "cache").load_rows(rows, progress=False)
    assert len(calls) == 2 * len(rows) and {c["channel"] for c in calls} == {0, 1}
    stereo, _ = soundfile.read(rows["path"].iloc[3], dtype="float32")
    np.testing.assert_array_equal(near.clip(3), stereo[:, 0])
    np.testing.assert_array_equal(far.clip(3), stereo[:, 1])
    np.testing.assert_array_equal(again.clip(3), stereo[:, 0])
    assert len(list((tmp_path / "cache").glob("*.npy"))) == 2 and not np.array_equal(near.clip(3), far.clip(3))


def test_a_damaged_two_channel_entry_is_rebuilt(ci2026_dataset, tmp_path):
    rows = build_manifest(ci2026_dataset, 2026, "eval", channel=1)
    rows = rows[rows["subset"] == "test"]
    first = AudioCache(tmp_path / "cache").load_rows(rows, progress=False)
    expected = first.clip(0).copy()
    [data] = (tmp_path / "cache").glob("*.npy")
    raw = bytearray(data.read_bytes())
    raw[-200:] = bytes(200)
    data.write_bytes(bytes(raw))
    audio._VERIFIED.clear()
    with pytest.warns(UserWarning, match="does not match its index or checksum"):
        rebuilt = AudioCache(tmp_path / "cache").load_rows(rows, progress=False)
    np.testing.assert_array_equal(rebuilt.clip(0), expected)


def test_presets_made_before_the_new_styles_describe_themselves_as_before(tiny_dataset, ci2026_dataset):
    """synth.json of a 2024-style preset has exactly the fields it always had: its data fingerprint, and so every
    run made on it, stays valid; the new fields appear where they apply."""
    assert set(json.loads((tiny_dataset / "synth.json").read_text())) == {
        "preset", "seed", "year", "machines", "families", "hidden", "clips", "seconds", "sample_rate",
        "generator_version"}
    info = json.loads((ci2026_dataset / "synth.json").read_text())
    assert info["channels"] == 2 and "supplemental" not in info


def test_the_near_channel_is_the_clip_a_mono_preset_writes():
    plan = next(p for p in plan_clips(PRESETS["ci2026"], seed=0) if p.label == "anomaly")
    stereo, mono = render(plan, 1.0, channels=2), render(plan, 1.0)
    assert stereo.shape == (16000, 2)
    np.testing.assert_array_equal(stereo[:, 0], mono)
    assert np.corrcoef(stereo[:, 0], stereo[:, 1])[0, 1] < 0.99  # the far microphone hears another mixture


def test_channel_both_is_refused_naming_the_frontends(ci2026_dataset):
    with pytest.raises(SpecError, match=r"dataset.channel: 'both' .*system.frontends: stft, spectrum; every frontend "
                                        r"takes mono waveforms"):
        validate_spec({"dataset": {"name": "dcase2026", "root": str(ci2026_dataset), "channel": "both"},
                       "system": {"frontends": [{"name": "stft", "n_fft": 256}, "spectrum"]}}, get_registry())


def test_a_mono_dataset_has_no_channel_1(tiny_dataset):
    with pytest.raises(DataError, match=r"channel 1: DCASE 2024 audio is mono, so channel is one of 0"):
        build_manifest(tiny_dataset, 2024, "dev", channel=1)


def test_synth_specs_made_before_the_new_options_keep_their_identity(ci2026_dataset):
    """Options at their defaults stay out of the canonical form (registration meta omit_defaults)."""
    def spec(**options):
        return validate_spec({"dataset": {"name": "synth", "root": str(ci2026_dataset), **options},
                              "system": {"frontends": ["spectrum"]}}, get_registry())

    plain = spec()
    assert "channel" not in plain.dataset and "supplemental" not in plain.dataset
    assert spec(channel=0, supplemental="none").hash == plain.hash
    assert spec(channel=1).dataset["channel"] == 1 and spec(channel=1).hash != plain.hash


# --- bad input: one line naming the file, nothing written in the data folders ------------------------------


def write_stereo_over(path: Path) -> None:
    samples, rate = soundfile.read(path, dtype="int16")
    soundfile.write(path, np.stack([samples, samples], axis=1), rate, subtype="PCM_16")


def write_mono_over(path: Path) -> None:
    samples, rate = soundfile.read(path, dtype="int16")
    soundfile.write(path, samples[:, 0], rate, subtype="PCM_16")


BAD_INPUT = {
    "two-channel file in 2025": (
        "copy_2025", 2025, "eval", lambda root: next(root.glob("eval_data/raw/HomeCamera/train/*.wav")),
        write_stereo_over, r"{file}: 2 channels; DCASE 2025 Task 2 audio is mono"),
    "two-channel supplemental clip": (
        "copy_2025", 2025, "dev", lambda root: next(root.glob("dev_data/raw/slider/supplemental/*.wav")),
        write_stereo_over, r"{file}: 2 channels; DCASE 2025 Task 2 audio is mono"),
    "mono file in 2026": (
        "copy_2026", 2026, "dev", lambda root: next(root.glob("dev_data/raw/ToyCarEmu/test/*.wav")),
        write_mono_over, r"{file}: mono; DCASE 2026 Task 2 audio is 2 channels"),
    "unexpected supplemental name": (
        "copy_2025", 2025, "eval", lambda root: root / "eval_data/raw/AutoTrash/supplemental/section_00_extra_0001_.wav",
        lambda path: shutil.copy(next(path.parent.glob("*.wav")), path),
        r"{file}: not a supplemental clip name; expected section_00_machine_<id>_.wav"),
    "labelled name in supplemental/": (
        "copy_2025", 2025, "dev",
        lambda root: root / "dev_data/raw/fan/supplemental/section_00_source_train_normal_0000_.wav",
        lambda path: shutil.copy(next(path.parent.glob("*.wav")), path), r"{file}: not a supplemental clip name"),
    "ground truth of a machine not on disk": (
        "copy_2026", 2026, "eval", lambda root: root / "ground_truth/ground_truth_data/ground_truth_Sander_section_00_test.csv",
        lambda path: shutil.copy(next(path.parent.glob("*.csv")), path),
        r"{file}: ground truth of machine 'Sander', which is not in .*eval_data/raw \(machines there: ToothBrush, "
        r"ToyDrone\)"),
}


@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_bad_input_is_one_line_naming_the_file_and_nothing_is_written(case, request, capsys):
    fixture, year, split, file_of, spoil, message = BAD_INPUT[case]
    root = request.getfixturevalue(fixture)
    bad = file_of(root)
    spoil(bad)
    before = tree(root)
    argv = ["manifest", "--dataset-root", str(root), "--year", str(year), "--split", split]
    assert main(argv + (["--ground-truth", str(root / "ground_truth")] if split == "eval" else [])) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("asdbench: error: ")
    assert re.search(message.format(file=re.escape(str(bad))), err), err
    assert tree(root) == before


def test_a_mono_file_where_two_channels_are_expected_is_named_when_decoded_too(copy_2026, tmp_path):
    path = next(copy_2026.glob("dev_data/raw/ToyCar/train/*.wav"))
    write_mono_over(path)
    with pytest.raises(DataError, match=f"{path}: mono; expected 2 channels"):
        AudioCache(tmp_path / "cache").load([path], channels=2, channel=0, progress=False)
    with pytest.raises(DataError, match=f"{path}: mono; expected 2 channels"):
        decode(path, channels=2, channel=1)
