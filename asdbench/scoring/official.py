"""Every official report by name (the keys of :data:`asdbench.data.years.METRICS`): how a split is evaluated with
its year's report, and how a stored report is read back.

A report (:class:`Report`) holds per-unit values (``machines``: one record per machine section, or machine ID in
2020), the split's values (``official_score``, ``official_score_ci95``, ``means``; None where the evaluator has no
such figure) and whatever else its evaluator prints (the 2020-2022 ``machine_means``). Its ``to_dict`` is what
``results.json`` and ``asdbench evaluate --json`` hold: a report of another evaluator than 2023's names it in
``metric``; one without ``metric`` is the 2023-2025 report, so that its results are what they were before the
earlier years were added, to the byte.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import fields
from typing import Any, ClassVar, Protocol

import pandas as pd

from asdbench.errors import ScoreFileError
from asdbench.scoring.metrics import EvaluationReport
from asdbench.scoring.reports.dcase2020 import Dcase2020Report
from asdbench.scoring.reports.dcase2021 import Dcase2021Report
from asdbench.scoring.reports.dcase2022 import Dcase2022Report

DEFAULT_METRIC = "dcase2023"
"""The report of a stored report without ``metric``."""


class Report(Protocol):
    """What every official report offers (:class:`EvaluationReport` and those of :mod:`asdbench.scoring.reports`)."""

    METRIC: ClassVar[str]
    UNIT: ClassVar[type]
    UNIT_WORD: ClassVar[str]
    SCORE_FIELDS: ClassVar[tuple[str, ...]]
    SPLIT_VALUES: ClassVar[tuple[str, ...]]
    REQUIRED_UNIT_VALUES: ClassVar[tuple[str, ...]]

    @property
    def machines(self) -> Sequence[Any]: ...

    @property
    def official_score(self) -> float | None: ...

    @property
    def official_score_ci95(self) -> float | None: ...

    @property
    def means(self) -> Mapping[str, float | None]: ...

    @property
    def headline(self) -> tuple[str, float]: ...

    def split_values(self) -> dict[str, float | None]: ...

    def to_dict(self) -> dict[str, Any]: ...

    def to_markdown(self) -> str: ...


REPORTS: dict[str, Any] = {report.METRIC: report for report in (
    EvaluationReport, Dcase2022Report, Dcase2021Report, Dcase2020Report)}
"""The report classes by name, the latest first (so that the lists of values below begin with the 2023 report's);
each has ``evaluate(test_manifest, scores, decisions)`` and ``from_dict(data)``."""


def report_class(metric: str) -> Any:
    """The class of the report ``metric``; a ScoreFileError naming the known ones for another."""
    if metric not in REPORTS:
        raise ScoreFileError(f"unknown official report {metric!r}; reports: {', '.join(REPORTS)}")
    return REPORTS[metric]


def evaluate(metric: str, test_manifest: pd.DataFrame, scores: pd.DataFrame,
             decisions: pd.DataFrame | None = None) -> Report:
    """The report ``metric`` of the split whose test clips ``test_manifest`` holds, from frames keyed by (machine,
    section, file): ``scores`` with a score column, ``decisions`` with a decision one."""
    return report_class(metric).evaluate(test_manifest, scores, decisions)


def metric_of(data: Mapping[str, Any]) -> str:
    """The name of the report a stored report (``to_dict``) is."""
    return str(data.get("metric", DEFAULT_METRIC))


def report_from_dict(data: Mapping[str, Any]) -> Report:
    """A stored report read back, as the report it names."""
    return report_class(metric_of(data)).from_dict(data)


def unit_fields(metric: str) -> tuple[str, ...]:
    """The values each unit (machine section) of the report ``metric`` has."""
    return tuple(f.name for f in fields(report_class(metric).UNIT) if f.name not in ("machine", "section"))


SPLIT_VALUES = tuple(dict.fromkeys(("official_score", "official_score_ci95",
                                    *(name for report in REPORTS.values() for name in report.SPLIT_VALUES))))
"""Every value a split of some report may have once (:meth:`Report.split_values`)."""
UNIT_VALUES = tuple(dict.fromkeys(name for metric in REPORTS for name in unit_fields(metric)))
"""Every value a unit of some report may have."""
