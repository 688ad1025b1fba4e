"""Official metrics against an independent reference computation (pair counting, explicit ROC areas)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asdbench.errors import ScoreFileError
from asdbench.scoring.metrics import MachineScores, evaluate_frame, machine_metrics, official_score
from tests.helpers.reference import reference_auc, reference_detection, reference_hmean, reference_pauc

test_sets = st.integers(min_value=0, max_value=2**32 - 1).flatmap(
    lambda seed: st.tuples(st.just(seed), st.integers(2, 30), st.integers(2, 30), st.integers(2, 30),
                           st.sampled_from([3, 10, 1000]))
)


def make(seed, normals_source, normals_target, anomalies, levels):
    rng = np.random.default_rng(seed)
    n = normals_source + normals_target + anomalies
    is_anomaly = np.zeros(n, bool)
    is_anomaly[normals_source + normals_target:] = True
    is_target = np.zeros(n, bool)
    is_target[normals_source:normals_source + normals_target] = True
    is_target[normals_source + normals_target:] = rng.random(anomalies) < 0.5
    # small integer ranges make many ties, as real quantised scores do
    scores = rng.integers(0, levels, n).astype(float) + is_anomaly * rng.integers(0, 2, n)
    return is_anomaly, is_target, scores


@settings(max_examples=150, deadline=None)
@given(test_sets)
def test_machine_metrics_equal_the_reference_including_ties(case):
    is_anomaly, is_target, scores = make(*case)
    decisions = (scores > np.median(scores)).astype(int)
    result = machine_metrics(is_anomaly, is_target, scores, decisions, machine="m")
    anomalies = scores[is_anomaly]
    assert result.auc_source == pytest.approx(reference_auc(anomalies, scores[~is_anomaly & ~is_target]), abs=1e-12)
    assert result.auc_target == pytest.approx(reference_auc(anomalies, scores[~is_anomaly & is_target]), abs=1e-12)
    assert result.pauc == pytest.approx(reference_pauc(is_anomaly, scores), abs=1e-12)
    assert result.hmean == pytest.approx(reference_hmean([result.auc_source, result.auc_target, result.pauc]))
    for domain, in_domain in (("source", ~is_target), ("target", is_target)):
        expected = reference_detection(is_anomaly[in_domain], decisions[in_domain])
        observed = tuple(getattr(result, f"{kind}_{domain}") for kind in ("precision", "recall", "f1"))
        assert observed == pytest.approx(expected, abs=1e-12)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1), st.floats(0, 1)), min_size=1, max_size=16))
def test_official_score_is_the_flat_clamped_harmonic_mean(values):
    results = [MachineScores(f"m{i}", "00", a, b, c, 0.0) for i, (a, b, c) in enumerate(values)]
    assert official_score(results) == pytest.approx(reference_hmean([v for t in values for v in t]), rel=1e-12)


def test_edge_cases_constant_perfect_and_inverted_scores():
    is_anomaly = np.array([0, 0, 0, 0, 1, 1], bool)
    is_target = np.array([0, 0, 1, 1, 0, 1], bool)
    constant = machine_metrics(is_anomaly, is_target, np.ones(6), machine="m")
    assert (constant.auc_source, constant.auc_target, constant.pauc) == (0.5, 0.5, 0.5)
    perfect = machine_metrics(is_anomaly, is_target, is_anomaly.astype(float), machine="m")
    assert (perfect.auc_source, perfect.auc_target, perfect.pauc, perfect.hmean) == (1, 1, 1, pytest.approx(1))
    inverted = machine_metrics(is_anomaly, is_target, -is_anomaly.astype(float), machine="m")
    assert inverted.auc_source == 0.0
    assert inverted.hmean == pytest.approx(reference_hmean([0.0, 0.0, inverted.pauc]))
    assert inverted.hmean > 0, "a zero AUC is clamped at machine epsilon, as the evaluator does"


def test_precision_recall_f1_per_domain():
    is_anomaly = np.array([0, 0, 1, 1, 0, 0, 1, 1], bool)
    is_target = np.array([0, 0, 0, 0, 1, 1, 1, 1], bool)
    decisions = np.array([1, 0, 1, 1, 0, 0, 0, 0])
    result = machine_metrics(is_anomaly, is_target, np.arange(8.0), decisions, machine="m")
    assert (result.precision_source, result.recall_source) == (pytest.approx(2 / 3), 1.0)
    assert result.f1_source == pytest.approx(0.8)
    assert (result.precision_target, result.recall_target, result.f1_target) == (0.0, 0.0, 0.0)


def test_missing_class_is_a_clear_error():
    with pytest.raises(ScoreFileError, match="no target-domain normal"):
        machine_metrics(np.array([0, 1], bool), np.array([0, 1], bool), np.array([0.0, 1.0]), machine="fan")


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"scores": np.arange(3.0)}, "differ in length"),
        ({"decisions": np.array([0, 1, 0])}, "differ in length"),
        ({"scores": np.array([0.0, 1.0, np.nan, 2.0])}, "finite"),
        ({"scores": np.array([0.0, 1.0, np.inf, 2.0])}, "finite"),
        ({"decisions": np.array([0, 1, 2, 0])}, "0 \\(normal\\) or 1"),
        ({"is_anomaly": np.zeros(4, bool)}, "no anomalous"),
    ],
)
def test_bad_inputs_are_clear_errors(arrays, message):
    given_arrays = {"is_anomaly": np.array([0, 0, 1, 1], bool), "is_target": np.array([0, 1, 0, 1], bool),
                    "scores": np.arange(4.0), "decisions": None, **arrays}
    with pytest.raises(ScoreFileError, match=message):
        machine_metrics(**given_arrays, machine="fan")


def manifest_of(labels, domains):
    return pd.DataFrame({"file": [f"section_00_{i:04d}.wav" for i in range(len(labels))], "machine": "fan",
                         "section": "00", "label": labels, "domain": domains, "path": "/data/x.wav"})


def test_evaluate_frame_aligns_by_file_name_not_row_order():
    test = manifest_of(["normal", "normal", "anomaly", "anomaly", "normal", "anomaly"],
                       ["source", "target", "source", "target", "target", "source"])
    scores = test[["machine", "section", "file"]].assign(score=[0.1, 0.2, 0.9, 0.8, 0.3, 0.05])
    direct = machine_metrics(test["label"].eq("anomaly"), test["domain"].eq("target"), scores["score"], machine="fan")
    report = evaluate_frame(test, scores.iloc[::-1])
    assert report.machines == [direct]
    assert report.official_score == pytest.approx(reference_hmean([direct.auc_source, direct.auc_target, direct.pauc]))
    assert "fan" in report.to_markdown() and report.per_machine.loc["fan", "pauc"] == direct.pauc


def test_evaluate_frame_refuses_missing_duplicate_and_unlabelled_rows():
    test = manifest_of(["normal", "normal", "anomaly"], ["source", "target", "source"])
    scores = test[["machine", "section", "file"]].assign(score=[0.1, 0.2, 0.9])
    with pytest.raises(ScoreFileError, match="1 test clips of fan section 00 have none.*section_00_0002.wav"):
        evaluate_frame(test, scores.iloc[:2])
    with pytest.raises(ScoreFileError, match="section_00_0001.wav \\(fan section 00\\) has more than one row"):
        evaluate_frame(test, pd.concat([scores, scores.iloc[[1]]]))
    with pytest.raises(ScoreFileError, match="--ground-truth"):
        evaluate_frame(test.assign(label="unknown"), scores)
