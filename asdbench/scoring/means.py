"""The means of the DCASE 2023-2025 Task 2 evaluators' report, over the machines of a split.

Their result CSV ends with four rows, "arithmetic mean", "harmonic mean", "source harmonic mean" and "target
harmonic mean" "over all machine types, sections, and domains", in five columns: AUC, pAUC, precision, recall,
F1 score. A column's values are each machine's source-domain value followed by its target-domain one (for AUC:
AUC (source) and AUC (target), each domain's normal clips against all anomalous clips; never AUC (all)); pAUC,
which has no domain, is listed twice. The source (target) rows take the source (target) half. Every harmonic
mean clamps its values below at machine epsilon first, as the official score does; arithmetic means do not.
Their ``official_score_paper.csv`` adds the arithmetic means of AUC (source) and of AUC (target) over machines,
and the arithmetic mean of all the official score's values (its "TOTAL score" a-mean).

The names here are the per-machine field names with the row's suffix: ``auc_hmean`` is the "harmonic mean" row's
AUC (over both domains), ``auc_source_hmean`` the "source harmonic mean" row's. pAUC's four rows are the mean and
harmonic mean of the machines' pAUCs (listing each twice changes nothing), so only ``pauc_amean`` and
``pauc_hmean`` are kept.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence

import numpy as np
import scipy.stats

EPSILON = sys.float_info.epsilon
DOMAIN_METRICS = ("auc", "precision", "recall", "f1")
"""The per-domain metrics: each machine has ``<metric>_source`` and ``<metric>_target``."""
MEAN_NAMES = (
    *(f"{metric}_{row}" for metric in DOMAIN_METRICS
      for row in ("amean", "hmean", "source_hmean", "target_hmean")),
    "auc_source_amean", "auc_target_amean", "pauc_amean", "pauc_hmean", "official_score_amean",
)
"""Every mean of a split's report, in the order it is reported."""
ROWS = {"amean": "arithmetic mean", "hmean": "harmonic mean", "source_hmean": "source harmonic mean",
        "target_hmean": "target harmonic mean"}
"""The evaluators' mean rows (suffix -> label), as their result CSV names them."""
COLUMNS = {"auc": "AUC", "pauc": "pAUC", "precision": "precision", "recall": "recall", "f1": "F1 score"}
"""The evaluators' mean columns (metric -> label)."""


def mean_name(metric: str, row: str) -> str:
    """The name of the value in column ``metric`` and row ``row`` (keys of :data:`COLUMNS` and :data:`ROWS`)."""
    if metric == "pauc":
        return "pauc_amean" if row == "amean" else "pauc_hmean"
    return f"{metric}_{row}"


def clamped_hmean(values: Sequence[float]) -> float:
    """Harmonic mean of the values, each clamped below at machine epsilon (a zero would make it zero)."""
    return float(scipy.stats.hmean(np.maximum(np.asarray(values, dtype=float), EPSILON)))


def report_means(per_machine: Mapping[str, Sequence[float | None]]) -> dict[str, float | None]:
    """The means of :data:`MEAN_NAMES` from per-machine values: ``per_machine`` maps ``pauc`` and each
    ``<metric>_source`` / ``<metric>_target`` to one value per machine. A mean of a metric some machine lacks
    (precision, recall and F1 without decision files) is None."""
    means: dict[str, float | None] = {}
    for metric in DOMAIN_METRICS:
        source, target = per_machine[f"{metric}_source"], per_machine[f"{metric}_target"]
        known = None not in source and None not in target
        both = [*source, *target]
        means[f"{metric}_amean"] = float(np.mean(both)) if known else None
        means[f"{metric}_hmean"] = clamped_hmean(both) if known else None
        means[f"{metric}_source_hmean"] = clamped_hmean(source) if known else None
        means[f"{metric}_target_hmean"] = clamped_hmean(target) if known else None
    pauc = per_machine["pauc"]
    means |= {
        "auc_source_amean": float(np.mean(per_machine["auc_source"])),
        "auc_target_amean": float(np.mean(per_machine["auc_target"])),
        "pauc_amean": float(np.mean(pauc)),
        "pauc_hmean": clamped_hmean(pauc),
        "official_score_amean": float(np.mean([*per_machine["auc_source"], *per_machine["auc_target"], *pauc])),
    }
    return {name: means[name] for name in MEAN_NAMES}


def mean_rows(columns: Mapping[str, Sequence[float | None]], split: int) -> dict[str, float | None]:
    """The evaluators' four mean rows over the values of each column (metric -> its values in their report's
    order): ``<metric>_amean`` and ``<metric>_hmean`` of every value, ``<metric>_source_hmean`` of the first
    ``split`` values and ``<metric>_target_hmean`` of the others, harmonic means clamped at epsilon.

    The 2021 and 2022 evaluators' per-machine rows split their values by position, not by domain
    (:mod:`asdbench.scoring.reports`), so a "source" row may hold target values; ``split`` says where they cut. A row
    over no values (where the evaluators print nan) and a column some value of which is None (precision, recall and
    F1 without decision files) are None."""
    rows: dict[str, float | None] = {}
    for metric, values in columns.items():
        known = None not in values
        for row, chosen in (("amean", values), ("hmean", values), ("source_hmean", values[:split]),
                            ("target_hmean", values[split:])):
            if not known or not len(chosen):
                rows[f"{metric}_{row}"] = None
            else:
                rows[f"{metric}_{row}"] = float(np.mean(chosen)) if row == "amean" else clamped_hmean(chosen)
    return rows
