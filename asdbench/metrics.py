"""The official DCASE 2023/2024 Task 2 metrics, as the organisers' evaluators (nttcslab-sp) compute them.

Per machine (section 00):

- AUC (source): source-domain normal clips against ALL anomalous clips of both domains;
- AUC (target): target-domain normal clips against all anomalous clips;
- pAUC: over all test clips, ``roc_auc_score(max_fpr=0.1)`` (McClish-standardised partial AUC);
- precision / recall / F1 per domain from the decision files (that domain's clips, anomaly = positive), with
  denominators clamped below at machine epsilon;
- the machine's harmonic mean of its AUC (source), AUC (target) and pAUC.

The official score of a split is the harmonic mean of every machine's AUC (source), AUC (target) and pAUC
together, each clamped below at machine epsilon. The 2023 and 2024 evaluators differ only in their machine
lists, and this module agrees with both to within 3e-16 (checked on their real ground truth with tied scores).
The per-machine ``hmean`` is asdbench's summary; the evaluator's result CSV averages AUCs and pAUCs separately.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
import pandas as pd
import scipy.stats
from sklearn.metrics import roc_auc_score
from tabulate import tabulate

from asdbench.errors import ScoreFileError

MAX_FPR = 0.1
EPSILON = sys.float_info.epsilon


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


def clamped_hmean(values: Sequence[float]) -> float:
    return float(scipy.stats.hmean(np.maximum(np.asarray(values, dtype=float), EPSILON)))


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
    detection: dict[str, float] = {}
    if decisions is not None:
        for domain, in_domain in domains.items():
            detection.update(_detection(is_anomaly[in_domain], decisions[in_domain] == 1, domain))
    return MachineScores(machine, section, auc["source"], auc["target"], pauc,
                         clamped_hmean([auc["source"], auc["target"], pauc]), **detection)


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


def _detection(truth: np.ndarray, decided: np.ndarray, domain: str) -> dict[str, float]:
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


@dataclass(frozen=True)
class EvaluationReport:
    """Per-machine metrics of one split and its official score."""

    machines: list[MachineScores]
    official_score: float

    @property
    def per_machine(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(m) for m in self.machines]).set_index("machine")

    def to_dict(self) -> dict[str, Any]:
        return {"official_score": self.official_score, "machines": [asdict(m) for m in self.machines]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvaluationReport:
        names = {f.name for f in fields(MachineScores)}
        machines = [MachineScores(**{k: v for k, v in m.items() if k in names}) for m in data["machines"]]
        return cls(machines, float(data["official_score"]))

    def to_markdown(self) -> str:
        columns = ["auc_source", "auc_target", "pauc", "hmean"]
        if all(m.f1_source is not None for m in self.machines):
            columns += ["f1_source", "f1_target"]
        headers = ["machine", "AUC (source)", "AUC (target)", "pAUC", "hmean", "F1 (source)", "F1 (target)"]
        rows = [[m.machine] + [100 * getattr(m, c) for c in columns] for m in self.machines]
        table = tabulate(rows, headers=headers[: len(columns) + 1], tablefmt="github", floatfmt=".2f")
        return f"{table}\n\nofficial score: {100 * self.official_score:.2f}"


def evaluate_frame(test_manifest: pd.DataFrame, scores: pd.DataFrame,
                   decisions: pd.DataFrame | None = None) -> EvaluationReport:
    """Metrics from frames keyed by (machine, file): ``scores`` has a score column, ``decisions`` a decision one.

    Every test clip of the manifest needs exactly one row in each frame given.
    """
    unknown = test_manifest[test_manifest["label"] == "unknown"]
    if len(unknown):
        raise ScoreFileError(
            f"no ground truth for {len(unknown)} test clips (e.g. {unknown['path'].iloc[0]}); "
            "pass the evaluator's ground-truth folder (--ground-truth)"
        )
    results = []
    for (machine, section), rows in test_manifest.groupby(["machine", "section"], sort=True):
        decided = None if decisions is None else _aligned(rows, decisions, "decision")
        results.append(machine_metrics(
            rows["label"].eq("anomaly").to_numpy(), rows["domain"].eq("target").to_numpy(),
            _aligned(rows, scores, "score"), decided, machine=str(machine), section=str(section),
        ))
    return EvaluationReport(results, official_score(results))


def _aligned(rows: pd.DataFrame, frame: pd.DataFrame, column: str) -> np.ndarray:
    """``frame[column]`` in the order of ``rows``, matched on (machine, file): each clip exactly once."""
    keys = ["machine", "file"]
    machine = rows["machine"].iloc[0]
    merged = rows[keys].merge(frame[keys + [column]], on=keys, how="left", indicator=True)
    if len(merged) != len(rows):
        twice = merged.loc[merged.duplicated(keys), "file"].iloc[0]
        raise ScoreFileError(f"{column}s: {twice} ({machine}) has more than one row")
    missing = merged.loc[merged["_merge"] == "left_only", "file"].tolist()
    if missing:
        raise ScoreFileError(f"{column}s: {len(missing)} test clips of {machine} have none "
                             f"(e.g. {', '.join(missing[:3])})")
    return merged[column].to_numpy(dtype=float)
