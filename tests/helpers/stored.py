"""Run results written straight into a store, without training: each run's report computed by
asdbench.scoring.metrics from scores drawn for it, so that tables and exports can be checked against the reports."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from asdbench.grid.expand import Grid
from asdbench.scoring.metrics import EvaluationReport, evaluate_frame
from asdbench.store.layout import RESULTS
from asdbench.store.store import Store

MACHINES = ("fan", "valve")

TWO_TABLES = """
[[table]]
rows = "system"
columns = "split"

[[table]]
rows = "system"
columns = ["split", "machine"]
value = "hmean"
aggregate = "hmean"
"""
"""A grid's two tables: official score by system and split, and each machine's hmean with their hmean per split."""


def report(seed: int) -> EvaluationReport:
    """A split of two machines, 24 clips each, both domains and labels, scores and decisions drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    test = pd.DataFrame([{"file": f"section_00_{i:04d}.wav", "machine": machine, "section": "00", "path": "x",
                          "label": "anomaly" if i % 3 == 0 else "normal", "domain": "target" if i % 2 else "source"}
                         for machine in MACHINES for i in range(24)])
    scores = test[["machine", "section", "file"]].assign(score=rng.random(len(test)) + 0.4 * test["label"].eq("anomaly"))
    decisions = scores[["machine", "section", "file"]].assign(decision=(scores["score"] > 0.8).astype(int))
    return evaluate_frame(test, scores, decisions)


def store_reports(grid: Grid, store: Store,
                  report_for: Callable[[int, int], Any] = lambda index, number: report(10 * index + number)
                  ) -> dict[str, dict[str, Any]]:
    """Write a ``results.json`` (and ``code.json``) for every run of ``grid``: split number ``number`` of run
    ``index`` gets ``report_for(index, number)`` (by default :func:`report` of seed ``10 * index + number``; any
    report with ``to_dict``, an earlier year's too); returns the reports by run hash and split."""
    reports = {}
    for index, run in enumerate(grid.runs):
        splits = {split: report_for(index, number) for number, split in enumerate(run.spec.dataset["splits"])}
        reports[run.spec.hash] = splits
        directory = store.directory(run.spec)
        directory.mkdir(parents=True)
        (directory / RESULTS).write_text(json.dumps({
            "training": run.spec.training_hash, "scoring": run.spec.scoring_hash, "score_files": {s: [] for s in splits},
            "splits": {s: r.to_dict() for s, r in splits.items()}}))
        (directory / "code.json").write_text(json.dumps({"stage": "scoring", "distributions": {}}))
    return reports


def space_file(directory: Path, reducer: str = "umap", clusters: int = 3, name: str = "dev.fan.00",
               dimensions: int = 2) -> Path:
    """A pseudo-label table's space file of 40 training clips (30 source, 10 target) in ``directory``, as
    asdbench.pseudolabel.labelling writes one; ``dimensions`` 1 for a feature space that names classes directly."""
    (directory / "spaces").mkdir(parents=True, exist_ok=True)
    (directory / "spec.json").write_text(json.dumps({"pseudolabel": {
        "feature_space": {"name": "triplet", "epochs": 1}, "reducer": {"name": reducer}}}))
    count = 40
    domains = np.array(["source"] * 30 + ["target"] * 10)
    labels = np.array([f"pseudo/dev/fan/00/{d}/{i % clusters}" for i, d in enumerate(domains)])
    path = directory / "spaces" / f"{name}.npz"
    np.savez(path, coordinates=np.random.default_rng(0).normal(size=(count, dimensions)), files=np.arange(count),
             domains=domains, truth=np.array([""] * count), labels=labels)
    return path
