"""Layouts built from evaluator-style ground truth, and the checks run on them.

Shared by tests/test_real_ground_truth.py (the official evaluators' real files, not committed: their licence
forbids redistribution) and tests/test_real_format.py (invented rows in the same formats, committed under
tests/data/real_format). The truth is read here by this module's own parser, not asdbench's; a layout of
placeholder clips (0.1 s of 16 kHz mono audio) is built from it; what asdbench reads and scores there is compared
with it, and the official score is recomputed independently with scikit-learn and SciPy.
"""

from __future__ import annotations

import csv
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.stats
from sklearn.metrics import roc_auc_score

from asdbench.cli.main import main
from asdbench.data.layout import NO_ATTRIBUTE, write_wav
from asdbench.data.manifest import build_manifest


@dataclass(frozen=True)
class TruthRow:
    """One test clip: for an eval clip as the evaluator's three CSVs give it, for a dev clip as named on disk."""

    short_name: str  # the name on disk
    anomaly: bool
    target: bool
    labelled_name: str  # with .wav; the name on disk for dev clips
    tail: str  # the attributes of the labelled name
    hidden_tail: str  # the attributes of the full name, "" where none is released


@dataclass(frozen=True)
class Layout:
    year: int
    split: str
    root: Path
    truth: dict[str, list[TruthRow]]  # machine -> test clips
    train: dict[str, dict[str, str]]  # machine -> train file name -> hidden tail ("" where none)
    ground_truth: Path | None  # the evaluator's ground-truth folder (eval only)
    hidden_dir: Path | None  # ground_truth_attributes_all, where there is one


def read_csv(path: Path) -> list[list[str]]:
    with open(path, newline="") as handle:
        return [row for row in csv.reader(handle) if row]


def fields(name: str) -> tuple[bool, bool, str]:
    """(target, anomaly, attribute tail) of a labelled name: what follows the fixed fields
    section_00_<domain>[_test|_train]_<label>_<id>_, with or without .wav."""
    tokens = name.removesuffix(".wav").split("_")
    assert tokens[:2] == ["section", "00"] and tokens[2] in ("source", "target"), name
    rest = tokens[3:]
    if rest[0] in ("train", "test"):  # the 2024 RoboticArm truth leaves "test" out
        rest = rest[1:]
    assert rest[0] in ("normal", "anomaly") and rest[1].isdigit() and len(rest) > 2, name
    return tokens[2] == "target", rest[0] == "anomaly", "_".join(rest[2:])


def tail_of(name: str) -> str:
    return fields(name)[2]


def unparsed(attributes: dict[str, str]) -> str:
    """The tail parsed attributes came from ("" for none): key_value pairs, or the values alone where a tail of an
    odd number of parts was read by position (a0, a1, ...), as asdbench.data.layout documents."""
    if list(attributes) == [f"a{i}" for i in range(len(attributes))]:
        return "_".join(attributes.values())
    return "_".join(f"{key}_{value}" for key, value in attributes.items())


def read_truth(directory: Path) -> dict[str, list[TruthRow]]:
    """machine -> its eval test clips, from ground_truth_{data,domain,attributes}/."""
    truth = {}
    for path in sorted((directory / "ground_truth_data").glob("ground_truth_*_section_00_test.csv")):
        machine = path.name.removeprefix("ground_truth_").removesuffix("_section_00_test.csv")
        labels = dict(read_csv(path))
        domains = dict(read_csv(directory / "ground_truth_domain" / path.name))
        names = {row[0]: row[1:] for row in read_csv(directory / "ground_truth_attributes" / path.name)}
        assert set(labels) == set(domains) == set(names), path.name
        truth[machine] = [
            TruthRow(short, labels[short] == "1", domains[short] == "1", f"{names[short][0]}.wav",
                     tail_of(names[short][0]), tail_of(names[short][1]) if len(names[short]) > 1 else "")
            for short in sorted(labels)
        ]
        for row in truth[machine]:  # the labelled name agrees with the label and domain files
            assert fields(row.labelled_name)[:2] == (row.target, row.anomaly), (machine, row)
    return truth


def correspondence(hidden_dir: Path | None, split: str, machine: str, subset: str) -> dict[str, str]:
    """File name on disk -> hidden tail, from a released correspondence file (empty where there is none)."""
    if hidden_dir is None:
        return {}
    path = hidden_dir / f"{split}_data" / machine / f"attributes_00_{subset}_correspondence.csv"
    if not path.exists():
        return {}
    header, *rows = read_csv(path)
    assert header == ["source_file_name", "target_file_name"]
    return {on_disk: tail_of(full) for full, on_disk in rows}


def train_clips(hidden_dir: Path | None, split: str, machine: str, rows: list[TruthRow],
                limit: int | None) -> dict[str, str]:
    """Train clips (at most ``limit`` of them where released): named as the released correspondence names them,
    else one per domain after the test clips' tails."""
    released = correspondence(hidden_dir, split, machine, "train")
    if released:
        return dict(list(released.items())[:limit])
    tails = {row.target: row.tail for row in rows}  # one tail per domain
    return {f"section_00_{'target' if target else 'source'}_train_normal_{index:04d}_{tail}.wav": ""
            for index, (target, tail) in enumerate(sorted(tails.items()))}


def placeholder(directory: Path) -> bytes:
    """0.1 s of 16 kHz mono noise as WAV bytes, written once and copied to every clip."""
    path = directory / "placeholder.wav"
    write_wav(path, np.random.default_rng(0).uniform(-0.1, 0.1, 1600))
    return path.read_bytes()


def write_clips(folder: Path, names, audio: bytes) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(audio)


def write_layout(root: Path, split: str, truth: dict[str, list[TruthRow]],
                 train: dict[str, dict[str, str]]) -> None:
    audio = placeholder(root)
    for machine, rows in truth.items():
        machine_dir = root / f"{split}_data" / "raw" / machine
        write_clips(machine_dir / "test", [row.short_name for row in rows], audio)
        write_clips(machine_dir / "train", train[machine], audio)


def eval_layout(truth_dir: Path, year: int, root: Path, *, train_limit: int | None = None) -> Layout:
    """Every eval test clip under its short name, and the train clips of :func:`train_clips`."""
    truth = read_truth(truth_dir)
    hidden_dir = truth_dir / "ground_truth_attributes_all"
    hidden_dir = hidden_dir if hidden_dir.is_dir() else None
    train = {machine: train_clips(hidden_dir, "eval", machine, rows, train_limit) for machine, rows in truth.items()}
    write_layout(root, "eval", truth, train)
    return Layout(year, "eval", root, truth, train, truth_dir, hidden_dir)


def dev_layout(hidden_dir: Path, year: int, root: Path) -> Layout:
    """The dev clips of the released correspondence files (labelled, noAttribute names), train and test."""
    truth, train = {}, {}
    for machine_dir in sorted(p for p in (hidden_dir / "dev_data").iterdir() if p.is_dir()):
        machine = machine_dir.name
        truth[machine] = []
        for name, hidden in sorted(correspondence(hidden_dir, "dev", machine, "test").items()):
            target, anomaly, tail = fields(name)
            truth[machine].append(TruthRow(name, anomaly, target, name, tail, hidden))
        train[machine] = correspondence(hidden_dir, "dev", machine, "train")
    write_layout(root, "dev", truth, train)
    return Layout(year, "dev", root, truth, train, None, hidden_dir)


def manifest_of(layout: Layout) -> pd.DataFrame:
    return build_manifest(layout.root, layout.year, layout.split, ground_truth=layout.ground_truth,
                          hidden_attributes=layout.hidden_dir)


def check_manifest(layout: Layout, hidden_machines: set[str]) -> None:
    """Every test clip's name, label, domain, attribute string, attributes and hidden attributes as the truth
    says, every train clip's attributes and hidden attributes as its name and correspondence say; exactly
    ``hidden_machines`` have hidden attributes, and their labelled names are noAttribute."""
    manifest = manifest_of(layout)
    test = manifest[manifest["subset"] == "test"]
    assert sorted(zip(test["machine"], test["file"], test["label"], test["domain"], test["attribute_string"])) == \
        sorted((machine, row.short_name, "anomaly" if row.anomaly else "normal", "target" if row.target else "source",
                row.tail) for machine, rows in layout.truth.items() for row in rows)
    rows = {(machine, row.short_name): row for machine, machine_rows in layout.truth.items() for row in machine_rows}
    for machine, name, attributes, hidden in zip(test["machine"], test["file"], test["attributes"],
                                                 test["hidden_attributes"]):
        row = rows[machine, name]
        # the parsed attributes lose nothing of the string ({} for noAttribute)
        assert (unparsed(attributes) or NO_ATTRIBUTE) == row.tail
        assert unparsed(hidden) == row.hidden_tail
    with_hidden = {machine for machine, rows in layout.truth.items() if any(row.hidden_tail for row in rows)}
    assert with_hidden == hidden_machines
    assert all(row.tail == NO_ATTRIBUTE for machine in with_hidden for row in layout.truth[machine])

    train = manifest[manifest["subset"] == "train"]
    assert sorted(zip(train["machine"], train["file"])) == \
        sorted((machine, name) for machine, names in layout.train.items() for name in names)
    for machine, name, tail, attributes, hidden in zip(train["machine"], train["file"], train["attribute_string"],
                                                       train["attributes"], train["hidden_attributes"]):
        assert tail == tail_of(name) == (unparsed(attributes) or NO_ATTRIBUTE)
        assert unparsed(hidden) == layout.train[machine][name]


def official_score(truth: dict[str, list[TruthRow]],
                   scores: dict[str, dict[str, float]]) -> tuple[dict[str, list[float]], float]:
    """The evaluators' definition: per machine AUC (source) and AUC (target), each domain's normal clips against
    all anomalous clips, and pAUC over all clips (max FPR 0.1); the score is the harmonic mean of all of them,
    each clamped below at machine epsilon."""
    per_machine = {}
    for machine, rows in truth.items():
        anomaly = np.array([row.anomaly for row in rows])
        target = np.array([row.target for row in rows])
        score = np.array([scores[machine][row.short_name] for row in rows])
        source_auc = roc_auc_score(anomaly[~target | anomaly], score[~target | anomaly])
        target_auc = roc_auc_score(anomaly[target | anomaly], score[target | anomaly])
        per_machine[machine] = [source_auc, target_auc, roc_auc_score(anomaly, score, max_fpr=0.1)]
    values = np.maximum(np.concatenate(list(per_machine.values())), sys.float_info.epsilon)
    return per_machine, float(scipy.stats.hmean(values))


def check_evaluate(layout: Layout, tmp_path: Path, capsys) -> None:
    """`asdbench evaluate --json` on random scores equals :func:`official_score` to 1e-9."""
    rng = np.random.default_rng(layout.year)
    scores_dir = tmp_path / "scores"
    scores_dir.mkdir()
    scores = {}
    for machine, rows in layout.truth.items():
        # two decimals make ties, as real quantised scores do; anomalies score a little higher on average
        scores[machine] = {row.short_name: round(float(rng.random() + 0.3 * row.anomaly * rng.random()), 2)
                           for row in rows}
        with open(scores_dir / f"anomaly_score_{machine}_section_00_test.csv", "w", newline="") as handle:
            writer = csv.writer(handle)
            for index, row in enumerate(rows):  # the evaluators also accept labelled names: use some
                writer.writerow([row.labelled_name if index % 3 == 0 else row.short_name,
                                 scores[machine][row.short_name]])
    truth_args = ["--ground-truth", str(layout.ground_truth)] if layout.ground_truth else []
    assert main(["evaluate", str(scores_dir), "--dataset-root", str(layout.root), "--year", str(layout.year),
                 "--split", layout.split, *truth_args, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    expected, official = official_score(layout.truth, scores)
    assert {m["machine"]: [m["auc_source"], m["auc_target"], m["pauc"]] for m in report["machines"]} == \
        {machine: pytest.approx(values, abs=1e-9) for machine, values in expected.items()}
    assert report["official_score"] == pytest.approx(official, abs=1e-9)


def check_labelled_eval_test_hidden(layout: Layout, tmp_path: Path) -> None:
    """Eval test clips named as the re-released data names them (labelled, noAttribute) get their hidden
    attributes from the correspondence files, the same as the short names get them from the ground truth.
    Skips where no eval test clip has a correspondence file."""
    machines = {m: correspondence(layout.hidden_dir, "eval", m, "test") for m in layout.truth}
    machines = {m: names for m, names in machines.items() if names}
    if not machines:
        pytest.skip(f"dcase{layout.year}: no hidden-attribute correspondence for eval test clips")
    audio = placeholder(tmp_path)
    for machine, names in machines.items():
        write_clips(tmp_path / "eval_data" / "raw" / machine / "test", names, audio)
        write_clips(tmp_path / "eval_data" / "raw" / machine / "train", layout.train[machine], audio)
    manifest = build_manifest(tmp_path, layout.year, "eval", hidden_attributes=layout.hidden_dir)
    test = manifest[manifest["subset"] == "test"]
    assert sorted(zip(test["machine"], test["file"])) == \
        sorted((machine, name) for machine, names in machines.items() for name in names)
    assert set(test["attribute_string"]) == {NO_ATTRIBUTE}
    read = {(m, n): unparsed(h) for m, n, h in zip(test["machine"], test["file"], test["hidden_attributes"])}
    assert read == {(machine, name): tail for machine, names in machines.items() for name, tail in names.items()}
    assert read == {(machine, row.labelled_name): row.hidden_tail
                    for machine in machines for row in layout.truth[machine]}
