"""The DCASE 2021 Task 2 evaluator's report (y-kawagu/dcase2021_task2_evaluator, ``dcase2021_task2_evaluator.py``;
docs/metrics.md gives the commit and lines).

The 2021 test clips of a section lie in two folders, ``source_test/`` and ``target_test/``, and are submitted in a
score and a decision file per domain (layout ``section-domain``, :mod:`asdbench.scoring.scorefiles`). Every figure
is WITHIN one domain: per machine, section and domain,

- AUC and pAUC (``max_fpr=0.1``, McClish-standardised) of that domain's normal clips against that domain's
  anomalous clips (ASDKit's ``s_auc``, ``t_auc``, ``s_pauc``, ``t_pauc``), unlike 2022-2025, whose AUC (source) sets
  the source normals against the anomalies of both domains;
- precision, recall and F1 of that domain's decisions.

Per machine type the evaluator prints four mean rows over its section rows (the source rows of every section,
then the target rows): the arithmetic and harmonic means of all, and a "source" and a "target harmonic mean" that
cut the rows at ``len(machine types) // 2`` -- the number of MACHINE TYPES halved, not of sections. With the seven
machine types of the real ground truth that is 3, the number of sections, so its real rows are the domains' by
coincidence; with another number of machine types they are not. asdbench reproduces the cut on purpose, as the
evaluator prints it (:func:`machine_means`).

Over all machine types: the same four rows over every (machine, section, domain) row, the source and target rows
over each domain's rows (no cut there), and the official score: the harmonic mean of every AUC and every pAUC
together (84 values on the real data), each clamped below at machine epsilon. The evaluator prints no ci95.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from asdbench.errors import ScoreFileError
from asdbench.scoring.means import clamped_hmean, mean_rows
from asdbench.scoring.metrics import MAX_FPR, aligned, detection_metrics, require_ground_truth
from asdbench.scoring.reports.tables import mean_headers, mean_rows_table, percent_table

DOMAINS = ("source", "target")
METRICS = ("auc", "pauc", "precision", "recall", "f1")
"""The evaluator's columns, in its order (AUC, pAUC, precision, recall, F1 score)."""
MEAN_NAMES = tuple(f"{metric}_{row}" for metric in METRICS for row in ("amean", "hmean", "source_hmean",
                                                                       "target_hmean"))
"""The split's means: the evaluator's rows "... over all machine types, sections, and domains", by column."""


@dataclass(frozen=True)
class SectionScores:
    """One section of one machine type: each domain's figures, within the domain."""

    machine: str
    section: str
    auc_source: float
    auc_target: float
    pauc_source: float
    pauc_target: float
    hmean: float
    """asdbench's summary of the section: the clamped harmonic mean of its two AUCs and two pAUCs."""
    precision_source: float | None = None
    precision_target: float | None = None
    recall_source: float | None = None
    recall_target: float | None = None
    f1_source: float | None = None
    f1_target: float | None = None

    def domain_values(self, domain: str) -> dict[str, float | None]:
        """The evaluator's row of ``domain``: metric -> value."""
        return {metric: getattr(self, f"{metric}_{domain}") for metric in METRICS}


def section_metrics(is_anomaly: np.ndarray, is_target: np.ndarray, scores: np.ndarray,
                    decisions: np.ndarray | None = None, *, machine: str, section: str) -> SectionScores:
    """The figures of one machine section; arrays are aligned per test clip."""
    is_anomaly, is_target = np.asarray(is_anomaly, bool), np.asarray(is_target, bool)
    scores = np.asarray(scores, dtype=float)
    where = f"{machine} section {section}"
    if not np.isfinite(scores).all():
        raise ScoreFileError(f"{where}: scores must be finite")
    if decisions is not None and not np.isin(decisions, (0, 1)).all():
        raise ScoreFileError(f"{where}: decisions must be 0 (normal) or 1 (anomalous)")
    values: dict[str, float] = {}
    for domain, in_domain in zip(DOMAINS, (~is_target, is_target)):
        truth = is_anomaly[in_domain]
        if truth.all() or not truth.any():
            lacking = "normal" if truth.any() else "anomalous"
            raise ScoreFileError(f"{where}: no {domain}-domain {lacking} test clips; the 2021 AUC and pAUC of a "
                                 "domain are of its own normal and anomalous clips")
        values[f"auc_{domain}"] = float(roc_auc_score(truth, scores[in_domain]))
        values[f"pauc_{domain}"] = float(roc_auc_score(truth, scores[in_domain], max_fpr=MAX_FPR))
        if decisions is not None:
            values |= detection_metrics(truth, np.asarray(decisions)[in_domain] == 1, domain)
    hmean = clamped_hmean([values[f"{metric}_{domain}"] for metric in ("auc", "pauc") for domain in DOMAINS])
    return SectionScores(machine, section, hmean=hmean, **values)


@dataclass(frozen=True)
class Dcase2021Report:
    """The 2021 evaluator's report of one split: its section rows (computed from the machine sections, the one
    source of every value), each machine type's mean rows, the mean rows over all and the official score."""

    METRIC: ClassVar[str] = "dcase2021"
    UNIT: ClassVar[type] = SectionScores
    UNIT_WORD: ClassVar[str] = "section"
    SCORE_FIELDS: ClassVar[tuple[str, ...]] = ("auc_source", "auc_target", "pauc_source", "pauc_target")
    SPLIT_VALUES: ClassVar[tuple[str, ...]] = ("official_score", *MEAN_NAMES)
    REQUIRED_UNIT_VALUES: ClassVar[tuple[str, ...]] = (*SCORE_FIELDS, "hmean")

    machines: list[SectionScores]

    @classmethod
    def evaluate(cls, test_manifest: pd.DataFrame, scores: pd.DataFrame,
                 decisions: pd.DataFrame | None = None) -> Dcase2021Report:
        """The report of the split whose test clips ``test_manifest`` holds, from frames keyed by (machine,
        section, file); every test clip needs exactly one row in each frame given, and a known domain."""
        require_ground_truth(test_manifest)
        unknown = test_manifest[~test_manifest["domain"].isin(DOMAINS)]
        if len(unknown):
            raise ScoreFileError(f"{len(unknown)} test clips of unknown domain (e.g. {unknown['file'].iloc[0]}); "
                                 "the 2021 report is per domain")
        sections = []
        for (machine, section), rows in test_manifest.groupby(["machine", "section"], sort=True):
            decided = None if decisions is None else aligned(rows, decisions, "decision")
            sections.append(section_metrics(rows["label"].eq("anomaly").to_numpy(),
                                            rows["domain"].eq("target").to_numpy(), aligned(rows, scores, "score"),
                                            decided, machine=str(machine), section=str(section)))
        return cls(sections)

    @property
    def official_score(self) -> float:
        """The harmonic mean of every section's and domain's AUC and pAUC, each clamped at epsilon."""
        if not self.machines:
            raise ScoreFileError("no machines to score")
        return clamped_hmean([getattr(s, name) for s in self.machines for name in self.SCORE_FIELDS])

    @property
    def official_score_ci95(self) -> None:
        """The 2021 evaluator prints no ci95."""
        return None

    @property
    def headline(self) -> tuple[str, float]:
        return "official score", self.official_score

    def rows(self, machine: str) -> list[tuple[SectionScores, str]]:
        """A machine type's section rows in the evaluator's order: every section's source row, then every
        section's target row."""
        sections = sorted((s for s in self.machines if s.machine == machine), key=lambda s: s.section)
        return [(section, domain) for domain in DOMAINS for section in sections]

    @property
    def machine_types(self) -> list[str]:
        """The machine types in the evaluator's order (sorted, upper case first)."""
        return sorted({s.machine for s in self.machines})

    @property
    def machine_means(self) -> dict[str, dict[str, float | None]]:
        """Each machine type's four mean rows (``<metric>_<amean|hmean|source_hmean|target_hmean>``), its
        "source" and "target harmonic mean" cut at the number of machine types halved, as the evaluator cuts
        them (the module's doc)."""
        cut = len(self.machine_types) // 2
        return {machine: mean_rows({metric: [s.domain_values(d)[metric] for s, d in self.rows(machine)]
                                    for metric in METRICS}, cut)
                for machine in self.machine_types}

    @property
    def means(self) -> dict[str, float | None]:
        """The rows over all machine types, sections and domains; their source and target rows are each domain's."""
        columns = {metric: [s.domain_values(domain)[metric] for domain in DOMAINS for s in self.machines]
                   for metric in METRICS}
        return mean_rows(columns, len(self.machines))

    def split_values(self) -> dict[str, float | None]:
        return {"official_score": self.official_score, "official_score_ci95": None, **self.means}

    def to_dict(self) -> dict[str, Any]:
        return {"metric": self.METRIC, "official_score": self.official_score, "official_score_ci95": None,
                "means": self.means, "machine_means": self.machine_means,
                "machines": [asdict(s) for s in self.machines]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Dcase2021Report:
        names = {f.name for f in fields(SectionScores)}
        return cls([SectionScores(**{k: v for k, v in s.items() if k in names}) for s in data["machines"]])

    def to_markdown(self) -> str:
        """The evaluator's report in percent: section rows, each machine type's mean rows, the rows over all and
        the official score."""
        metrics = [m for m in METRICS if all(getattr(s, f"{m}_source") is not None for s in self.machines)]
        headers = mean_headers(metrics)
        sections = [[machine, section.section, domain, *(section.domain_values(domain)[m] for m in metrics)]
                    for machine in self.machine_types for section, domain in self.rows(machine)]
        machine_means = self.machine_means
        means = [row for machine in self.machine_types
                 for row in mean_rows_table(machine_means[machine], machine, metrics)]
        over_all = [row[1:] for row in mean_rows_table(self.means, "", metrics)]
        cut = len(self.machine_types) // 2
        return (f"{percent_table(sections, ['machine', 'section', 'domain', *headers], 3)}\n\n"
                "AUC, pAUC: the domain's normal clips against its anomalous clips.\n\n"
                f"{percent_table(means, ['machine', 'mean', *headers], 2)}\n\n"
                f"A machine type's source (target) harmonic mean is over its first {cut} rows (the others), as the "
                "2021 evaluator cuts them (at the number of machine types halved; docs/metrics.md).\n\n"
                f"{percent_table(over_all, ['over machines, sections and domains', *headers], 1)}\n\n"
                f"official score: {100 * self.official_score:.2f} (harmonic mean of every section's and domain's "
                "AUC and pAUC)")
