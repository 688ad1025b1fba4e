"""The markdown tables the reports of :mod:`asdbench.scoring.reports` print: values in percent, as the evaluators'
mean rows and the paper tables show them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from tabulate import tabulate

from asdbench.scoring.means import COLUMNS, ROWS


def percent_table(rows: Sequence[Sequence[object]], headers: Sequence[str], text_columns: int) -> str:
    """A github table of ``rows`` whose first ``text_columns`` cells are labels (kept as written: section "03" stays
    "03") and the others fractions, shown in percent; None shows as "n/a"."""
    shown = [[*row[:text_columns], *("n/a" if value is None else 100 * value for value in row[text_columns:])]
             for row in rows]
    return tabulate(shown, headers=list(headers), tablefmt="github", floatfmt=".2f",
                    disable_numparse=list(range(text_columns)))


def mean_rows_table(means: Mapping[str, float | None], label: str, metrics: Sequence[str],
                    rows: Mapping[str, str] = ROWS) -> list[list[object]]:
    """The evaluators' mean rows of ``means`` (named ``<metric>_<row>``) as table rows, the first cell ``label``
    and the row's name."""
    return [[label, name, *(means[f"{metric}_{row}"] for metric in metrics)] for row, name in rows.items()]


def mean_headers(metrics: Sequence[str]) -> list[str]:
    return [COLUMNS[metric] for metric in metrics]
