"""Reading the official layouts: file names, attribute tables, eval ground truth, audio checks, errors."""

from __future__ import annotations

import csv
import re
import shutil

import numpy as np
import pytest
import soundfile
from hypothesis import given
from hypothesis import strategies as st

from asdbench.cli.main import main
from asdbench.contract.registry import get_registry
from asdbench.data.audio import AudioCache, decode
from asdbench.data.layout import clip_file_name, eval_test_file_name, parse_file_name
from asdbench.data.manifest import COLUMNS, build_manifest, list_machines
from asdbench.data.years import YEARS
from asdbench.errors import DataError
from asdbench.synth.presets import STYLES
from tests.helpers.cli import cli_error
from tests.helpers.scores import write_all

token = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.", min_size=1,
                max_size=6).filter(lambda t: t not in (".",) and not t.endswith(".wav"))


@given(subset=st.sampled_from(["train", "test"]), domain=st.sampled_from(["source", "target"]),
       label=st.sampled_from(["normal", "anomaly"]), index=st.integers(0, 9999),
       attributes=st.dictionaries(token, token, min_size=1, max_size=3))
def test_labelled_names_round_trip(subset, domain, label, index, attributes):
    tail = "_".join(f"{k}_{v}" for k, v in attributes.items())
    parsed = parse_file_name(clip_file_name(subset, domain, label, index, tail, "00"))
    assert (parsed.subset, parsed.domain, parsed.label, parsed.index, parsed.section) == \
        (subset, domain, label, index, "00")
    assert parsed.attribute_string == tail
    assert parsed.attributes == attributes


@given(index=st.integers(0, 9999))
def test_eval_short_names_parse(index):
    parsed = parse_file_name(eval_test_file_name(index, "00"))
    assert (parsed.index, parsed.label, parsed.domain, parsed.attribute_string) == (index, "unknown", "unknown", "")


def test_no_attribute_names_parse_with_empty_attributes():
    parsed = parse_file_name("section_00_target_train_normal_0003_noAttribute.wav")
    assert parsed.attribute_string == "noAttribute" and parsed.attributes == {}


@pytest.mark.parametrize("name", [
    "section_00_source_train_normal_0000.wav", "section_00_src_train_normal_0000_a_1.wav",
    "section_0_0001.wav", "section_00_source_train_normal_0000_a_1.flac", "notes.wav",
])
def test_unparseable_names_are_errors_naming_the_file(name):
    with pytest.raises(DataError, match=name.replace(".", r"\.")):
        parse_file_name(name)


def snapshot(root):
    return sorted((str(p.relative_to(root)), p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*"))


def test_manifest_of_both_splits_and_the_tree_is_untouched(tiny_dataset):
    before = snapshot(tiny_dataset)
    dev = build_manifest(tiny_dataset, 2024, "dev")
    evaluation = build_manifest(tiny_dataset, 2024, "eval", ground_truth=tiny_dataset / "ground_truth",
                                hidden_attributes=tiny_dataset / "hidden_attributes")
    assert snapshot(tiny_dataset) == before
    assert list(dev.columns) == COLUMNS and list_machines(tiny_dataset, "dev") == sorted(dev["machine"].unique())
    assert len(dev) == len(evaluation) == 2 * (12 + 8)
    attributed = dev[dev["attribute_string"] != "noAttribute"]
    assert all(attributed["attributes"].map(len) > 0)
    assert set(evaluation["label"]) == {"normal", "anomaly"} and set(evaluation["domain"]) == {"source", "target"}
    hidden = evaluation[evaluation["attribute_string"] == "noAttribute"]
    assert len(hidden) and all(hidden["hidden_attributes"].map(len) > 0), "truth of hidden machines is joined"
    counts = evaluation[evaluation["subset"] == "test"].groupby(["machine", "domain", "label"]).size()
    assert set(counts) == {2}


def test_eval_without_ground_truth_is_unknown(tiny_dataset):
    test = build_manifest(tiny_dataset, 2024, "eval").query("subset == 'test'")
    assert set(test["label"]) == {"unknown"} and set(test["domain"]) == {"unknown"}


@pytest.fixture
def copy(tiny_dataset, tmp_path):
    target = tmp_path / "data"
    shutil.copytree(tiny_dataset, target)
    return target


def rewrite_attribute_tables(root, name_row, value):
    """Every attributes_00.csv under ``root``, its clip column passed through ``name_row``, each value through
    ``value``."""
    for table in root.rglob("attributes_00.csv"):
        with open(table, newline="") as handle:
            header, *rows = list(csv.reader(handle))
        rows = [[name_row(row[0])] + [value(v) if i % 2 else v for i, v in enumerate(row[1:])] for row in rows]
        with open(table, "w", newline="") as handle:
            csv.writer(handle, lineterminator="\n").writerows([header] + rows)


def bare_stem(entry):
    return entry.split("/")[-1].removesuffix(".wav")


@pytest.mark.parametrize("name_row", [lambda entry: entry, bare_stem], ids=["machine/subset/file.wav", "file stem"])
def test_missing_attributes_row_names_both_files(copy, name_row):
    rewrite_attribute_tables(copy, name_row, value=lambda v: v)
    table = copy / "dev_data/raw/fan/attributes_00.csv"
    lines = table.read_text().splitlines()
    table.write_text("\n".join([lines[0]] + lines[2:]) + "\n")
    missing = lines[1].split(",")[0].split("/")[-1]
    with pytest.raises(DataError, match=f"{missing}.*attributes_00.csv"):
        build_manifest(copy, 2024, "dev")


@pytest.mark.parametrize("name_row", [
    pytest.param(lambda entry: entry, id="machine/subset/file.wav"),
    pytest.param(lambda entry: f"dev_data/raw/{entry}", id="dev_data/raw/machine/subset/file.wav"),
    pytest.param(lambda entry: entry.split("/")[-1], id="file.wav"),
    pytest.param(bare_stem, id="file stem (2023 eval ToyDrone)"),
])
def test_attribute_rows_are_matched_by_file_name_whatever_their_prefix(copy, name_row):
    before = {split: build_manifest(copy, 2024, split) for split in ("dev", "eval")}
    rewrite_attribute_tables(copy, name_row, value=lambda v: f"{v}-csv" if v else v)
    # dev tables list train and test clips, eval tables train clips only (short test names use the truth)
    for split, subsets in (("dev", {"train", "test"}), ("eval", {"train"})):
        expected, after = before[split], build_manifest(copy, 2024, split)
        from_table = ~expected["attribute_string"].isin(["noAttribute", ""])
        assert set(expected.loc[from_table, "subset"]) == subsets
        assert after.loc[from_table, "attributes"].tolist() == \
            [{key: f"{value}-csv" for key, value in a.items()} for a in expected.loc[from_table, "attributes"]]
        assert after[~from_table].equals(expected[~from_table])
        assert after.drop(columns="attributes").equals(expected.drop(columns="attributes"))


def test_two_rows_for_one_clip_name_both_lines(copy):
    table = copy / "dev_data/raw/fan/attributes_00.csv"
    lines = table.read_text().splitlines()
    stem = bare_stem(lines[1].split(",")[0])
    table.write_text("\n".join(lines + [f"{stem},spd,1"]) + "\n")
    message = f"{table}: lines 2 and {len(lines) + 1} both give the attributes of {stem}.wav"
    with pytest.raises(DataError, match=re.escape(message) + "$"):
        build_manifest(copy, 2024, "dev")


def test_test_file_absent_from_ground_truth(copy):
    shutil.copy(next((copy / "eval_data/raw/ToyTank/test").glob("*.wav")),
                copy / "eval_data/raw/ToyTank/test/section_00_0999.wav")
    with pytest.raises(DataError, match="section_00_0999.wav: not in the ground truth"):
        build_manifest(copy, 2024, "eval", ground_truth=copy / "ground_truth")


def test_ground_truth_row_without_file(copy):
    next((copy / "eval_data/raw/ToyTank/test").glob("*.wav")).unlink()
    with pytest.raises(DataError, match="not found in"):
        build_manifest(copy, 2024, "eval", ground_truth=copy / "ground_truth")


@pytest.mark.parametrize(("rate", "channels", "message"), [(44100, 1, "44100 Hz"), (16000, 2, "2 channels")])
def test_wrong_audio_format_names_the_file(copy, rate, channels, message):
    path = next((copy / "dev_data/raw/fan/train").glob("*.wav"))
    soundfile.write(path, np.zeros((rate // 10, channels)), rate)
    with pytest.raises(DataError, match=f"{path.name}: .*{message}"):
        build_manifest(copy, 2024, "dev")


def test_unreadable_audio_names_the_file(copy):
    path = next((copy / "dev_data/raw/fan/test").glob("*.wav"))
    path.write_bytes(b"not audio at all")
    with pytest.raises(DataError, match=f"{path.name}: unreadable audio"):
        build_manifest(copy, 2024, "dev")


def test_missing_layout_says_what_was_expected(tmp_path):
    with pytest.raises(DataError, match=r"expected the official layout ROOT/dev_data/raw"):
        build_manifest(tmp_path, 2023, "dev")


def test_manifest_command(tiny_dataset, tmp_path, capsys):
    out = tmp_path / "manifest.csv"
    assert main(["manifest", "--dataset-root", str(tiny_dataset), "--year", "2024", "--split", "dev",
                 "--csv", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "fan" in printed and out.exists()
    assert "train source normal" in printed and "(" not in printed, "headers are words, not Python tuples"


def test_released_names_without_test_are_read_as_the_organisers_wrote_them(copy):
    """The 2024 evaluator's RoboticArm truth writes labelled names without `_test_`."""
    truth = copy / "ground_truth/ground_truth_attributes/ground_truth_ToyTank_section_00_test.csv"
    expected = build_manifest(copy, 2024, "eval", ground_truth=copy / "ground_truth")
    truth.write_text(truth.read_text().replace("_test_", "_"))
    again = build_manifest(copy, 2024, "eval", ground_truth=copy / "ground_truth")
    assert again["attribute_string"].tolist() == expected["attribute_string"].tolist()


def test_correspondence_file_without_its_header_is_an_error(copy):
    path = next((copy / "hidden_attributes").rglob("attributes_00_train_correspondence.csv"))
    path.write_text("\n".join(path.read_text().splitlines()[1:]) + "\n")
    with pytest.raises(DataError, match="source_file_name,target_file_name"):
        build_manifest(copy, 2024, path.parent.parent.name.removesuffix("_data"),
                       hidden_attributes=copy / "hidden_attributes")


# --- every clip named in a machine's folders is read or refused, naming it (issue 22, section 6) ------------


def first(folder):
    return sorted(folder.glob("*.wav"))[0]


def renamed(path, old, new):
    """``path`` renamed by replacing ``old`` with ``new`` in its name."""
    return path.rename(path.with_name(path.name.replace(old, new)))


def test_an_anomalous_clip_among_the_training_clips_is_named(copy):
    path = renamed(first(copy / "dev_data/raw/fan/train"), "_normal_", "_anomaly_")
    with pytest.raises(DataError, match=f"{re.escape(str(path))}: a clip labelled anomaly in the train/ folder"):
        build_manifest(copy, 2024, "dev")


@pytest.mark.parametrize("subset", ["train", "test"])
def test_a_clip_of_another_section_is_named(copy, subset):
    path = renamed(first(copy / f"dev_data/raw/fan/{subset}"), "section_00_", "section_01_")
    with pytest.raises(DataError, match=f"{re.escape(str(path))}: section 01; fan of the DCASE 2024 Task 2 dev data "
                                        "has section 00"):
        build_manifest(copy, 2024, "dev")


def test_a_wav_file_cut_short_is_named(copy, tmp_path):
    path = first(copy / "dev_data/raw/fan/test")
    data = path.read_bytes()
    path.write_bytes(data + b"LIST" + (4).to_bytes(4, "little") + b"INFO")  # a chunk after the audio: still whole
    assert len(build_manifest(copy, 2024, "dev")) and len(decode(path)) == 16000
    path.write_bytes(data[: len(data) // 2])
    message = f"{re.escape(str(path))}: truncated WAV file: its header gives 16000 samples, the file holds 7989"
    with pytest.raises(DataError, match=message):
        build_manifest(copy, 2024, "dev")
    with pytest.raises(DataError, match=message):  # also where no manifest checked it first
        AudioCache(tmp_path / "cache").load([path], progress=False)


@pytest.mark.parametrize("link", ["dangling", "loop"])
def test_a_broken_link_named_like_a_clip_is_named_not_left_out(copy, link, capsys):
    path = copy / "dev_data/raw/fan/train/section_00_source_train_normal_9999_a_1.wav"
    path.symlink_to(copy / "nowhere.wav" if link == "dangling" else path.name)
    expected = f"a symbolic link to {copy / 'nowhere.wav'}, which does not exist" if link == "dangling" \
        else "a symbolic link that leads back to itself (a loop)"
    line = cli_error(["manifest", "--dataset-root", str(copy), "--year", "2024", "--split", "dev"], capsys)
    assert f"{path}: named like a clip, but {expected}; expected a WAV file" in line


def test_a_broken_link_in_place_of_a_machine_folder_is_named(copy):
    link = copy / "dev_data/raw/valve"
    link.symlink_to(copy / "elsewhere/valve")
    with pytest.raises(DataError, match=f"{re.escape(str(link))}: in place of a machine folder, a symbolic link to "
                                        f"{re.escape(str(copy / 'elsewhere/valve'))}, which does not exist"):
        build_manifest(copy, 2024, "dev")


def test_a_machine_without_test_clips_is_named_before_any_work(copy, tmp_path, capsys):
    folder = copy / "dev_data/raw/fan/test"
    for path in folder.glob("*.wav"):
        path.unlink()
    line = cli_error(["baseline", str(copy), "--splits", "dev", "--out", str(tmp_path / "scores")], capsys)
    assert f"{folder}: no clips (*.wav); every machine needs test clips" in line
    assert not (tmp_path / "scores").exists()


def test_a_missing_hidden_attributes_folder_is_named(copy, capsys):
    missing = copy / "no-such-folder"
    line = cli_error(["manifest", "--dataset-root", str(copy), "--year", "2024", "--split", "dev",
                      "--hidden-attributes", str(missing)], capsys)
    assert f"hidden attributes {missing} not found: expected the folder of the released" in line
    with pytest.raises(DataError, match="is not a folder"):
        build_manifest(copy, 2024, "dev", hidden_attributes=copy / "synth.json")


def test_a_file_as_dataset_root_is_named_as_such(tiny_dataset):
    file = tiny_dataset / "synth.json"
    for name in ("synth", "dcase2024"):
        with pytest.raises(DataError, match=f"dataset.root: {re.escape(str(file))} is a file, not a folder"):
            get_registry().build("datasets", {"name": name, "root": str(file)})


# --- machines of another year: a warning naming them (asdbench.data.years) ------------------------------


@pytest.fixture
def official(copy):
    """The tiny dataset as if it were the organisers' (no synth.json): eval machines ToyTank (a DCASE 2023 eval
    machine) and HoveringDrone (2024)."""
    (copy / "synth.json").unlink()
    return copy


@pytest.mark.parametrize(("year", "machine", "years"), [(2024, "ToyTank", "2023"), (2023, "HoveringDrone", "2024")])
def test_machines_of_another_year_are_warned_about_naming_the_year(official, year, machine, years):
    with pytest.warns(UserWarning, match=f"{machine} is not a DCASE {year} Task 2 eval machine .*; they are DCASE "
                                         f"{years} eval machines: is the year right"):
        build_manifest(official, year, "eval")


def test_dataset_name_of_another_year_warns(official):
    dataset = get_registry().build("datasets", {"name": "dcase2023", "root": str(official)})
    with pytest.warns(UserWarning, match="HoveringDrone is not a DCASE 2023 Task 2 eval machine"):
        dataset.manifest("eval")


def test_evaluate_with_another_year_warns_in_one_line(official, tmp_path, capsys):
    with pytest.warns(UserWarning, match="ToyTank is not a DCASE 2024"):
        test = build_manifest(official, 2024, "eval", ground_truth=official / "ground_truth").query("subset == 'test'")
    write_all(tmp_path, test)
    assert main(["evaluate", str(tmp_path), "--dataset-root", str(official), "--year", "2023", "--split", "eval",
                 "--ground-truth", str(official / "ground_truth")]) == 0
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(f"asdbench: warning: {official / 'eval_data/raw'}: HoveringDrone is not a DCASE 2023")


def test_machines_of_no_year_are_warned_about_and_read(official):
    (official / "eval_data/raw/HoveringDrone").rename(official / "eval_data/raw/kettle")
    with pytest.warns(UserWarning, match="kettle, ToyTank are not DCASE 2024 Task 2 eval machines .*; read as "
                                         "DCASE 2024 data all the same"):
        assert "kettle" in set(build_manifest(official, 2024, "eval")["machine"])


def test_the_official_machine_names_of_the_synthetic_styles_are_the_known_lists():
    """The 2025 and 2026 styles use the organisers' machine names (asdbench.synth.presets): both lists agree."""
    for year in (2025, 2026):
        style = STYLES[year]
        for split, machines in (("dev", style.dev), ("eval", style.eval)):
            assert {name for name, _ in machines} == set(YEARS[year].machines[split]), (year, split)
