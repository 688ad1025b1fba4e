"""The DCASE 2020-2022 evaluators' ground truth read into test manifests, laid out on disk, and `asdbench evaluate`
run on it.

The ground truth is read here by this module's own parser (the formats: docs/metrics.md, tests/golden/evaluators/
make_earlier_inputs.py), not by asdbench's dataset readers: a manifest's test rows are built from it as the data
side's contract says they are (2020: the machine ID as section, every clip of the source domain; 2021: the domain
of the file; 2022: that of ``ground_truth_domain``). On the real ground truth, :func:`write_eval_layout` lays the
eval split out as distributed and `asdbench evaluate` reads it with the year's dataset reader
(:func:`evaluate_on_disk`); on the committed inputs of invented machines, which no year's reader would take, it
reads the manifest built here in place of one read from a dataset folder (:func:`evaluate_json`).
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from asdbench.cli import data as data_commands
from asdbench.cli.main import main
from asdbench.data.layout import write_wav
from asdbench.data.years import YEARS

LAYOUTS = {2020: "id", 2021: "section-domain", 2022: "section"}
"""The submission files of each earlier year (asdbench.data.years.SCORE_FILES)."""
SCRIPTS = {2020: "evaluator.py", 2021: "dcase2021_task2_evaluator.py", 2022: "dcase2022_task2_evaluator.py"}
"""Each earlier evaluator's script, in its repository."""


def read_csv(path: Path) -> list[list[str]]:
    with open(path, newline="") as handle:  # the csv module reads CRLF line ends (a real 2021 file has them)
        return [row for row in csv.reader(handle) if row]


def test_row(machine: str, section: str, domain: str, anomaly: str, file: str) -> dict[str, str]:
    return {"machine": machine, "section": section, "domain": domain, "label": "anomaly" if anomaly == "1" else "normal",
            "file": file, "subset": "test", "split": "eval", "path": f"/eval_data/{machine}/test/{file}"}


def truth_2020(folder: Path) -> pd.DataFrame:
    """``eval_data_list.csv``: a line with a machine type, then ``<eval name>,<labelled name>,<label>`` rows."""
    rows, machine = [], None
    for line in read_csv(folder / "eval_data_list.csv"):
        if len(line) == 1:
            machine = line[0]
            continue
        rows.append(test_row(machine, re.match(r"id_(\d\d)_", line[0])[1], "source", line[2], line[0]))
    return pd.DataFrame(rows)


def truth_2021(folder: Path) -> pd.DataFrame:
    """``ground_truth_data/ground_truth_<machine>_section_<nn>_<domain>_test.csv``: ``<name>,<label>`` rows."""
    rows = []
    for path in sorted((folder / "ground_truth_data").glob("ground_truth_*_test.csv")):
        machine, section, domain = re.fullmatch(r"ground_truth_(.+)_section_(\d\d)_(source|target)_test\.csv",
                                                path.name).groups()
        rows += [test_row(machine, section, domain, label, name) for name, label in read_csv(path)]
    return pd.DataFrame(rows)


def truth_2022(folder: Path) -> pd.DataFrame:
    """``ground_truth_{data,domain}/ground_truth_<machine>_section_<nn>_test.csv``: labels, and domains (1 =
    target)."""
    rows = []
    for path in sorted((folder / "ground_truth_data").glob("ground_truth_*_test.csv")):
        machine, section = re.fullmatch(r"ground_truth_(.+)_section_(\d\d)_test\.csv", path.name).groups()
        domains = dict(read_csv(folder / "ground_truth_domain" / path.name))
        rows += [test_row(machine, section, "target" if domains[name] == "1" else "source", label, name)
                 for name, label in read_csv(path)]
    return pd.DataFrame(rows)


TRUTH = {2020: truth_2020, 2021: truth_2021, 2022: truth_2022}


def evaluate_json(scores: Path, test: pd.DataFrame, year: int, monkeypatch, capsys, *, table: bool = False):
    """`asdbench evaluate [--json]` of a folder of submission files, the manifest's test rows being ``test``: the
    report as JSON (or, with ``table``, the printed table)."""
    assert (YEARS[year].metric, YEARS[year].score_files) == (f"dcase{year}", LAYOUTS[year])
    monkeypatch.setattr(data_commands, "read_manifest", lambda args: test)
    return _evaluate(["--dataset-root", str(scores)], scores, year, capsys, table=table)


def evaluate_on_disk(scores: Path, root: Path, year: int, ground_truth: Path, capsys):
    """`asdbench evaluate --json` of a folder of submission files, the split read from ``root`` by the year's
    dataset reader with the evaluator's ``ground_truth``."""
    return _evaluate(["--dataset-root", str(root), "--ground-truth", str(ground_truth)], scores, year, capsys)


def _evaluate(data: list[str], scores: Path, year: int, capsys, *, table: bool = False):
    capsys.readouterr()
    assert main(["evaluate", str(scores), *data, "--year", str(year), "--split", "eval",
                 *([] if table else ["--json"])]) == 0
    out = capsys.readouterr().out
    return out if table else json.loads(out)


def write_eval_layout(root: Path, test: pd.DataFrame, year: int) -> Path:
    """The eval split of ``test``'s clips as the year distributes it, under ``root``: every test clip (0.1 s of
    silence) under its name in its machine's test folder (2021: the folder of its domain), and one training clip per
    machine section, as the year names them."""
    write_wav(root / "placeholder.wav", np.zeros(1600))
    audio = (root / "placeholder.wav").read_bytes()
    for (machine, section, domain), rows in test.groupby(["machine", "section", "domain"]):
        machine_dir = root / "eval_data" / "raw" / machine
        training = (f"normal_id_{section}_00000000.wav" if year == 2020
                    else f"section_{section}_{domain}_train_normal_0000_a_1.wav")
        for folder, names in ((f"{domain}_test" if year == 2021 else "test", rows["file"]), ("train", [training])):
            (machine_dir / folder).mkdir(parents=True, exist_ok=True)
            for name in names:
                (machine_dir / folder / name).write_bytes(audio)
    return root


def write_system(folder: Path, test: pd.DataFrame, year: int, seed: int) -> None:
    """Scores with ties (two decimals; anomalies a little higher on average) and decisions for every test clip, in
    ``year``'s submission files, named and split here by this module (2020: per machine ID, no decisions; 2021: per
    section and domain; 2022: per section), rows shuffled."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    test = test.sample(frac=1.0, random_state=seed)
    scores = np.round(rng.random(len(test)) + 0.3 * test["label"].eq("anomaly").to_numpy() * rng.random(len(test)), 2)
    test = test.assign(score=scores, decision=(scores > np.quantile(scores, 0.6)).astype(int))
    keys = ["machine", "section", "domain"] if year == 2021 else ["machine", "section"]
    for key, rows in test.groupby(keys):
        stem = {2020: "{}_id_{}", 2021: "{}_section_{}_{}_test", 2022: "{}_section_{}_test"}[year].format(*key)
        for kind, column in (("anomaly_score", "score"), ("decision_result", "decision"))[: 1 if year == 2020 else 2]:
            with open(folder / f"{kind}_{stem}.csv", "w", newline="") as handle:
                csv.writer(handle).writerows(zip(rows["file"], rows[column].tolist()))
