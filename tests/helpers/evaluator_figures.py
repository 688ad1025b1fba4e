"""The official evaluators' figures (as tests/golden/evaluators/run_official.py writes them, in their labels) set
against `asdbench evaluate --json`: which of asdbench's values each of their labels is, and the comparison.

Shared by tests/test_evaluator_report.py (our inputs, the figures committed) and tests/test_real_evaluators.py
(the real ground truth, the evaluator run where present).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from asdbench.cli.main import main

TOLERANCE = {"abs": 1e-12}
"""Every figure but the ci95: AUCs, P/R/F1, means, official score. They differ by float64 rounding only (at most
1.1e-16 measured on the golden inputs)."""
CI95_TOLERANCE = {"rel": 1e-9}
"""The ci95: 2.3e-12 relative measured on the golden inputs, all of it SciPy's t quantile (t.ppf(0.025, 174) is
-1.9736914397514562 in SciPy 1.10.1, the evaluators' pin, and -1.9736914397560736 in 1.17.1)."""

MACHINE = {"AUC (all)": "auc_all", "AUC (source)": "auc_source", "AUC (target)": "auc_target", "pAUC": "pauc",
           "precision (source)": "precision_source", "precision (target)": "precision_target",
           "recall (source)": "recall_source", "recall (target)": "recall_target",
           "F1 score (source)": "f1_source", "F1 score (target)": "f1_target"}
"""Their section row's columns -> asdbench's per-machine fields."""
MEAN_ROWS = {"arithmetic mean": "amean", "harmonic mean": "hmean", "source harmonic mean": "source_hmean",
             "target harmonic mean": "target_hmean"}
MEAN_METRICS = {"AUC": "auc", "precision": "precision", "recall": "recall", "F1 score": "f1"}
PAPER = {"AUC (source)": ("auc_source", "auc_source_hmean", "auc_source_amean"),
         "AUC (target)": ("auc_target", "auc_target_hmean", "auc_target_amean"),
         "pAUC (source, target)": ("pauc", "pauc_hmean", "pauc_amean"),
         "TOTAL score": (None, "official_score", "official_score_amean")}
"""Their official_score_paper.csv rows -> (per-machine field, h-mean, a-mean) of asdbench."""


def mean_name(row: str, column: str) -> str:
    """asdbench's name of their mean row ``row`` (without " over all ...") in column ``column``: pAUC, listed
    for both domains, has its mean in the arithmetic row and its harmonic mean in the other three."""
    if column == "pAUC":
        return "pauc_amean" if row == "arithmetic mean" else "pauc_hmean"
    return f"{MEAN_METRICS[column]}_{MEAN_ROWS[row]}"


def evaluate_json(scores: Path, root: Path, year: int, ground_truth: Path, capsys) -> dict:
    """`asdbench evaluate --json` of a folder of submission files on an eval layout."""
    capsys.readouterr()
    assert main(["evaluate", str(scores), "--dataset-root", str(root), "--year", str(year), "--split", "eval",
                 "--ground-truth", str(ground_truth), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def pairs(report: dict, figures: dict) -> list[tuple[str, float, float]]:
    """(what, asdbench's value, the evaluator's) for every figure of one system's report."""
    machines = {m["machine"]: m for m in report["machines"]}
    assert set(machines) == set(figures["machines"])
    split = {"official_score": report["official_score"], **report["means"]}
    found = [(f"{machine} {label}", machines[machine][MACHINE[label]], value)
             for machine, row in figures["machines"].items() for label, value in row.items()]
    assert len(figures["means"]) == 4
    found += [(f"{row} {column}", split[mean_name(row.split(" over all")[0], column)], value)
              for row, columns in figures["means"].items() for column, value in columns.items()]
    found.append(("official score", report["official_score"], figures["official score"]))
    for metric, columns in figures["paper"].items():
        field, hmean, amean = PAPER[metric]
        found += [(f"paper {metric} h-mean", split[hmean], columns["h-mean"]),
                  (f"paper {metric} a-mean", split[amean], columns["a-mean"])]
        found += [(f"paper {metric} {machine}", machines[machine][field], value)
                  for machine, value in columns.items() if machine not in ("h-mean", "a-mean")]
    return found


def assert_equal(report: dict, figures: dict) -> None:
    """asdbench's report equals the evaluator's figures: every one to :data:`TOLERANCE`, the ci95 to
    :data:`CI95_TOLERANCE`."""
    found = pairs(report, figures)
    assert len(found) > 4 * len(figures["machines"]) + 20
    assert {what: ours for what, ours, _ in found} == {what: pytest.approx(theirs, **TOLERANCE)
                                                       for what, _, theirs in found}
    assert report["official_score_ci95"] == pytest.approx(figures["official score ci95"], **CI95_TOLERANCE)


# --- DCASE 2020-2022 (tests/golden/evaluators/run_earlier.py writes their figures) -----------------------------

COLUMNS_2021 = {"AUC": "auc", "pAUC": "pauc", "precision": "precision", "recall": "recall", "F1 score": "f1"}
"""The 2021 and 2022 evaluators' mean columns (and 2021's row columns) -> asdbench's metric names."""


def earlier_pairs(year: int, report: dict, figures: dict) -> list[tuple[str, object, object]]:
    """(what, asdbench's value, the evaluator's) for every figure the 2020, 2021 or 2022 evaluator printed of one
    system; a figure it printed as nan is None on both sides."""
    units = {(u["machine"], u["section"]): u for u in report["machines"]}
    machine_means = report["machine_means"]
    found: list[tuple[str, object, object]] = []
    if year == 2020:
        assert set(units) == {(m, i) for m, rows in figures["machines"].items() for i in rows["ids"]}
        for machine, rows in figures["machines"].items():
            for machine_id, row in rows["ids"].items():
                found += [(f"{machine} id {machine_id} AUC", units[machine, machine_id]["auc"], row["AUC"]),
                          (f"{machine} id {machine_id} pAUC", units[machine, machine_id]["pauc"], row["pAUC"])]
            found += [(f"{machine} Average {label}", machine_means[machine][f"{name}_amean"], rows["Average"][label])
                      for label, name in (("AUC", "auc"), ("pAUC", "pauc"))]
        return found
    for machine, rows in figures["machines"].items():
        if year == 2021:
            for key, row in rows["rows"].items():
                section, domain = key.split()
                found += [(f"{machine} {key} {label}", units[machine, section][f"{COLUMNS_2021[label]}_{domain}"], value)
                          for label, value in row.items()]
        else:
            for section, row in rows["sections"].items():
                found += [(f"{machine} {section} {label}", units[machine, section][MACHINE[label]], value)
                          for label, value in row.items()]
        for label, row in rows["means"].items():
            found += [(f"{machine} {label} {column}", machine_means[machine][f"{COLUMNS_2021[column]}_{MEAN_ROWS[label]}"],
                       value) for column, value in row.items()]
    rows_over_all = {label.split(" over all")[0]: row for label, row in figures["means"].items()}
    assert len(rows_over_all) == 4 and len(machine_means) == len(figures["machines"])
    for label, row in rows_over_all.items():
        for column, value in row.items():
            name = (mean_name(label, column) if year == 2022 else f"{COLUMNS_2021[column]}_{MEAN_ROWS[label]}")
            found.append((f"{label} over all {column}", report["means"][name], value))
    found.append(("official score", report["official_score"], figures["official score"]))
    return found


def assert_earlier_equal(year: int, report: dict, figures: dict) -> None:
    """asdbench's report equals every figure the 2020, 2021 or 2022 evaluator printed: to :data:`TOLERANCE`, the
    2022 ci95 to :data:`CI95_TOLERANCE`."""
    found = earlier_pairs(year, report, figures)
    assert len(found) >= 2 * len(figures["machines"]) + (0 if year == 2020 else 20)
    assert {what: ours for what, ours, _ in found} == {what: pytest.approx(theirs, **TOLERANCE)
                                                       for what, _, theirs in found}
    if year == 2022:
        assert report["official_score_ci95"] == pytest.approx(figures["official score ci95"], **CI95_TOLERANCE)
    else:
        assert report["official_score_ci95"] is None and "official score ci95" not in figures
