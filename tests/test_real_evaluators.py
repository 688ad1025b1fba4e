"""`asdbench evaluate` against the official evaluators themselves, where their repositories are checked out in
tests/data/evaluators/dcase<year>/ (or $ASDBENCH_EVALUATORS): nothing of theirs is committed (the 2023-2025
licence forbids it, the 2020 evaluator has no licence), so these tests skip without them (tests/data/evaluators/
README.md says how to fetch each).

- On the real eval ground truth, with scores and decisions drawn here for every clip, the evaluator's own script
  (run by tests/golden/evaluators/run_official.py, for 2020-2022 run_earlier.py, in this Python) and `asdbench
  evaluate` report the same figures (tests/helpers/evaluator_figures.py: 1e-12, the ci95 1e-9 relative). 2020's
  real ground truth is the organisers' eval_data_list.csv (Zenodo 3951620; the README says where a copy is), 2021's
  and 2022's are in their evaluators' repositories. Slow: the evaluator's jackknife calls scikit-learn twice per
  clip (3600 times for 2024, 8400 for 2022).
- The example results in each README (the baselines' official_score_paper.csv rows, whose score files are not
  published) are recomputed by asdbench from their own per-machine AUCs: h-mean, a-mean and TOTAL score. This is
  the only check of the 2025 evaluator that needs no score files.
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from asdbench.data.manifest import build_manifest
from asdbench.scoring.metrics import EvaluationReport, MachineScores, clamped_hmean, official_score
from asdbench.scoring.reports.dcase2022 import Dcase2022Report
from tests.helpers import earlier_years
from tests.helpers.evaluator_figures import (
    COLUMNS_2021,
    MEAN_ROWS,
    PAPER,
    TOLERANCE,
    assert_earlier_equal,
    assert_equal,
    evaluate_json,
)
from tests.helpers.realdata import eval_layout

EVALUATORS = Path(os.environ.get("ASDBENCH_EVALUATORS", Path(__file__).parent / "data" / "evaluators"))
RUNNER = Path(__file__).parent / "golden" / "evaluators" / "run_official.py"
EARLIER_RUNNER = RUNNER.with_name("run_earlier.py")
SECTION_COLUMNS_2022 = ("AUC (source)", "AUC (target)", "pAUC", "precision (source)", "precision (target)",
                 "recall (source)", "recall (target)", "F1 score (source)", "F1 score (target)", "AUC (all)")
"""A 2022 section row's columns, in the order of asdbench's MachineScores fields after hmean."""
EARLIER_TRUTH = {2020: ("eval_data_list.csv",), 2021: ("ground_truth_data",),
                 2022: ("ground_truth_data", "ground_truth_domain")}
"""The real eval ground truth each earlier evaluator reads, in its checkout (2020's copied in: not in its repository)."""
YEARS = [2023, 2024, 2025]


def checkout(year: int, *needed: str) -> Path:
    folder = EVALUATORS / f"dcase{year}"
    missing = [name for name in needed if not (folder / name).exists()]
    if missing:
        pytest.skip(f"{folder} has no {missing[0]} (see tests/data/evaluators/README.md)")
    return folder


def write_system(folder: Path, layout) -> None:
    """Scores with ties (two decimals) and decisions for every test clip; every third row by its labelled name."""
    rng = np.random.default_rng(layout.year)
    folder.mkdir(parents=True)
    for machine, rows in layout.truth.items():
        scores = np.round(rng.random(len(rows)) + 0.3 * np.array([row.anomaly for row in rows]), 2)
        decisions = (scores > np.quantile(scores, 0.6)).astype(int)
        names = [row.labelled_name if index % 3 == 0 else row.short_name for index, row in enumerate(rows)]
        for kind, values in (("anomaly_score", scores.tolist()), ("decision_result", decisions.tolist())):
            with open(folder / f"{kind}_{machine}_section_00_test.csv", "w", newline="") as handle:
                csv.writer(handle).writerows(zip(names, values))


@pytest.mark.slow
@pytest.mark.parametrize("year", YEARS)
def test_evaluate_equals_the_official_evaluator_on_the_real_ground_truth(year, tmp_path, capsys):
    folder = checkout(year, f"dcase{year}_task2_evaluator.py", "ground_truth_data")
    layout = eval_layout(folder, year, tmp_path / "data", train_limit=1)
    write_system(tmp_path / "systems" / "drawn", layout)
    report = evaluate_json(tmp_path / "systems" / "drawn", layout.root, year, folder, capsys)
    subprocess.run([sys.executable, str(RUNNER), str(folder), str(folder), str(tmp_path / "systems"),
                    str(tmp_path / "official.json")], check=True)
    assert_equal(report, json.loads((tmp_path / "official.json").read_text())["systems"]["drawn"])


@pytest.mark.slow
@pytest.mark.parametrize("year", [2020, 2021, 2022])
def test_evaluate_equals_the_earlier_official_evaluators_on_the_real_ground_truth(year, tmp_path, capsys):
    folder = checkout(year, earlier_years.SCRIPTS[year], *EARLIER_TRUTH[year])
    test = earlier_years.TRUTH[year](folder)
    assert len(test) == {2020: 7103, 2021: 8635, 2022: 4200}[year], "the real eval test set, every clip"
    root = earlier_years.write_eval_layout(tmp_path / "data", test, year)
    manifest = build_manifest(root, year, "eval", ground_truth=folder).query("subset == 'test'")
    assert sorted(map(tuple, manifest[list(test.columns)].drop(columns="path").to_numpy())) == \
        sorted(map(tuple, test.drop(columns="path").to_numpy())), "the year's reader reads the real ground truth"
    earlier_years.write_system(tmp_path / "systems" / "drawn", test, year, seed=year)
    report = earlier_years.evaluate_on_disk(tmp_path / "systems" / "drawn", root, year, folder, capsys)
    subprocess.run([sys.executable, str(EARLIER_RUNNER), str(folder), str(folder), str(tmp_path / "systems"),
                    str(tmp_path / "official.json")], check=True)
    figures = json.loads((tmp_path / "official.json").read_text())["systems"]["drawn"]
    assert_earlier_equal(year, report, figures)


def readme_paper_rows(readme: Path) -> dict[str, dict[str, dict[str, float]]]:
    """The README's official_score_paper.csv block: system -> metric -> column -> value."""
    block = re.search(r"```_seed\d+_official_score_paper\.csv\n(.*?)```", readme.read_text(), re.S)
    assert block, f"{readme}: no official_score_paper.csv example"
    header, *rows = list(csv.reader(line for line in block.group(1).splitlines() if line.strip()))
    paper: dict = {}
    for system, metric, *values in rows:
        paper.setdefault(system, {})[metric] = {c: float(v) for c, v in zip(header[2:], values) if v}
    return paper


@pytest.mark.parametrize("year", YEARS)
def test_the_readme_examples_means_and_total_score_are_asdbenchs(year):
    paper = readme_paper_rows(checkout(year, "README.md") / "README.md")
    assert len(paper) == 2, "the MSE and MAHALA baselines"
    for system, metrics in paper.items():
        auc_source, auc_target, pauc = (metrics[metric] for metric in list(PAPER)[:3])
        machines = [name for name in auc_source if name not in ("h-mean", "a-mean")]
        scores = [MachineScores(name, "00", auc_source[name], auc_target[name], pauc[name],
                                clamped_hmean([auc_source[name], auc_target[name], pauc[name]])) for name in machines]
        report = EvaluationReport(scores, official_score(scores)).split_values()
        for metric, (_, hmean, amean) in PAPER.items():
            assert report[hmean] == pytest.approx(metrics[metric]["h-mean"], **TOLERANCE), (system, metric)
            assert report[amean] == pytest.approx(metrics[metric]["a-mean"], **TOLERANCE), (system, metric)


def test_the_2022_readme_examples_machine_rows_are_asdbenchs():
    """The 2022 evaluator's README shows two machine types' section rows and their four mean rows, the "source
    harmonic mean" being section 03's values alone (its cut at the number of sections halved): asdbench's
    machine_means of those section rows equal them."""
    readme = checkout(2022, "README.md") / "README.md"
    block = re.search(r"`result_<team_name_N>\.csv`\n```\n(.*?)```", readme.read_text(), re.S)
    assert block, f"{readme}: no result CSV example"
    lines = list(csv.reader(block.group(1).splitlines()))
    checked = 0
    for index, line in enumerate(lines):
        if line[:1] != ["section"]:
            continue
        machine, header = lines[index - 1][0], line
        rows = [dict(zip(header, row)) for row in lines[index + 1:index + 4]]
        sections = [MachineScores(machine, row["section"], *(float(row[c]) for c in SECTION_COLUMNS_2022[:3]), 0.0,
                                  *(float(row[c]) for c in SECTION_COLUMNS_2022[3:])) for row in rows]
        means = Dcase2022Report(sections, 0.0).machine_means[machine]
        printed = {row[0]: dict(zip(lines[index + 4][2:], map(float, row[2:]))) for row in lines[index + 5:index + 9]}
        for label, columns in printed.items():
            for column, value in columns.items():
                name = f"{COLUMNS_2021[column]}_{MEAN_ROWS[label]}"
                assert means[name] == pytest.approx(value, **TOLERANCE), (machine, label, column)
                checked += 1
    assert checked == 2 * 4 * 5
