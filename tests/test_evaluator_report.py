"""`asdbench evaluate` equals the official DCASE 2023 and 2024 evaluators on inputs of ours.

tests/golden/evaluators/ holds a ground truth in the evaluators' format and three systems' score and decision
files, all drawn by its make_inputs.py, and the figures that each evaluator's own script reported on them
(expected_dcase2023.json, expected_dcase2024.json; regenerate.sh reruns both, not part of `make test`). Every
per-machine figure, mean row, official score and official-score-paper row must equal asdbench's to 1e-12, and the
"official score ci95" to 1e-9 relative (tests/helpers/evaluator_figures.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from asdbench.cli.main import main
from tests.helpers.evaluator_figures import assert_equal, evaluate_json
from tests.helpers.realdata import Layout, eval_layout, read_csv

GOLDEN = Path(__file__).parent / "golden" / "evaluators"
SYSTEMS = ("ties", "continuous", "inverted")


@pytest.fixture(scope="module")
def layout(tmp_path_factory) -> Layout:
    return eval_layout(GOLDEN / "ground_truth", 2024, tmp_path_factory.mktemp("golden-evaluators"))


@pytest.mark.parametrize("system", SYSTEMS)
@pytest.mark.parametrize("year", [2023, 2024])
def test_evaluate_equals_the_official_evaluator(layout, year, system, capsys):
    expected = json.loads((GOLDEN / f"expected_dcase{year}.json").read_text())
    assert expected["evaluator"] == f"dcase{year}_task2_evaluator.py"
    report = evaluate_json(GOLDEN / "systems" / system, layout.root, year, GOLDEN / "ground_truth", capsys)
    assert_equal(report, expected["systems"][system])


def test_the_inputs_reach_the_corners_they_are_made_for(layout, capsys):
    """Ties between normal and anomalous scores, labelled names, a zero precision denominator, AUCs of 0,
    domains of unequal sizes."""
    ties = read_csv(GOLDEN / "systems" / "ties" / "anomaly_score_kettle_section_00_test.csv")
    assert any(name.startswith("section_00_source_test_") for name, _ in ties)
    truth = dict(read_csv(GOLDEN / "ground_truth" / "ground_truth_data" / "ground_truth_kettle_section_00_test.csv"))
    labelled = {f"{row[1]}.wav": row[0] for row in
                read_csv(GOLDEN / "ground_truth" / "ground_truth_attributes" / "ground_truth_kettle_section_00_test.csv")}
    by_label = {label: {float(score) for name, score in ties if truth[labelled.get(name, name)] == label}
                for label in ("0", "1")}
    assert by_label["0"] & by_label["1"], "normal and anomalous clips share scores"
    reports = {system: evaluate_json(GOLDEN / "systems" / system, layout.root, 2024, GOLDEN / "ground_truth", capsys)
               for system in ("continuous", "inverted")}
    mixer = next(m for m in reports["continuous"]["machines"] if m["machine"] == "mixer")
    assert mixer["precision_target"] == mixer["f1_target"] == 0.0
    assert reports["continuous"]["means"]["f1_hmean"] < 1e-14 < reports["continuous"]["means"]["f1_amean"]
    blender = next(m for m in reports["inverted"]["machines"] if m["machine"] == "blender")
    assert blender["auc_source"] == blender["auc_target"] == 0.0
    assert reports["inverted"]["official_score"] < 1e-14
    # AUC (all) weighs the domains' AUCs by their normal clips: kettle has as many of each, the others do not
    machines = {m["machine"]: m for m in reports["continuous"]["machines"]}
    midway = {name: np.isclose(m["auc_all"], (m["auc_source"] + m["auc_target"]) / 2) for name, m in machines.items()}
    assert midway == {"blender": False, "kettle": True, "mixer": False}


def test_the_table_shows_the_whole_report(layout, capsys):
    assert main(["evaluate", str(GOLDEN / "systems" / "ties"), "--dataset-root", str(layout.root), "--year", "2024",
                 "--split", "eval", "--ground-truth", str(GOLDEN / "ground_truth")]) == 0
    text = capsys.readouterr().out
    for header in ("AUC (all)", "AUC (source)", "pAUC", "P (target)", "R (source)", "F1 (target)", "precision",
                   "source harmonic mean", "target harmonic mean", "official score:", "official score ci95:"):
        assert header in text
    report = evaluate_json(GOLDEN / "systems" / "ties", layout.root, 2024, GOLDEN / "ground_truth", capsys)
    assert f"official score: {100 * report['official_score']:.2f}" in text
    assert f"official score ci95: {100 * report['official_score_ci95']:.3g}" in text
