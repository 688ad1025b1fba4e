"""The DCASE 2020, 2021 and 2022 reports (asdbench.scoring.reports) against independent reference computations:
each figure from pair counting and explicit ROC areas (tests/helpers/reference.py), each mean row from its
definition, including the evaluators' cuts by position that asdbench reproduces on purpose. The evaluators
themselves are compared in tests/test_evaluator_report.py (their figures on our inputs) and
tests/test_real_evaluators.py (the real ground truth)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from asdbench.data.years import METRICS, SCORE_FILES
from asdbench.errors import ScoreFileError
from asdbench.scoring.means import mean_rows
from asdbench.scoring.metrics import EvaluationReport
from asdbench.scoring.official import REPORTS, SPLIT_VALUES, UNIT_VALUES, report_from_dict
from asdbench.scoring.scorefiles import LAYOUTS
from tests.helpers.reference import reference_auc, reference_detection, reference_hmean, reference_pauc
from tests.helpers.reports import manifest, report_of

TOLERANCE = {"abs": 1e-12}


def test_every_metric_and_layout_of_the_year_facts_has_its_code():
    assert set(METRICS) == set(REPORTS)
    assert set(SCORE_FILES) == set(LAYOUTS)
    assert {metric: report.METRIC for metric, report in REPORTS.items()} == {metric: metric for metric in METRICS}


def values(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    return frame["label"].eq("anomaly").to_numpy(), frame["score"].to_numpy()


# --- 2021 -------------------------------------------------------------------------------------------------


def test_2021_figures_are_within_each_domain():
    frame = manifest({"fan": ("03", "04", "05"), "ToyCar": ("03", "04", "05"), "valve": ("03", "04", "05")}, 12, 1)
    report = report_of("dcase2021", frame)
    assert [(s.machine, s.section) for s in report.machines] == [(m, s) for m in ("ToyCar", "fan", "valve")
                                                                 for s in ("03", "04", "05")]
    for section in report.machines:
        rows = frame[(frame["machine"] == section.machine) & (frame["section"] == section.section)]
        for domain in ("source", "target"):
            own = rows[rows["domain"] == domain]
            anomaly, score = values(own)
            assert getattr(section, f"auc_{domain}") == pytest.approx(
                reference_auc(score[anomaly], score[~anomaly]), **TOLERANCE)
            assert getattr(section, f"pauc_{domain}") == pytest.approx(reference_pauc(anomaly, score), **TOLERANCE)
            detection = reference_detection(anomaly, own["decision"].to_numpy())
            assert [getattr(section, f"{kind}_{domain}") for kind in ("precision", "recall", "f1")] == \
                pytest.approx(detection, **TOLERANCE)
        assert section.hmean == pytest.approx(reference_hmean([section.auc_source, section.auc_target,
                                                               section.pauc_source, section.pauc_target]))
    every = [getattr(s, f"{m}_{d}") for s in report.machines for m in ("auc", "pauc") for d in ("source", "target")]
    assert len(every) == 36
    assert report.official_score == pytest.approx(reference_hmean(every), rel=1e-12)
    assert report.official_score_ci95 is None


def test_2021_machine_rows_cut_at_the_number_of_machine_types_halved_and_the_rows_over_all_by_domain():
    """Three machine types: the evaluator's per-machine "source harmonic mean" is the first row alone (source 03),
    its "target harmonic mean" the five others; over all, the source rows are every source row."""
    frame = manifest({"fan": ("03", "04", "05"), "ToyCar": ("03", "04", "05"), "valve": ("03", "04", "05")}, 12, 2)
    report = report_of("dcase2021", frame)
    fan = sorted((s for s in report.machines if s.machine == "fan"), key=lambda s: s.section)
    rows = [s.domain_values(d) for d in ("source", "target") for s in fan]  # the evaluator's order
    means = report.machine_means["fan"]
    for metric in ("auc", "pauc", "precision", "recall", "f1"):
        column = [row[metric] for row in rows]
        assert means[f"{metric}_amean"] == pytest.approx(np.mean(column), **TOLERANCE)
        assert means[f"{metric}_hmean"] == pytest.approx(reference_hmean(column), **TOLERANCE)
        assert means[f"{metric}_source_hmean"] == pytest.approx(reference_hmean(column[:1]), **TOLERANCE)
        assert means[f"{metric}_target_hmean"] == pytest.approx(reference_hmean(column[1:]), **TOLERANCE)
        source = [s.domain_values("source")[metric] for s in report.machines]
        target = [s.domain_values("target")[metric] for s in report.machines]
        assert report.means[f"{metric}_amean"] == pytest.approx(np.mean(source + target), **TOLERANCE)
        assert report.means[f"{metric}_source_hmean"] == pytest.approx(reference_hmean(source), **TOLERANCE)
        assert report.means[f"{metric}_target_hmean"] == pytest.approx(reference_hmean(target), **TOLERANCE)
    # seven machine types (the real data's) cut at 3, the number of sections: each domain's rows
    seven = report_of("dcase2021", manifest({f"m{i}": ("03", "04", "05") for i in range(7)}, 6, 3))
    m0 = sorted((s for s in seven.machines if s.machine == "m0"), key=lambda s: s.section)
    assert seven.machine_means["m0"]["auc_source_hmean"] == pytest.approx(
        reference_hmean([s.auc_source for s in m0]), **TOLERANCE)
    # one machine type cuts at 0: the "source" row is over nothing (nan in the evaluator), None here
    one = report_of("dcase2021", manifest({"fan": ("03", "04")}, 6, 4)).machine_means["fan"]
    assert one["auc_source_hmean"] is None and one["auc_target_hmean"] == one["auc_hmean"]


def test_2021_refuses_a_domain_without_both_classes_and_clips_of_unknown_domain():
    frame = manifest({"fan": ("03",)}, 6, 5)
    lacking = frame[~((frame["domain"] == "target") & (frame["label"] == "anomaly"))]
    with pytest.raises(ScoreFileError, match="fan section 03: no target-domain anomalous test clips"):
        report_of("dcase2021", lacking)
    with pytest.raises(ScoreFileError, match="unknown domain"):
        report_of("dcase2021", frame.assign(domain="unknown"))


# --- 2022 -------------------------------------------------------------------------------------------------


def test_2022_is_the_2023_report_per_section_with_machine_rows_cut_at_the_number_of_sections_halved():
    frame = manifest({"fan": ("03", "04", "05"), "ToyCar": ("03", "04", "05")}, 12, 6)
    report = report_of("dcase2022", frame)
    same = report_of("dcase2023", frame)
    assert report.machines == same.machines and report.means == same.means
    assert (report.official_score, report.official_score_ci95) == (same.official_score, same.official_score_ci95)
    toycar = [s for s in report.machines if s.machine == "ToyCar"]
    columns = {"auc": [s.auc_source for s in toycar] + [s.auc_target for s in toycar],
               "pauc": [s.pauc for s in toycar] * 2,
               **{m: [getattr(s, f"{m}_source") for s in toycar] + [getattr(s, f"{m}_target") for s in toycar]
                  for m in ("precision", "recall", "f1")}}
    means = report.machine_means["ToyCar"]
    for metric, column in columns.items():
        assert means[f"{metric}_amean"] == pytest.approx(np.mean(column), **TOLERANCE)
        assert means[f"{metric}_hmean"] == pytest.approx(reference_hmean(column), **TOLERANCE)
        # three sections cut at 1: section 03's source value alone, then the other five
        assert means[f"{metric}_source_hmean"] == pytest.approx(reference_hmean(column[:1]), **TOLERANCE)
        assert means[f"{metric}_target_hmean"] == pytest.approx(reference_hmean(column[1:]), **TOLERANCE)
    assert means["pauc_source_hmean"] != means["pauc_target_hmean"]
    stored = report.to_dict()
    assert stored["metric"] == "dcase2022" and stored["machine_means"]["ToyCar"] == means
    assert "metric" not in same.to_dict(), "the 2023 report is stored as it was"
    assert {k: v for k, v in stored.items() if k not in ("metric", "machine_means")} == same.to_dict()


# --- 2020 -------------------------------------------------------------------------------------------------


def test_2020_figures_per_id_averages_per_machine_type_and_no_official_score():
    frame = manifest({"fan": ("01", "03", "05"), "ToyConveyor": ("04", "05")}, 12, 7, domains=False)
    report = report_of("dcase2020", frame, decisions=False)
    for unit in report.machines:
        anomaly, score = values(frame[(frame["machine"] == unit.machine) & (frame["section"] == unit.section)])
        assert unit.auc == pytest.approx(reference_auc(score[anomaly], score[~anomaly]), **TOLERANCE)
        assert unit.pauc == pytest.approx(reference_pauc(anomaly, score), **TOLERANCE)
        assert unit.hmean == pytest.approx(reference_hmean([unit.auc, unit.pauc]))
    averages = {machine: [np.mean([getattr(u, m) for u in report.machines if u.machine == machine])
                          for m in ("auc", "pauc")] for machine in ("fan", "ToyConveyor")}
    assert report.machine_means == {machine: {"auc_amean": pytest.approx(a, **TOLERANCE),
                                              "pauc_amean": pytest.approx(p, **TOLERANCE)}
                                    for machine, (a, p) in averages.items()}
    # ASDKit's official20: per machine type the mean of its IDs' AUCs and pAUCs together, then over machine types
    official20 = np.mean([np.mean([getattr(u, m) for u in report.machines if u.machine == machine
                                   for m in ("auc", "pauc")]) for machine in averages])
    assert report.means["auc_pauc_amean"] == pytest.approx(official20, **TOLERANCE)
    assert report.official_score is None and report.official_score_ci95 is None
    assert report.headline[1] == report.means["auc_pauc_amean"]
    assert "official20" in report.headline[0] and "no official score" in report.headline[0]
    text = report.to_markdown()
    assert "Average" in text and "official score: none" in text


# --- all --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("metric", "domains"), [("dcase2020", False), ("dcase2021", True), ("dcase2022", True),
                                                  ("dcase2023", True)])
def test_every_report_is_read_back_as_itself_and_holds_its_declared_values(metric, domains):
    frame = manifest({"fan": ("01", "02"), "pump": ("01", "02")}, 9, 8, domains=domains)
    report = report_of(metric, frame, decisions=metric != "dcase2020")
    stored = json.loads(json.dumps(report.to_dict()))
    again = report_from_dict(stored)
    assert type(again) is type(report) and again.to_dict() == report.to_dict()
    split = report.split_values()
    assert {name for name, value in split.items() if value is not None} == set(report.SPLIT_VALUES)
    assert set(report.SPLIT_VALUES) <= set(SPLIT_VALUES)
    units = stored["machines"]
    assert all(set(report.REQUIRED_UNIT_VALUES) <= {k for k, v in unit.items() if v is not None} for unit in units)
    assert all(set(unit) - {"machine", "section"} <= set(UNIT_VALUES) for unit in units)
    assert report.headline[1] == (report.official_score if report.official_score is not None
                                  else report.means["auc_pauc_amean"])
    assert "fan" in report.to_markdown()


def test_the_2023_report_is_the_default_of_a_stored_report_without_a_metric():
    frame = manifest({"fan": ("00",)}, 9, 9)
    stored = report_of("dcase2023", frame).to_dict()
    assert type(report_from_dict(stored)) is EvaluationReport
    with pytest.raises(ScoreFileError, match="unknown official report 'dcase1999'"):
        report_from_dict({**stored, "metric": "dcase1999"})


def test_mean_rows_cut_by_position_and_leave_out_what_is_undefined():
    rows = mean_rows({"auc": [0.5, 1.0, 0.25], "f1": [None, 0.5, 0.5]}, 1)
    assert rows["auc_amean"] == pytest.approx(1.75 / 3)
    assert rows["auc_source_hmean"] == 0.5 and rows["auc_target_hmean"] == pytest.approx(reference_hmean([1, 0.25]))
    assert {name: value for name, value in rows.items() if name.startswith("f1")} == dict.fromkeys(
        ("f1_amean", "f1_hmean", "f1_source_hmean", "f1_target_hmean"))
    assert mean_rows({"auc": [0.5]}, 1)["auc_target_hmean"] is None
