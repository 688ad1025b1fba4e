"""Run results written straight into a store, without training: each run's report computed by
asdbench.scoring.metrics from scores drawn for it, so that tables and exports can be checked against the reports."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from asdbench.grid.expand import Grid
from asdbench.scoring.metrics import EvaluationReport, evaluate_frame
from asdbench.store.layout import RESULTS
from asdbench.store.store import Store

MACHINES = ("fan", "valve")


def report(seed: int) -> EvaluationReport:
    """A split of two machines, 24 clips each, both domains and labels, scores and decisions drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    test = pd.DataFrame([{"file": f"section_00_{i:04d}.wav", "machine": machine, "section": "00", "path": "x",
                          "label": "anomaly" if i % 3 == 0 else "normal", "domain": "target" if i % 2 else "source"}
                         for machine in MACHINES for i in range(24)])
    scores = test[["machine", "section", "file"]].assign(score=rng.random(len(test)) + 0.4 * test["label"].eq("anomaly"))
    decisions = scores[["machine", "section", "file"]].assign(decision=(scores["score"] > 0.8).astype(int))
    return evaluate_frame(test, scores, decisions)


def store_reports(grid: Grid, store: Store, seed_of=lambda index, number: 10 * index + number
                  ) -> dict[str, dict[str, EvaluationReport]]:
    """Write a ``results.json`` (and ``code.json``) for every run of ``grid``: its split number ``number`` of run
    ``index`` gets ``report(seed_of(index, number))``; returns the reports by run hash and split."""
    reports = {}
    for index, run in enumerate(grid.runs):
        splits = {split: report(seed_of(index, number)) for number, split in enumerate(run.spec.dataset["splits"])}
        reports[run.spec.hash] = splits
        directory = store.directory(run.spec)
        directory.mkdir(parents=True)
        (directory / RESULTS).write_text(json.dumps({
            "training": run.spec.training_hash, "scoring": run.spec.scoring_hash, "score_files": {s: [] for s in splits},
            "splits": {s: r.to_dict() for s, r in splits.items()}}))
        (directory / "code.json").write_text(json.dumps({"stage": "scoring", "distributions": {}}))
    return reports
