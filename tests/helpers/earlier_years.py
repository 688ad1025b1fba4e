"""The DCASE 2020-2022 evaluators' ground truth read into test manifests, and `asdbench evaluate` run on them.

The ground truth is read here by this module's own parser (the formats: docs/metrics.md, tests/golden/evaluators/
make_earlier_inputs.py), not by asdbench's dataset readers: a manifest's test rows are built from it as the data
side's contract says they are (2020: the machine ID as section, every clip of the source domain; 2021: the domain
of the file; 2022: that of ``ground_truth_domain``). `asdbench evaluate` reads that manifest in place of one read
from a dataset folder, with the year's row of the year facts (a stand-in row where the year facts have none yet,
naming the year's report and submission files).
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
from asdbench.data.years import YEARS, Year

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


def year_row(year: int) -> Year:
    """The year facts' row of ``year``, or a stand-in naming only its report and submission files."""
    if year in YEARS:
        return YEARS[year]
    return Year(year, {"dev": (), "eval": ()}, {"dev": (), "eval": ()}, channels=1, longest_clip_seconds=11.0,
                supplemental=False, ground_truth="evaluator-2023", metric=f"dcase{year}", score_files=LAYOUTS[year],
                options=())


def evaluate_json(scores: Path, test: pd.DataFrame, year: int, monkeypatch, capsys, *, table: bool = False):
    """`asdbench evaluate [--json]` of a folder of submission files, the manifest's test rows being ``test``: the
    report as JSON (or, with ``table``, the printed table)."""
    row = year_row(year)
    assert (row.metric, row.score_files) == (f"dcase{year}", LAYOUTS[year])
    monkeypatch.setitem(YEARS, year, row)
    monkeypatch.setattr(data_commands, "read_manifest", lambda args: test)
    capsys.readouterr()
    assert main(["evaluate", str(scores), "--dataset-root", str(scores), "--year", str(year), "--split", "eval",
                 *([] if table else ["--json"])]) == 0
    out = capsys.readouterr().out
    return out if table else json.loads(out)


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
