"""The DCASE 2020 Task 2 evaluator's report (y-kawagu/dcase2020_task2_evaluator, ``evaluator.py``; docs/metrics.md
gives the commit and lines), and the summary asdbench adds to it.

2020 has no sections and no domains: a clip's machine ID (``id_00`` ...) is its section in asdbench, and its score
file is ``anomaly_score_<machine>_id_<nn>.csv`` (layout ``id``, :mod:`asdbench.scoring.scorefiles`). The evaluator
prints, per machine type, each ID's AUC and pAUC (``max_fpr=0.1``, McClish-standardised) over all its test clips,
and an "Average" row: the arithmetic means of the IDs' AUCs and of their pAUCs. Nothing else: no harmonic mean, no
row over machine types, no official score.

The 2020 challenge ranked teams by a rule on their ranks over machine types and metrics, which the evaluator does
not hold and which a single system's figures cannot give (docs/metrics.md). So this report's ``official_score`` is
None, and its summary is named for what it is: ``auc_pauc_amean``, the arithmetic mean over machine types of each
type's mean of its IDs' AUCs and pAUCs together -- ASDKit's "official20", the figure 2020 results are compared by in
the literature that uses it. ``auc_amean`` and ``pauc_amean`` are the means over machine types of the "Average"
rows.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from asdbench.errors import ScoreFileError
from asdbench.scoring.means import clamped_hmean
from asdbench.scoring.metrics import MAX_FPR, aligned, require_ground_truth
from asdbench.scoring.reports.tables import percent_table

MEAN_NAMES = ("auc_amean", "pauc_amean", "auc_pauc_amean")
"""The split's means over machine types (none of them the evaluator's: it prints no row over machine types)."""
SUMMARY = "auc_pauc_amean"
SUMMARY_LABEL = "mean of AUC and pAUC over machine types (ASDKit's official20; 2020 has no official score)"


@dataclass(frozen=True)
class IdScores:
    """One machine ID of one machine type (asdbench's section)."""

    machine: str
    section: str
    """The machine ID: ``"01"`` for ``id_01``."""
    auc: float
    pauc: float
    hmean: float
    """asdbench's summary of the ID: the clamped harmonic mean of its AUC and pAUC."""


def id_metrics(is_anomaly: np.ndarray, scores: np.ndarray, *, machine: str, section: str) -> IdScores:
    """The figures of one machine ID; arrays are aligned per test clip."""
    is_anomaly, scores = np.asarray(is_anomaly, bool), np.asarray(scores, dtype=float)
    where = f"{machine} id_{section}"
    if not np.isfinite(scores).all():
        raise ScoreFileError(f"{where}: scores must be finite")
    if is_anomaly.all() or not is_anomaly.any():
        raise ScoreFileError(f"{where}: no {'normal' if is_anomaly.any() else 'anomalous'} test clips; AUCs are "
                             "undefined")
    auc = float(roc_auc_score(is_anomaly, scores))
    pauc = float(roc_auc_score(is_anomaly, scores, max_fpr=MAX_FPR))
    return IdScores(machine, section, auc, pauc, clamped_hmean([auc, pauc]))


@dataclass(frozen=True)
class Dcase2020Report:
    """The 2020 evaluator's report of one split (each ID's AUC and pAUC, each machine type's "Average" row), and
    asdbench's summary over machine types; computed from the IDs, the one source of every value."""

    METRIC: ClassVar[str] = "dcase2020"
    UNIT: ClassVar[type] = IdScores
    UNIT_WORD: ClassVar[str] = "id"
    SCORE_FIELDS: ClassVar[tuple[str, ...]] = ("auc", "pauc")
    SPLIT_VALUES: ClassVar[tuple[str, ...]] = MEAN_NAMES
    REQUIRED_UNIT_VALUES: ClassVar[tuple[str, ...]] = ("auc", "pauc", "hmean")

    machines: list[IdScores]

    @classmethod
    def evaluate(cls, test_manifest: pd.DataFrame, scores: pd.DataFrame,
                 decisions: pd.DataFrame | None = None) -> Dcase2020Report:
        """The report of the split whose test clips ``test_manifest`` holds, from frames keyed by (machine,
        section, file). 2020 had no decisions: ``decisions`` is ignored."""
        require_ground_truth(test_manifest)
        if test_manifest.empty:
            raise ScoreFileError("no machines to score")
        return cls([id_metrics(rows["label"].eq("anomaly").to_numpy(), aligned(rows, scores, "score"),
                               machine=str(machine), section=str(section))
                    for (machine, section), rows in test_manifest.groupby(["machine", "section"], sort=True)])

    @property
    def official_score(self) -> None:
        """None: the 2020 evaluator has no official score, and the challenge's rank rule needs every team."""
        return None

    @property
    def official_score_ci95(self) -> None:
        return None

    @property
    def machine_types(self) -> list[str]:
        return sorted({i.machine for i in self.machines})

    @property
    def machine_means(self) -> dict[str, dict[str, float]]:
        """Each machine type's "Average" row: the arithmetic means of its IDs' AUCs and pAUCs."""
        return {machine: {f"{metric}_amean": float(np.mean([getattr(i, metric) for i in self.machines
                                                             if i.machine == machine]))
                          for metric in ("auc", "pauc")}
                for machine in self.machine_types}

    @property
    def means(self) -> dict[str, float]:
        averages = list(self.machine_means.values())
        auc = float(np.mean([a["auc_amean"] for a in averages]))
        pauc = float(np.mean([a["pauc_amean"] for a in averages]))
        both = float(np.mean([np.mean([a["auc_amean"], a["pauc_amean"]]) for a in averages]))
        return {"auc_amean": auc, "pauc_amean": pauc, "auc_pauc_amean": both}

    @property
    def headline(self) -> tuple[str, float]:
        """What a summary shows of the split: its named summary, there being no official score."""
        return SUMMARY_LABEL, self.means[SUMMARY]

    def split_values(self) -> dict[str, float | None]:
        return {"official_score": None, "official_score_ci95": None, **self.means}

    def to_dict(self) -> dict[str, Any]:
        return {"metric": self.METRIC, "official_score": None, "official_score_ci95": None, "means": self.means,
                "machine_means": self.machine_means, "machines": [asdict(i) for i in self.machines]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Dcase2020Report:
        names = {f.name for f in fields(IdScores)}
        return cls([IdScores(**{k: v for k, v in i.items() if k in names}) for i in data["machines"]])

    def to_markdown(self) -> str:
        """The evaluator's rows in percent (each ID, then its machine type's "Average"), and the summary."""
        averages = self.machine_means
        rows = []
        for machine in self.machine_types:
            ids = sorted((i for i in self.machines if i.machine == machine), key=lambda i: i.section)
            rows += [[machine, i.section, i.auc, i.pauc] for i in ids]
            rows.append([machine, "Average", averages[machine]["auc_amean"], averages[machine]["pauc_amean"]])
        means = self.means
        return (f"{percent_table(rows, ['machine', 'id', 'AUC', 'pAUC'], 2)}\n\n"
                f"mean over machine types of the Average rows: AUC {100 * means['auc_amean']:.2f}, pAUC "
                f"{100 * means['pauc_amean']:.2f}\n"
                f"official score: none (the 2020 evaluator defines none; the challenge ranked teams by their ranks: "
                f"docs/metrics.md)\n"
                f"{SUMMARY_LABEL}: {100 * means[SUMMARY]:.2f}")
