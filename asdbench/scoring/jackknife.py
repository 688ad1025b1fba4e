"""The "official score ci95" that the DCASE 2023-2025 Task 2 evaluators print under the official score.

Despite its name it is not an interval of the official score (a harmonic mean over machines): the evaluators
pool the test clips of every machine of the split into one list (labels and anomaly scores, machines' scores on
their own scales side by side), compute a leave-one-clip-out jackknife of the pooled AUC and, separately, of the
pooled pAUC (max FPR 0.1), and print the mean of the two 95 % half-widths. For each statistic, with N clips and
theta_i the statistic without clip i::

    sigma = sqrt(sum_i (theta_i - mean(theta))^2 / (N (N - 1)))
    half-width = |t.ppf(0.025, N - 1)| * sigma

(``jackknife_estimate`` in ``dcase202{3,4}_task2_evaluator.py``, after Mesaros et al., TASLP 2019, section IV).
Note that Efron's jackknife standard error is sqrt((N - 1) / N * sum_i (theta_i - mean)^2), N - 1 times this
sigma: the figure is as small as it is (1e-5 on 1800 clips) because of that factor, not because the score is
that precise. docs/metrics.md has the sources.

The evaluators call scikit-learn once per left-out clip (3600 calls on DCASE 2024's eval split, seconds). Here
every leave-one-out ROC curve comes from the full curve's cumulative counts, minus the one clip, vectorised:
the same curve points and trapezoids as ``roc_auc_score``, equal to it to float64 rounding.
"""

from __future__ import annotations

import numpy as np
import scipy.stats

CONFIDENCE = 0.95
BLOCK_ELEMENTS = 1 << 20
"""How many (left-out group, curve point) cells one vectorised block computes: about 8 MB per array."""


def official_ci95(is_anomaly: np.ndarray, scores: np.ndarray, max_fpr: float) -> float | None:
    """The evaluators' "official score ci95" of the pooled clips of a split; None where it is undefined (fewer
    than two anomalous or two normal clips, so that leaving one out can leave a class empty)."""
    is_anomaly = np.asarray(is_anomaly, dtype=bool)
    scores = np.asarray(scores, dtype=float)
    if min(is_anomaly.sum(), (~is_anomaly).sum()) < 2:
        return None  # (the evaluators fail there)
    auc = half_width(leave_one_out_roc_areas(is_anomaly, scores, None))
    pauc = half_width(leave_one_out_roc_areas(is_anomaly, scores, max_fpr))
    return float(np.mean([auc, pauc]))


def half_width(leave_one_out: np.ndarray) -> float:
    """The evaluators' 95 % jackknife half-width from the leave-one-out values theta_i (see the module doc)."""
    n = len(leave_one_out)
    sigma = np.sqrt(np.sum((leave_one_out - np.mean(leave_one_out)) ** 2) / (n * (n - 1)))
    return float(abs(scipy.stats.t.ppf((1 - CONFIDENCE) / 2, n - 1)) * sigma)


def leave_one_out_roc_areas(is_anomaly: np.ndarray, scores: np.ndarray, max_fpr: float | None) -> np.ndarray:
    """For each clip i, ``roc_auc_score(is_anomaly, scores, max_fpr=max_fpr)`` of all clips but i (the
    McClish-standardised partial area where ``max_fpr`` is given). Needs two clips of each class.

    The ROC curve has a point per distinct score (every clip scoring at least that value counted as detected).
    Leaving clip i out lowers the true- (or false-) positive count of the points at or below its score by one
    and the class size by one; clips with the same score and label leave the same curve, so each such group is
    computed once. Fewer than two clips of a class is a ValueError.
    """
    is_anomaly = np.asarray(is_anomaly, dtype=bool)
    if min(is_anomaly.sum(), (~is_anomaly).sum()) < 2:
        raise ValueError("leave-one-out ROC areas need at least two anomalous and two normal clips")
    # rank 0 is the highest score: the curve's points in the order roc_curve draws them
    _, rank = np.unique(-np.asarray(scores, dtype=float), return_inverse=True)
    points = int(rank.max()) + 1
    true_positives = np.cumsum(np.bincount(rank[is_anomaly], minlength=points))
    false_positives = np.cumsum(np.bincount(rank[~is_anomaly], minlength=points))
    groups, group_of = np.unique(np.stack([rank, is_anomaly]), axis=1, return_inverse=True)
    areas = np.empty(groups.shape[1])
    step = max(1, BLOCK_ELEMENTS // points)
    for start in range(0, groups.shape[1], step):
        left_rank, left_anomaly = groups[0, start:start + step], groups[1, start:start + step].astype(bool)
        below = np.arange(points)[None, :] >= left_rank[:, None]  # the points that counted the left-out clip
        tpr = (true_positives - (below & left_anomaly[:, None])) / (true_positives[-1] - left_anomaly)[:, None]
        fpr = (false_positives - (below & ~left_anomaly[:, None])) / (false_positives[-1] - ~left_anomaly)[:, None]
        origin = np.zeros((len(left_rank), 1))
        areas[start:start + step] = _area(np.hstack([origin, fpr]), np.hstack([origin, tpr]), max_fpr)
    return areas[group_of.ravel()]


def _area(fpr: np.ndarray, tpr: np.ndarray, max_fpr: float | None) -> np.ndarray:
    """Row-wise trapezoidal area under ROC curves (points in increasing FPR), as ``sklearn.metrics.auc``; with
    ``max_fpr``, the area up to it (the crossing segment interpolated linearly, as ``np.interp`` does it in
    ``roc_auc_score``), McClish-standardised."""
    f0, f1, t0, t1 = fpr[:, :-1], fpr[:, 1:], tpr[:, :-1], tpr[:, 1:]
    if max_fpr is None:
        return np.sum((f1 - f0) * (t0 + t1) / 2.0, axis=1)
    crossing = (f0 < max_fpr) & (f1 > max_fpr)
    slope = (t1 - t0) / np.where(crossing, f1 - f0, 1.0)
    t_end = np.where(crossing, slope * (max_fpr - f0) + t0, t1)
    width = np.where(f0 < max_fpr, np.minimum(f1, max_fpr) - f0, 0.0)
    partial = np.sum(width * (t0 + t_end) / 2.0, axis=1)
    min_area, max_area = 0.5 * max_fpr**2, max_fpr
    return 0.5 * (1 + (partial - min_area) / (max_area - min_area))
