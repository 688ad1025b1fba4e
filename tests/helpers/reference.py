"""Independent reference computations of the evaluators' primitives (pair counting, explicit ROC areas), shared by
the tests of every year's report."""

from __future__ import annotations

import numpy as np

from asdbench.scoring.means import EPSILON


def reference_auc(positive: np.ndarray, negative: np.ndarray) -> float:
    """P(score of an anomaly > score of a normal), ties counted one half: the Mann-Whitney statistic."""
    greater = (positive[:, None] > negative[None, :]).sum()
    ties = (positive[:, None] == negative[None, :]).sum()
    return (greater + 0.5 * ties) / (len(positive) * len(negative))


def reference_pauc(labels: np.ndarray, scores: np.ndarray, max_fpr: float = 0.1) -> float:
    """McClish-standardised area of the ROC curve up to ``max_fpr``, from the curve's corner points."""
    thresholds = np.unique(scores)[::-1]
    fpr = [0.0] + [np.mean(scores[~labels] >= t) for t in thresholds]
    tpr = [0.0] + [np.mean(scores[labels] >= t) for t in thresholds]
    area = 0.0
    for (f0, t0), (f1, t1) in zip(zip(fpr, tpr), zip(fpr[1:], tpr[1:])):
        if f0 >= max_fpr:
            break
        if f1 > max_fpr:  # cut the segment at max_fpr, interpolating linearly
            t1 = t0 + (t1 - t0) * (max_fpr - f0) / (f1 - f0)
            f1 = max_fpr
        area += (f1 - f0) * (t0 + t1) / 2
    min_area, max_area = 0.5 * max_fpr**2, max_fpr
    return 0.5 * (1 + (area - min_area) / (max_area - min_area))


def reference_hmean(values) -> float:
    values = np.maximum(np.asarray(values, float), EPSILON)
    return len(values) / np.sum(1 / values)


def reference_detection(truth, decided) -> tuple[float, float, float]:
    """Precision, recall, F1 of the anomalous class, zero denominators clamped at epsilon as the evaluator does."""
    pairs = list(zip(truth.tolist(), decided.tolist()))
    true_positive = sum(1 for t, d in pairs if t and d == 1)
    predicted, actual = sum(1 for _, d in pairs if d == 1), sum(1 for t, _ in pairs if t)
    precision = true_positive / max(predicted, EPSILON)
    recall = true_positive / max(actual, EPSILON)
    return precision, recall, 2 * precision * recall / max(precision + recall, EPSILON)
