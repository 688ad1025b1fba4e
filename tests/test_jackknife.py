"""The vectorised leave-one-out ROC areas equal scikit-learn called once per left-out clip, ties included."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

from asdbench.scoring import jackknife


def one_by_one(is_anomaly: np.ndarray, scores: np.ndarray, max_fpr: float | None) -> np.ndarray:
    """What the evaluators compute: scikit-learn on the clips without clip i, for every i."""
    return np.array([roc_auc_score(np.delete(is_anomaly, i), np.delete(scores, i), max_fpr=max_fpr)
                     for i in range(len(scores))])


cases = st.tuples(st.integers(0, 2**32 - 1), st.integers(2, 25), st.integers(2, 25), st.sampled_from([2, 5, 40, None]))


@settings(max_examples=60, deadline=None)
@given(cases, st.sampled_from([None, 0.1, 0.35]))
def test_leave_one_out_areas_equal_scikit_learn(case, max_fpr):
    seed, normals, anomalies, levels = case
    rng = np.random.default_rng(seed)
    is_anomaly = rng.permutation(np.r_[np.zeros(normals, bool), np.ones(anomalies, bool)])
    scores = rng.random(len(is_anomaly)) + 0.3 * is_anomaly
    if levels is not None:  # few distinct values: ties within and across the classes
        scores = np.floor(scores * levels)
    observed = jackknife.leave_one_out_roc_areas(is_anomaly, scores, max_fpr)
    assert observed == pytest.approx(one_by_one(is_anomaly, scores, max_fpr), abs=1e-14)


def test_blocks_of_any_size_give_the_same_areas(monkeypatch):
    rng = np.random.default_rng(3)
    is_anomaly, scores = rng.random(90) < 0.3, np.round(rng.random(90), 1)
    whole = jackknife.leave_one_out_roc_areas(is_anomaly, scores, 0.1)
    monkeypatch.setattr(jackknife, "BLOCK_ELEMENTS", 7)  # fewer cells than one curve: one group per block
    assert np.array_equal(jackknife.leave_one_out_roc_areas(is_anomaly, scores, 0.1), whole)
    assert whole == pytest.approx(one_by_one(is_anomaly, scores, 0.1), abs=1e-14)


def test_ci95_is_the_mean_of_the_auc_and_pauc_half_widths_and_undefined_for_a_lone_class_member():
    rng = np.random.default_rng(5)
    is_anomaly, scores = rng.random(60) < 0.4, rng.random(60)
    auc, pauc = (jackknife.half_width(one_by_one(is_anomaly, scores, max_fpr)) for max_fpr in (None, 0.1))
    assert jackknife.official_ci95(is_anomaly, scores, 0.1) == pytest.approx((auc + pauc) / 2, rel=1e-12)
    lone = np.r_[True, np.zeros(9, bool)]
    assert jackknife.official_ci95(lone, np.arange(10.0), 0.1) is None
    assert jackknife.official_ci95(~lone, np.arange(10.0), 0.1) is None
    with pytest.raises(ValueError, match="at least two anomalous and two normal clips"):
        jackknife.leave_one_out_roc_areas(lone, np.arange(10.0), None)
