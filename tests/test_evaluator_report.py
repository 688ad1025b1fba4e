"""`asdbench evaluate` equals the official DCASE 2020-2024 evaluators on inputs of ours.

tests/golden/evaluators/ holds a ground truth in the 2023/2024 evaluators' format and three systems' score and
decision files, all drawn by its make_inputs.py; the same for the 2020, 2021 and 2022 evaluators, each in its
year's formats (dcase2020/, dcase2021/, dcase2022/, drawn by make_earlier_inputs.py); and the figures that each
evaluator's own script reported on them (expected_dcase<year>.json; regenerate.sh reruns them all, not part of
`make test`). Every figure each evaluator prints (per machine, section, domain or machine ID, each mean row, the
official score, the official-score-paper rows) must equal asdbench's to 1e-12, and the "official score ci95" to
1e-9 relative (tests/helpers/evaluator_figures.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.stats

from asdbench.cli.main import main
from tests.helpers import earlier_years
from tests.helpers.evaluator_figures import assert_earlier_equal, assert_equal, evaluate_json
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


@pytest.mark.parametrize("system", SYSTEMS)
@pytest.mark.parametrize("year", [2020, 2021, 2022])
def test_evaluate_equals_the_earlier_official_evaluators(year, system, monkeypatch, capsys):
    expected = json.loads((GOLDEN / f"expected_dcase{year}.json").read_text())
    assert (expected["year"], expected["evaluator"]) == (year, earlier_years.SCRIPTS[year])
    inputs = GOLDEN / f"dcase{year}"
    test = earlier_years.TRUTH[year](inputs)
    report = earlier_years.evaluate_json(inputs / "systems" / system, test, year, monkeypatch, capsys)
    assert_earlier_equal(year, report, expected["systems"][system])


def test_the_earlier_inputs_reach_the_corners_they_are_made_for(monkeypatch, capsys):
    """Ties between normal and anomalous clips, a zero precision denominator, AUCs of 0, a CRLF ground-truth file
    (2021), and per-machine "source" and "target" harmonic means that are not the domains' (2021: cut at 3 machine
    types // 2; 2022: at 3 sections // 2), which asdbench reproduces."""
    reports = {(year, system): earlier_years.evaluate_json(GOLDEN / f"dcase{year}" / "systems" / system,
                                                           earlier_years.TRUTH[year](GOLDEN / f"dcase{year}"), year,
                                                           monkeypatch, capsys)
               for year in (2020, 2021, 2022) for system in SYSTEMS}
    truth = earlier_years.truth_2021(GOLDEN / "dcase2021")
    ties = pd.concat([pd.read_csv(path, header=None, names=["file", "score"]).assign(
        machine=path.name.split("_")[2], section=path.name.split("_")[4], domain=path.name.split("_")[5])
        for path in (GOLDEN / "dcase2021" / "systems" / "ties").glob("anomaly_score_*.csv")])
    scored = ties.merge(truth, on=["machine", "section", "domain", "file"])
    shared = scored.groupby(["machine", "section", "domain", "score"])["label"].nunique()
    assert len(scored) == len(truth) and (shared > 1).any(), "normal and anomalous clips share scores"
    assert b"\r\n" in (GOLDEN / "dcase2021" / "ground_truth_data" /
                        "ground_truth_mixer_section_05_target_test.csv").read_bytes()
    for year in (2021, 2022):
        mixer = next(u for u in reports[year, "continuous"]["machines"] if (u["machine"], u["section"]) == ("mixer",
                                                                                                        "04"))
        assert mixer["precision_target"] == mixer["f1_target"] == 0.0
        blender = next(u for u in reports[year, "inverted"]["machines"] if (u["machine"], u["section"]) == ("blender",
                                                                                                         "03"))
        assert blender["auc_source"] == blender["auc_target"] == 0.0
        assert reports[year, "inverted"]["official_score"] < 1e-14
        means = reports[year, "ties"]["machine_means"]["kettle"]
        units = sorted((u for u in reports[year, "ties"]["machines"] if u["machine"] == "kettle"),
                       key=lambda u: u["section"])
        domain_hmean = float(scipy.stats.hmean([u["auc_source"] for u in units]))
        assert means["auc_source_hmean"] == units[0]["auc_source"] != pytest.approx(domain_hmean)
    assert next(u for u in reports[2020, "inverted"]["machines"] if (u["machine"], u["section"]) == ("blender",
                                                                                                     "03"))["auc"] == 0


@pytest.mark.parametrize("year", [2020, 2021, 2022])
def test_the_table_shows_the_earlier_evaluators_whole_report(year, monkeypatch, capsys):
    inputs = GOLDEN / f"dcase{year}"
    test = earlier_years.TRUTH[year](inputs)
    text = earlier_years.evaluate_json(inputs / "systems" / "ties", test, year, monkeypatch, capsys, table=True)
    report = earlier_years.evaluate_json(inputs / "systems" / "ties", test, year, monkeypatch, capsys)
    headers = {2020: ("| id ", "Average", "official score: none", "ASDKit's official20"),
               2021: ("| domain ", "source harmonic mean", "target harmonic mean", "official score:"),
               2022: ("AUC (all)", "F1 (target)", "source harmonic mean", "official score ci95:")}[year]
    for header in headers:
        assert header in text
    if year == 2020:
        assert f"{100 * report['means']['auc_pauc_amean']:.2f}" in text.splitlines()[-1]
    else:
        assert f"official score: {100 * report['official_score']:.2f}" in text
