"""asdbench on invented ground truth in the exact formats of the official evaluators' files (DCASE 2023/2024 Task 2).

The real files (tests/data/evaluators) may not be committed, so CI runs tests/test_real_ground_truth.py's checks
on tests/data/real_format instead: a few made-up rows per machine, written as the evaluators write theirs, with
every quirk of theirs (see its README.md). Three layouts are built from it: the 2023 and 2024 eval splits (test
clips under their short names) and the 2024 dev split of the released hidden attributes.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from tests.helpers.realdata import (
    Layout,
    check_evaluate,
    check_labelled_eval_test_hidden,
    check_manifest,
    dev_layout,
    eval_layout,
    manifest_of,
    read_csv,
    tail_of,
)

FIXTURES = Path(__file__).parent / "data" / "real_format"
HIDDEN = {  # the machines whose names on disk are noAttribute and whose real attributes are released
    "dcase2023-eval": set(),
    "dcase2024-eval": {"AirCompressor", "ToothBrush"},
    "dcase2024-dev": {"gearbox", "slider"},
}


@pytest.fixture(scope="module")
def layouts(tmp_path_factory) -> dict[str, Layout]:
    truth_2024 = FIXTURES / "dcase2024"
    return {
        "dcase2023-eval": eval_layout(FIXTURES / "dcase2023", 2023, tmp_path_factory.mktemp("dcase2023-eval")),
        "dcase2024-eval": eval_layout(truth_2024, 2024, tmp_path_factory.mktemp("dcase2024-eval")),
        "dcase2024-dev": dev_layout(truth_2024 / "ground_truth_attributes_all", 2024,
                                    tmp_path_factory.mktemp("dcase2024-dev")),
    }


@pytest.mark.parametrize("case", list(HIDDEN))
def test_manifest_reads_every_name_label_domain_and_attribute(layouts, case):
    check_manifest(layouts[case], HIDDEN[case])


@pytest.mark.parametrize("case", list(HIDDEN))
def test_evaluate_command_equals_the_official_score(layouts, case, tmp_path, capsys):
    check_evaluate(layouts[case], tmp_path, capsys)


def test_released_hidden_attributes_of_labelled_eval_test_clips(layouts, tmp_path):
    check_labelled_eval_test_hidden(layouts["dcase2024-eval"], tmp_path)


# One row per quirk, spelt out: (layout, machine, file) -> label, domain, attribute string, attributes, hidden.
QUIRK_ROWS = {
    # 2023: labelled ids repeat across the four classes; the short name's id is not the labelled name's
    ("dcase2023-eval", "ToyDrone", "section_00_0011.wav"):
        ("anomaly", "target", "car_F8_spd_4_mic_4", {"car": "F8", "spd": "4", "mic": "4"}, {}),
    # short names from 0001; the attributes only in the third column (CRLF lines, full name with .wav)
    ("dcase2024-eval", "AirCompressor", "section_00_0001.wav"):
        ("normal", "source", "noAttribute", {}, {"fl": "5", "nos": "7"}),
    ("dcase2024-eval", "ToothBrush", "section_00_0000.wav"):
        ("normal", "target", "noAttribute", {}, {"id": "E4", "spd": "8", "mic": "3"}),
    # the id on disk is not the full name's: full 0003 is 0000 on disk
    ("dcase2024-eval", "ToothBrush", "section_00_source_train_normal_0000_noAttribute.wav"):
        ("normal", "source", "noAttribute", {}, {"id": "D5", "spd": "9", "mic": "3"}),
    # labelled name without "_test_"; key and value fused
    ("dcase2024-eval", "RoboticArm", "section_00_0001.wav"):
        ("anomaly", "target", "weight65_BckgJ", {"weight65": "BckgJ"}, {}),
    # attributes in the labelled test names, noAttribute train clips with released (fused) attributes
    ("dcase2024-eval", "BrushlessMotor", "section_00_0003.wav"):
        ("anomaly", "target", "spd4500_BckgN", {"spd4500": "BckgN"}, {}),
    ("dcase2024-eval", "BrushlessMotor", "section_00_target_train_normal_0003_noAttribute.wav"):
        ("normal", "target", "noAttribute", {}, {"spd4700": "BckgM"}),
    # a trailing "_": an odd number of parts, the last empty, read by position
    ("dcase2024-dev", "slider", "section_00_source_test_anomaly_0002_noAttribute.wav"):
        ("anomaly", "source", "noAttribute", {}, {"a0": "ac", "a1": "0.19", "a2": ""}),
    ("dcase2024-dev", "slider", "section_00_source_test_normal_0002_noAttribute.wav"):
        ("normal", "source", "noAttribute", {}, {"ac": "0.17"}),
    # a fifth part after the key/value pairs, read by position
    ("dcase2024-dev", "gearbox", "section_00_target_test_anomaly_0002_noAttribute.wav"):
        ("anomaly", "target", "noAttribute", {}, {"a0": "pro", "a1": "C", "a2": "wt", "a3": "260", "a4": "damage8"}),
}


@pytest.fixture(scope="module")
def manifest(layouts):
    """case -> its manifest indexed by (machine, file), each read once and only when asked for."""
    read = {}

    def of(case: str) -> pd.DataFrame:
        if case not in read:
            read[case] = manifest_of(layouts[case]).set_index(["machine", "file"])
        return read[case]
    return of


@pytest.mark.parametrize(("case", "machine", "file"), list(QUIRK_ROWS))
def test_quirk_rows_are_read_as_spelt_out(manifest, case, machine, file):
    row = manifest(case).loc[(machine, file)]
    assert (row["label"], row["domain"], row["attribute_string"], row["attributes"], row["hidden_attributes"]) == \
        QUIRK_ROWS[case, machine, file]


def line_ends(path: Path) -> set[bytes]:
    return {line[len(line.rstrip(b"\r\n")):] for line in path.read_bytes().splitlines(keepends=True)}


def test_the_fixtures_keep_the_quirks_of_the_real_files():
    """Guards the fixture itself against a clean-up or an end-of-line conversion: the real files' formats."""
    hidden = FIXTURES / "dcase2024" / "ground_truth_attributes_all"
    attribute_files = sorted(FIXTURES.glob("dcase*/ground_truth_attributes/*.csv"))
    three_columns = {p for p in attribute_files if len(read_csv(p)[0]) == 3}
    assert {p.name for p in three_columns} == \
        {f"ground_truth_{machine}_section_00_test.csv" for machine in HIDDEN["dcase2024-eval"]}
    for path in sorted(FIXTURES.glob("dcase*/ground_truth_*/*.csv")):
        # no header, no blank line; CRLF in the 3-column files only
        assert line_ends(path) == ({b"\r\n"} if path in three_columns else {b"\n"}), path
        assert all(re.fullmatch(r"section_00_\d{4}\.wav", row[0]) for row in read_csv(path)), path
    for path in sorted(hidden.rglob("*.csv")):
        header, *rows = read_csv(path)
        assert line_ends(path) == {b"\r\n"} and header == ["source_file_name", "target_file_name"], path
        assert [row[0] for row in rows] == sorted(row[0] for row in rows), path  # sorted by full name
    # short names from 0001 for AirCompressor, from 0000 for the others
    firsts = {p.name.split("_")[2]: read_csv(p)[0][0] for p in FIXTURES.glob("dcase*/ground_truth_data/*.csv")}
    assert {machine for machine, first in firsts.items() if first == "section_00_0001.wav"} == {"AirCompressor"}
    # labelled names without .wav, "_test_" left out by RoboticArm alone; full names with .wav and "_test_"
    for path in attribute_files:
        for row in read_csv(path):
            assert not row[1].endswith(".wav") and ("_test_" in row[1]) == ("RoboticArm" not in path.name), row
            assert len(row) == 2 or (row[2].endswith(".wav") and "_test_" in row[2]), row
    # key and value fused in two-part tails; no test correspondence for BrushlessMotor
    for machine in ("BrushlessMotor", "RoboticArm"):
        path = FIXTURES / "dcase2024" / "ground_truth_attributes" / f"ground_truth_{machine}_section_00_test.csv"
        assert all(re.fullmatch(r"[a-z]+\d+_Bckg[A-Z]", tail_of(row[1])) for row in read_csv(path))
    assert {p.name for p in (hidden / "eval_data" / "BrushlessMotor").iterdir()} == \
        {"attributes_00_train_correspondence.csv"}

    def full_tails(machine: str) -> list[str]:
        return [tail_of(row[0]) for row in read_csv(hidden / "dev_data" / machine /
                                                     "attributes_00_test_correspondence.csv")[1:]]

    # dev: a trailing "_" on some tails, an odd fifth part on others
    assert {tail.endswith("_") for tail in full_tails("slider")} == {True, False}
    assert {len(tail.split("_")) for tail in full_tails("gearbox")} == {4, 5}
    # a train clip whose id on disk is not its full name's
    rows = read_csv(hidden / "eval_data" / "ToothBrush" / "attributes_00_train_correspondence.csv")[1:]
    assert any(full.split("_")[5] != on_disk.split("_")[5] for full, on_disk in rows)
