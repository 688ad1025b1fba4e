"""Scoring a training's stored embeddings: a backend per unit (a machine section of a split), a checkpoint
ensemble, decisions, metrics.

A clip's anomaly score is the mean over the ensemble checkpoints of its backend score; each checkpoint's
backend is fitted to that checkpoint's training embeddings of the unit. Decisions (normal/anomalous)
threshold each unit's scores at a quantile (``system.decision_quantile``, 0.9 by default) of a gamma
distribution fitted to its training clips' ensemble scores, as the DCASE baseline does. Nothing here needs
the model or the audio, so a backend or ensemble ablation costs seconds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.stats

from asdbench.contract.boundary import check_scores, plugin_call
from asdbench.contract.protocols import Backend
from asdbench.contract.registration import Registration
from asdbench.contract.registry import Registry
from asdbench.data.units import Unit
from asdbench.scoring.official import Report
from asdbench.scoring.scorefiles import evaluate_directory, layout_of, write_decisions, write_scores


@dataclass(frozen=True)
class CheckedBackend:
    """A registered backend whose calls are named in errors and whose scores are checked against the contract
    (one score per embedding, finite), so that a misbehaving plugin is one line naming it."""

    backend: Backend
    registration: Registration

    @classmethod
    def build(cls, registry: Registry, component: dict[str, Any]) -> CheckedBackend:
        return cls(registry.build("backends", component), registry.get("backends", component["name"]))

    @property
    def unit_class(self) -> bool:
        """Whether the backend is told its unit's class index (registered with ``unit_class=True``)."""
        return bool(self.registration.meta.get("unit_class"))

    def fit(self, embeddings: np.ndarray, domains: np.ndarray, class_index: int | None = None) -> None:
        if self.unit_class and class_index is None:
            raise ValueError(f"{self.registration.label} scores by the unit's class: fit needs its class_index")
        with plugin_call(self.registration, "fit"):
            if self.unit_class:
                self.backend.fit(embeddings, domains, class_index=class_index)
            else:
                self.backend.fit(embeddings, domains)

    def score(self, embeddings: np.ndarray) -> np.ndarray:
        with plugin_call(self.registration, "score"):
            scores = self.backend.score(embeddings)
        return check_scores(scores, len(embeddings), self.registration)


def ensemble_scores(
    embeddings: Sequence[Mapping[str, np.ndarray]],
    units: Sequence[Unit],
    make_backend: Callable[[], Backend | CheckedBackend],
    unit_classes: Mapping[str, int] | None = None,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(train, test) scores per unit key, averaged over the checkpoints' ``embeddings`` (one mapping per
    checkpoint, as :func:`asdbench.training.embed.embed_checkpoint` returns them). ``unit_classes``: each unit's
    class index by unit key, for a backend that scores by it (registered with ``unit_class=True``), which is then
    fitted with its unit's ``class_index``."""
    totals: dict[str, list[np.ndarray]] = {}
    for arrays in embeddings:
        for unit in units:
            train, test = arrays[unit.embedding_key("train")], arrays[unit.embedding_key("test")]
            backend = make_backend()
            told = {} if unit_classes is None else {"class_index": unit_classes[unit.key]}
            backend.fit(train, unit.train["domain"].to_numpy(), **told)
            scores = [np.asarray(backend.score(train), np.float64), np.asarray(backend.score(test), np.float64)]
            if unit.key in totals:
                totals[unit.key] = [t + s for t, s in zip(totals[unit.key], scores)]
            else:
                totals[unit.key] = scores
    count = len(embeddings)
    return {key: (train / count, test / count) for key, (train, test) in totals.items()}


def decision_threshold(train_scores: np.ndarray, quantile: float) -> float:
    """The ``quantile`` of a gamma distribution fitted to the training scores (the DCASE baseline's rule).

    Identical training scores have no spread to fit; every quantile of that (degenerate) distribution is the
    score itself, which is then the threshold.
    """
    if np.ptp(train_scores) == 0:
        return float(train_scores[0])
    shape, loc, scale = scipy.stats.gamma.fit(train_scores)
    return float(scipy.stats.gamma.ppf(quantile, shape, loc=loc, scale=scale))


def write_split(
    units: Sequence[Unit],
    scores: Mapping[str, tuple[np.ndarray, np.ndarray]],
    out_dir: Path,
    *,
    quantile: float,
    layout: str,
) -> None:
    """Official score files (and decision files, where the year's ``layout`` has them) for every unit of one split,
    named as ``layout`` (a key of :data:`asdbench.data.years.SCORE_FILES`) names them."""
    out_dir.mkdir(parents=True, exist_ok=True)
    decided = layout_of(layout).decisions
    for unit in units:
        train_scores, test_scores = scores[unit.key]
        rows = unit.test[["file", "domain"]]
        write_scores(out_dir, unit.machine, unit.section, rows.assign(score=test_scores), layout=layout)
        if decided:
            decisions = (test_scores > decision_threshold(train_scores, quantile)).astype(int)
            write_decisions(out_dir, unit.machine, unit.section, rows.assign(decision=decisions), layout=layout)


def evaluate_split(out_dir: Path, test_manifest: pd.DataFrame, *, metric: str, layout: str) -> Report | None:
    """The official report ``metric`` of one split's score files of ``layout``, or None where the split has no
    ground truth."""
    if (test_manifest["label"] == "unknown").any():
        return None
    return evaluate_directory(out_dir, test_manifest, metric=metric, layout=layout)
