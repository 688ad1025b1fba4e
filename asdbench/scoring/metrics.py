"""The DCASE 2023-2025 Task 2 evaluators' report (nttcslab's ``dcase202X_task2_evaluator.py``), per machine and
per split; docs/metrics.md says where each formula comes from.

Per machine (section 00):

- AUC (all): every test clip, both domains (ASDKit's ``mix_auc``);
- AUC (source): source-domain normal clips against ALL anomalous clips of both domains (ASDKit's ``smix_auc``);
- AUC (target): target-domain normal clips against all anomalous clips (ASDKit's ``tmix_auc``);
- pAUC: over all test clips, ``roc_auc_score(max_fpr=0.1)`` (McClish-standardised partial AUC);
- precision / recall / F1 per domain from the decision files (that domain's clips, anomaly = positive), with
  denominators clamped below at machine epsilon;
- the machine's harmonic mean of its AUC (source), AUC (target) and pAUC (asdbench's summary, not the
  evaluators').

No evaluator reports an AUC of one domain's normal clips against that domain's anomalies only (ASDKit's
``s_auc`` / ``t_auc``), so asdbench does not either.

Per split: the official score, the harmonic mean of every machine's AUC (source), AUC (target) and pAUC
together, each clamped below at machine epsilon; the means of the evaluators' last rows (:mod:`asdbench.scoring.means`);
and their "official score ci95" (:mod:`asdbench.scoring.jackknife`). The 2023 and 2024 evaluators differ only in their
machine lists, and this module agrees with both to float64 rounding (tests/test_evaluator_report.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from tabulate import tabulate

from asdbench.errors import ScoreFileError
from asdbench.scoring.jackknife import official_ci95
from asdbench.scoring.means import COLUMNS, EPSILON, MEAN_NAMES, ROWS, clamped_hmean, mean_name, report_means

MAX_FPR = 0.1


@dataclass(frozen=True)
class MachineScores:
    machine: str
    section: str
    auc_source: float
    auc_target: float
    pauc: float
    hmean: float
    precision_source: float | None = None
    precision_target: float | None = None
    recall_source: float | None = None
    recall_target: float | None = None
    f1_source: float | None = None
    f1_target: float | None = None
    auc_all: float | None = None  # None only where unknown: a report built from published per-domain figures


def machine_metrics(is_anomaly: np.ndarray, is_target: np.ndarray, scores: np.ndarray,
                    decisions: np.ndarray | None = None, *, machine: str, section: str = "00") -> MachineScores:
    """The official metrics of one machine and section; arrays are aligned per test clip."""
    is_anomaly, is_target = np.asarray(is_anomaly, bool), np.asarray(is_target, bool)
    scores = np.asarray(scores, dtype=float)
    decisions = None if decisions is None else np.asarray(decisions)
    _check_inputs(is_anomaly, is_target, scores, decisions, machine)
    domains = {"source": ~is_target, "target": is_target}
    auc = {domain: float(roc_auc_score(is_anomaly[in_domain | is_anomaly], scores[in_domain | is_anomaly]))
           for domain, in_domain in domains.items()}
    pauc = float(roc_auc_score(is_anomaly, scores, max_fpr=MAX_FPR))
    auc_all = float(roc_auc_score(is_anomaly, scores))
    detection: dict[str, float] = {}
    if decisions is not None:
        for domain, in_domain in domains.items():
            detection.update(detection_metrics(is_anomaly[in_domain], decisions[in_domain] == 1, domain))
    return MachineScores(machine, section, auc["source"], auc["target"], pauc,
                         clamped_hmean([auc["source"], auc["target"], pauc]), **detection, auc_all=auc_all)


def _check_inputs(is_anomaly: np.ndarray, is_target: np.ndarray, scores: np.ndarray,
                  decisions: np.ndarray | None, machine: str) -> None:
    lengths = {len(is_anomaly), len(is_target), len(scores)} | ({len(decisions)} if decisions is not None else set())
    if len(lengths) != 1:
        raise ScoreFileError(f"{machine}: labels, domains, scores and decisions differ in length")
    if not np.isfinite(scores).all():
        raise ScoreFileError(f"{machine}: scores must be finite")
    if decisions is not None and not np.isin(decisions, (0, 1)).all():
        raise ScoreFileError(f"{machine}: decisions must be 0 (normal) or 1 (anomalous)")
    for domain, in_domain in (("source", ~is_target), ("target", is_target)):
        if not (in_domain & ~is_anomaly).any():
            raise ScoreFileError(f"{machine}: no {domain}-domain normal test clips; AUC ({domain}) is undefined")
    if not is_anomaly.any():
        raise ScoreFileError(f"{machine}: no anomalous test clips; AUCs are undefined")


def detection_metrics(truth: np.ndarray, decided: np.ndarray, domain: str) -> dict[str, float]:
    """Precision, recall and F1 with anomalies as positives; denominators clamped at epsilon, as officially."""
    true_positive = int(np.sum(truth & decided))
    false_positive = int(np.sum(~truth & decided))
    false_negative = int(np.sum(truth & ~decided))
    precision = true_positive / max(true_positive + false_positive, EPSILON)
    recall = true_positive / max(true_positive + false_negative, EPSILON)
    f1 = 2.0 * precision * recall / max(precision + recall, EPSILON)
    return {f"precision_{domain}": precision, f"recall_{domain}": recall, f"f1_{domain}": f1}


def official_score(results: Sequence[MachineScores]) -> float:
    """Harmonic mean over all machines' AUC (source), AUC (target) and pAUC, each clamped at epsilon."""
    if not results:
        raise ScoreFileError("no machines to score")
    return clamped_hmean([v for r in results for v in (r.auc_source, r.auc_target, r.pauc)])


DETECTION_FIELDS = tuple(f"{kind}_{domain}" for kind in ("precision", "recall", "f1")
                         for domain in ("source", "target"))
MACHINE_COLUMNS = {"auc_all": "AUC (all)", "auc_source": "AUC (source)", "auc_target": "AUC (target)",
                   "pauc": "pAUC", "hmean": "hmean",
                   **{f"{kind}_{domain}": f"{label} ({domain})" for kind, label in (("precision", "P"),
                      ("recall", "R"), ("f1", "F1")) for domain in ("source", "target")}}
"""The per-machine table's columns: field -> header (P, R: precision, recall)."""


@dataclass(frozen=True)
class EvaluationReport:
    """Per-machine metrics of one split, its official score, the evaluators' "official score ci95" (None where
    undefined) and the means of their report (computed from the machines, the one source of every value).

    The class attributes are what every official report has (:mod:`asdbench.scoring.official`): the name of the
    report (a key of :data:`asdbench.data.years.METRICS`; a stored report without ``metric`` is this one), the type of
    its per-unit values, what a unit's number is called in tables (2020's are machine IDs, not sections), the per-unit
    values whose clamped harmonic mean is the unit's ``hmean`` and, over units, the official score, the split values
    it can hold, and the unit values every stored report of it holds as numbers (precision, recall and F1 are None
    without decision files)."""

    METRIC: ClassVar[str] = "dcase2023"
    UNIT: ClassVar[type] = MachineScores
    UNIT_WORD: ClassVar[str] = "section"
    SCORE_FIELDS: ClassVar[tuple[str, ...]] = ("auc_source", "auc_target", "pauc")
    SPLIT_VALUES: ClassVar[tuple[str, ...]] = ("official_score", "official_score_ci95", *MEAN_NAMES)
    REQUIRED_UNIT_VALUES: ClassVar[tuple[str, ...]] = ("auc_all", "auc_source", "auc_target", "pauc", "hmean")

    machines: list[MachineScores]
    official_score: float
    official_score_ci95: float | None = None

    @classmethod
    def evaluate(cls, test_manifest: pd.DataFrame, scores: pd.DataFrame,
                 decisions: pd.DataFrame | None = None) -> EvaluationReport:
        """The report of the split whose test clips ``test_manifest`` holds (:func:`evaluate_frame`)."""
        report = evaluate_frame(test_manifest, scores, decisions)
        return cls(report.machines, report.official_score, report.official_score_ci95)

    @property
    def headline(self) -> tuple[str, float]:
        """What a summary shows of the split: (its name, its value), the official score."""
        return "official score", self.official_score

    @property
    def means(self) -> dict[str, float | None]:
        names = ["pauc", "auc_source", "auc_target", *DETECTION_FIELDS]
        return report_means({name: [getattr(m, name) for m in self.machines] for name in names})

    @property
    def per_machine(self) -> pd.DataFrame:
        """One row per machine section, indexed by machine where every machine has one section, else by (machine,
        section)."""
        frame = pd.DataFrame([asdict(m) for m in self.machines])
        return frame.set_index(["machine", "section"] if self._several_sections else "machine")

    @property
    def _several_sections(self) -> bool:
        return len({m.section for m in self.machines}) > 1

    def split_values(self) -> dict[str, float | None]:
        """The split's own values (not per machine): official score, its ci95, and every mean."""
        return {"official_score": self.official_score, "official_score_ci95": self.official_score_ci95,
                **self.means}

    def to_dict(self) -> dict[str, Any]:
        return {"official_score": self.official_score, "official_score_ci95": self.official_score_ci95,
                "means": self.means, "machines": [asdict(m) for m in self.machines]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvaluationReport:
        names = {f.name for f in fields(MachineScores)}
        machines = [MachineScores(**{k: v for k, v in m.items() if k in names}) for m in data["machines"]]
        return cls(machines, float(data["official_score"]), data["official_score_ci95"])

    def to_markdown(self) -> str:
        """The per-machine table, the evaluators' mean rows, the official score and its ci95 (percent)."""
        return f"{self._machine_table()}\n\n{self._means_table()}\n\n{self._score_lines()}"

    def _machine_table(self) -> str:
        columns = [c for c in MACHINE_COLUMNS if all(getattr(m, c) is not None for m in self.machines)]
        sections = self._several_sections
        rows = [[m.machine, *([m.section] if sections else [])] + [100 * getattr(m, c) for c in columns]
                for m in self.machines]
        headers = ["machine", *(["section"] if sections else []), *(MACHINE_COLUMNS[c] for c in columns)]
        machines = tabulate(rows, headers=headers, tablefmt="github", floatfmt=".2f", disable_numparse=[1] if sections
                            else False)
        return (f"{machines}\n\nAUC (source), AUC (target): that domain's normal clips against all anomalous "
                f"clips; AUC (all), pAUC: all clips.")

    def _means_table(self) -> str:
        means = self.means
        metrics = [m for m in COLUMNS if means[mean_name(m, "hmean")] is not None]
        mean_rows = [[label] + [100 * means[mean_name(m, row)] for m in metrics] for row, label in ROWS.items()]
        return tabulate(mean_rows, headers=["over machines and domains"] + [COLUMNS[m] for m in metrics],
                        tablefmt="github", floatfmt=".2f")

    def _score_lines(self) -> str:
        ci95 = ("n/a" if self.official_score_ci95 is None
                else f"{100 * self.official_score_ci95:.3g} (points of percent; the evaluators' pooled-clip "
                     "jackknife, see docs/metrics.md)")
        return (f"official score: {100 * self.official_score:.2f} "
                f"(arithmetic mean of its values: {100 * self.means['official_score_amean']:.2f})\n"
                f"official score ci95: {ci95}")


def evaluate_frame(test_manifest: pd.DataFrame, scores: pd.DataFrame,
                   decisions: pd.DataFrame | None = None) -> EvaluationReport:
    """Metrics from frames keyed by (machine, section, file): ``scores`` has a score column, ``decisions`` a decision
    one.

    Every test clip of the manifest needs exactly one row in each frame given.
    """
    require_ground_truth(test_manifest)
    results, anomalous, scored = [], [], []
    for (machine, section), rows in test_manifest.groupby(["machine", "section"], sort=True):
        decided = None if decisions is None else aligned(rows, decisions, "decision")
        anomalous.append(rows["label"].eq("anomaly").to_numpy())
        scored.append(aligned(rows, scores, "score"))
        results.append(machine_metrics(anomalous[-1], rows["domain"].eq("target").to_numpy(), scored[-1], decided,
                                       machine=str(machine), section=str(section)))
    ci95 = official_ci95(np.concatenate(anomalous), np.concatenate(scored), MAX_FPR)
    return EvaluationReport(results, official_score(results), ci95)


def require_ground_truth(test_manifest: pd.DataFrame) -> None:
    """Refuse test clips without a label: an eval split read without the evaluator's ground truth."""
    unknown = test_manifest[test_manifest["label"] == "unknown"]
    if len(unknown):
        raise ScoreFileError(
            f"no ground truth for {len(unknown)} test clips (e.g. {unknown['path'].iloc[0]}); "
            "pass the evaluator's ground-truth folder (--ground-truth)"
        )


def aligned(rows: pd.DataFrame, frame: pd.DataFrame, column: str) -> np.ndarray:
    """``frame[column]`` in the order of ``rows``, matched on (machine, section, file): each clip exactly once."""
    keys = ["machine", "section", "file"]
    machine = f"{rows['machine'].iloc[0]} section {rows['section'].iloc[0]}"
    merged = rows[keys].merge(frame[keys + [column]], on=keys, how="left", indicator=True)
    if len(merged) != len(rows):
        twice = merged.loc[merged.duplicated(keys), "file"].iloc[0]
        raise ScoreFileError(f"{column}s: {twice} ({machine}) has more than one row")
    missing = merged.loc[merged["_merge"] == "left_only", "file"].tolist()
    if missing:
        raise ScoreFileError(f"{column}s: {len(missing)} test clips of {machine} have none "
                             f"(e.g. {', '.join(missing[:3])})")
    return merged[column].to_numpy(dtype=float)
