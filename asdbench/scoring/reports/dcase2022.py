"""The DCASE 2022 Task 2 evaluator's report (Kota-Dohi/dcase2022_evaluator, ``dcase2022_task2_evaluator.py``;
docs/metrics.md gives the commit and lines).

Per section it is the 2023-2025 report (:mod:`asdbench.scoring.metrics`): AUC (all), AUC (source) and AUC (target)
(that domain's normal clips against the anomalous clips of both domains), pAUC over every clip, and precision,
recall and F1 per domain; its rows over all machine types, its official score (the harmonic mean of every section's
AUC (source), AUC (target) and pAUC) and its "official score ci95" (the pooled-clip jackknife) are theirs too.

What it adds is four mean rows per machine type, over its sections' values listed source then target (each pAUC
twice, once per domain): arithmetic and harmonic means of all, and a "source" and a "target harmonic mean" that cut
that list at ``len(section ids) // 2`` -- the number of SECTIONS halved, not at the end of the source values. With
the three sections of the real data the "source harmonic mean" is the first section's AUC (source) alone (and its
pAUC), and the "target harmonic mean" the other five values, two of them source values; the evaluator's own README
example shows it. asdbench reproduces the cut on purpose, as the evaluator prints it (:attr:`machine_means`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from asdbench.scoring.means import mean_rows
from asdbench.scoring.metrics import EvaluationReport
from asdbench.scoring.reports.tables import mean_headers, mean_rows_table, percent_table

METRICS = ("auc", "pauc", "precision", "recall", "f1")
"""The columns of the evaluator's mean rows, in its order (AUC, pAUC, precision, recall, F1 score)."""


@dataclass(frozen=True)
class Dcase2022Report(EvaluationReport):
    """The 2023-2025 report of a split's sections, with the 2022 evaluator's mean rows per machine type."""

    METRIC: ClassVar[str] = "dcase2022"

    @property
    def machine_types(self) -> list[str]:
        """The machine types in the evaluator's order (sorted, upper case first)."""
        return sorted({m.machine for m in self.machines})

    @property
    def machine_means(self) -> dict[str, dict[str, float | None]]:
        """Each machine type's four mean rows (``<metric>_<amean|hmean|source_hmean|target_hmean>``), the
        "source" and "target harmonic mean" cut at the number of sections halved, as the evaluator cuts them (the
        module's doc)."""
        cut = len({m.section for m in self.machines}) // 2
        means = {}
        for machine in self.machine_types:
            sections = sorted((m for m in self.machines if m.machine == machine), key=lambda m: m.section)
            columns = {metric: [getattr(m, f"{metric}_{domain}") for domain in ("source", "target") for m in sections]
                       for metric in METRICS if metric != "pauc"}
            columns["pauc"] = [m.pauc for m in sections] * 2
            means[machine] = mean_rows({metric: columns[metric] for metric in METRICS}, cut)
        return means

    def to_dict(self) -> dict[str, Any]:
        return {"metric": self.METRIC, **super().to_dict(), "machine_means": self.machine_means}

    def to_markdown(self) -> str:
        """The 2023-2025 report's tables, with each machine type's mean rows between the sections and the rows
        over all."""
        metrics = [m for m in METRICS if all(getattr(s, m if m == "pauc" else f"{m}_source") is not None
                                             for s in self.machines)]
        machine_means = self.machine_means
        rows = [row for machine in self.machine_types for row in mean_rows_table(machine_means[machine], machine,
                                                                                   metrics)]
        cut = len({m.section for m in self.machines}) // 2
        return (f"{self._machine_table()}\n\n{percent_table(rows, ['machine', 'mean', *mean_headers(metrics)], 2)}"
                f"\n\nA machine type's values are its sections' source values, then their target values (pAUC: "
                f"each section's, twice); its source (target) harmonic mean is over the first {cut} of them (the "
                "others), as the 2022 evaluator cuts them (at the number of sections halved; docs/metrics.md).\n\n"
                f"{self._means_table()}\n\n{self._score_lines()}")
