"""The official DCASE 2023/2024 Task 2 metrics, as the organisers' evaluators (nttcslab-sp) compute them.

Per machine (section 00):

- AUC (source): source-domain normal clips against ALL anomalous clips of both domains;
- AUC (target): target-domain normal clips against all anomalous clips;
- pAUC: over all test clips, ``roc_auc_score(max_fpr=0.1)`` (McClish-standardised partial AUC);
- precision / recall / F1 per domain from the decision files (that domain's clips, anomaly = positive), with
  denominators clamped below at machine epsilon;
- the machine's harmonic mean of its AUC (source), AUC (target) and pAUC.

The official score of a split is the harmonic mean of every machine's AUC (source), AUC (target) and pAUC
together, each clamped below at machine epsilon. Both years' evaluators compute these the same way.
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
    for domain, in_domain in (("source", ~is_target), ("target", is_target)):
        if not (in_domain & ~is_anomaly).any():
            raise ScoreFileError(f"{machine}: no {domain}-domain normal test clips; AUC ({domain}) is undefined")
    if not is_anomaly.any():
        raise ScoreFileError(f"{machine}: no anomalous test clips; AUCs are undefined")
    auc = {}
    for domain, in_domain in (("source", ~is_target), ("target", is_target)):
        selected = in_domain | is_anomaly
        auc[domain] = float(roc_auc_score(is_anomaly[selected], scores[selected]))
    pauc = float(roc_auc_score(is_anomaly, scores, max_fpr=MAX_FPR))
    detection: dict[str, float] = {}
    if decisions is not None:
        decisions = np.asarray(decisions, dtype=int)
        for domain, in_domain in (("source", ~is_target), ("target", is_target)):
            detection.update(_detection(is_anomaly[in_domain], decisions[in_domain], domain))
    return MachineScores(machine, section, auc["source"], auc["target"], pauc,
                         clamped_hmean([auc["source"], auc["target"], pauc]), **detection)


def _detection(truth: np.ndarray, decided: np.ndarray, domain: str) -> dict[str, float]:
    true_positive = int(np.sum(truth & (decided == 1)))
    false_positive = int(np.sum(~truth & (decided == 1)))
    false_negative = int(np.sum(truth & (decided == 0)))
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
    """Metrics from aligned frames: ``scores`` (file, machine, score), ``decisions`` (file, machine, decision)."""
    unknown = test_manifest[test_manifest["label"] == "unknown"]
    if len(unknown):
        raise ScoreFileError(
            f"no ground truth for {len(unknown)} test clips (e.g. {unknown['path'].iloc[0]}); "
            "pass the evaluator's ground-truth folder (--ground-truth)"
        )
    results = []
    for machine, rows in test_manifest.groupby("machine", sort=True):
        merged = rows.merge(scores, on=["machine", "file"], how="left", validate="one_to_one")
        decided = None
        if decisions is not None:
            decided = rows.merge(decisions, on=["machine", "file"], how="left")["decision"].to_numpy()
        results.append(machine_metrics(
            merged["label"].eq("anomaly").to_numpy(), merged["domain"].eq("target").to_numpy(),
            merged["score"].to_numpy(), decided, machine=str(machine), section=str(rows["section"].iloc[0]),
        ))
    return EvaluationReport(results, official_score(results))
