"""A leaderboard table as a heat map a person can read without the table beside it.

The title says what the cells show and over what (``official_score (%), mean (std) over seed, 3 runs a cell``), the
axes are titled with the table's coordinates, each cell holds its mean, std and run count (and ``[k/n]`` where
only k of its n runs have finished), and the aggregate cells (``table.aggregate``) stand apart behind a white rule,
as the published rows of the grid file do (``<row> (published)``, in italics, each figure with the mark of its
source, cited under the figure).

Colours do not exaggerate small spreads: every value is placed on a fixed scale from 0 to 100 %, not stretched
between the table's lowest and highest cell. For values whose chance level is 50 % (AUCs, pAUC, the official score
and their means) the scale is diverging and centred on chance, so a 44-50 spread stays close to the neutral
colour and a cell below chance is another hue than one above; precision, recall, F1 and the ci95 are on a one-hue
scale from 0.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from asdbench.errors import SpecError
from asdbench.grid.expand import Grid
from asdbench.report.leaderboard import spread, table_frame
from asdbench.report.plots import save_figure
from asdbench.report.published import footnotes, with_published

MISSING_COLOUR, MISSING_TEXT = "#d9d9d9", "#333333"
"""A cell without a finished run: light grey, labelled "missing" in dark grey."""
CHANCE = 50.0
"""The chance level, in percent, of an AUC, a pAUC (scikit-learn's standardised partial AUC) and their means."""
CHANCE_CENTRED = ("official_score", "hmean", "auc", "pauc")
"""Values whose name starts with one of these have :data:`CHANCE` at 50 % (``official_score_ci95`` excepted)."""
SCALES = {True: "RdBu", False: "Greens"}
"""The colour map, by whether the value is chance-centred: red below chance, blue above; else light to dark."""


def chance_centred(value: str) -> bool:
    return value.startswith(CHANCE_CENTRED) and value != "official_score_ci95"


def heatmap(grid: Grid, runs_root: Path, out: Path) -> Path:
    """Draw ``grid``'s table (its first: :meth:`Grid.with_table` picks another) as a PNG at ``out``. Refused when
    no run has finished: an image of nothing but missing cells says less than the error."""
    measured = table_frame(grid, runs_root)
    if measured.empty or measured["mean"].isna().all():
        raise SpecError(f"{grid.path}: no finished run in {runs_root} for this table; nothing to draw a heat map "
                        "of (run the grid first)")
    cells = with_published(grid, measured)
    cells = cells.assign(row=cells["label"], apart=cells["aggregate"].astype(bool) | cells["published"])
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import Normalize

    table = grid.table
    rows, columns = list(dict.fromkeys(cells["row"])), list(dict.fromkeys(cells["column"]))
    values = np.full((len(rows), len(columns)), np.nan)
    for _, cell in cells.iterrows():
        values[rows.index(cell["row"]), columns.index(cell["column"])] = 100 * cell["mean"]
    label_width = 0.09 * max(len(r) for r in rows)  # inches for the row labels, so cells keep their width
    figure, axis = plt.subplots(figsize=(3.0 + label_width + 1.3 * len(columns), 2.0 + 0.65 * len(rows)))
    colours = plt.get_cmap(SCALES[chance_centred(table.value)]).with_extremes(bad=MISSING_COLOUR)
    norm = Normalize(vmin=0, vmax=100)  # centred on 50: chance, for the chance-centred values
    image = axis.imshow(np.ma.masked_invalid(values), cmap=colours, norm=norm, aspect="auto")
    axis.set_xticks(range(len(columns)), columns, rotation=30, ha="right")
    axis.set_yticks(range(len(rows)), rows)
    axis.set_xlabel(" / ".join(table.columns))
    axis.set_ylabel(" / ".join(table.rows))
    for _, cell in cells.iterrows():
        i, j = rows.index(cell["row"]), columns.index(cell["column"])
        text, colour = _cell_text(cell), MISSING_TEXT
        if not np.isnan(values[i, j]):
            red, green, blue, _ = colours(norm(values[i, j]))
            colour = "black" if 0.299 * red + 0.587 * green + 0.114 * blue > 0.5 else "white"
        axis.text(j, i, text, ha="center", va="center", fontsize=8, color=colour,
                  fontweight="bold" if cell["aggregate"] else "normal",
                  fontstyle="italic" if cell["published"] else "normal")
    _set_apart(axis, cells, rows, columns)
    scale = f"{table.value} (%)" + (f", white at chance ({CHANCE:g})" if chance_centred(table.value) else "")
    figure.colorbar(image, ax=axis, label=scale)
    axis.set_title(f"{grid.path.stem}: {table.value} (%)\n{spread(grid, measured)}", fontsize="medium")
    cited = footnotes(grid)  # under the axes, in a strip of about a fifth of an inch per line
    if cited:
        figure.text(0.01, 0.01, "\n".join(cited), fontsize=7, va="bottom", wrap=True)
    figure.tight_layout(rect=(0, min(0.4, 0.2 * len(cited) / figure.get_figheight()), 1, 1))
    return save_figure(figure, out)


def _cell_text(cell: pd.Series) -> str:
    """``mean``, ``(std)`` and ``n=3`` on three lines, ``[k/n]`` on the last where some runs have not finished; a
    published figure's last line is its source's mark (``[1]``), after its n where the source gives one."""
    if cell["published"]:
        lines = [f"{100 * cell['mean']:.2f}"] + ([] if pd.isna(cell["std"]) else [f"({100 * cell['std']:.2f})"])
        return "\n".join([*lines, ("" if pd.isna(cell["count"]) else f"n={int(cell['count'])} ")
                          + f"[{int(cell['mark'])}]"])
    if not cell["count"] or pd.isna(cell["count"]):
        return "missing"
    lines = [f"{100 * cell['mean']:.2f}"]
    if cell["count"] > 1:
        lines.append(f"({100 * cell['std']:.2f})")
    count, expected = int(cell["count"]), int(cell["expected"])
    lines.append(f"n={count}" if count == expected else f"[{count}/{expected}]")
    return "\n".join(lines)


def _set_apart(axis, cells: pd.DataFrame, rows: list[str], columns: list[str]) -> None:
    """White rules on both sides of the aggregate columns (or rows) and the published rows, and their labels in
    bold."""
    aggregate = cells[cells["apart"]]
    for labels, names, line, ticks in ((columns, set(aggregate["column"]), axis.axvline, axis.get_xticklabels()),
                                       (rows, set(aggregate["row"]), axis.axhline, axis.get_yticklabels())):
        if not names or names == set(labels):  # every column (row) is an aggregate one: nothing to set apart from
            continue
        for index, label in enumerate(labels):
            if label in names:
                for edge in (index - 0.5, index + 0.5):
                    if 0 < edge + 0.5 < len(labels):
                        line(edge, color="white", linewidth=4)
                ticks[index].set_fontweight("bold")
