"""The pictures and files a report's pages link to, made by the functions the command line uses: each table's heat
map (:func:`asdbench.report.heatmap.heatmap`, as ``leaderboard --heatmap``), each pseudo-labelled run's feature
spaces (:func:`asdbench.report.plots.plot_space`, as ``plot-space``), and each run's official score files, copied
so that the site holds what it links to."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from asdbench.errors import AsdbenchError
from asdbench.report.heatmap import heatmap
from asdbench.report.plots import has_plane, plot_space, space_directory
from asdbench.report.site.content import Run, Table
from asdbench.runtime.progress import progress_bar
from asdbench.store.checks import SCORE_FILES, SCORES


@dataclass
class Space:
    """One machine section's pseudo-labelling space: its picture (relative to the site's root), or None where its
    feature space names classes directly and has no plane to draw."""
    split: str
    machine: str
    section: str
    picture: str | None


def heatmaps(tables: list[Table], runs_root: Path, site: Path) -> dict[int, str]:
    """Each table with a finished run drawn as a heat map; its path relative to ``site``, by table number."""
    drawn = {}
    for table in tables:
        if table.finished:
            relative = f"heatmaps/table-{table.number}.png"
            heatmap(table.grid, runs_root, site / relative)
            drawn[table.number] = relative
    return drawn


def spaces(runs: dict[str, Run], site: Path) -> dict[str, list[Space]]:
    """The feature spaces of each run trained on pseudo-labels, by run hash; a pseudo-label table that several runs
    share is drawn once."""
    tables = {run.hash: space_directory(run.directory) for run in runs.values()
              if run.results and run.results.get("pseudolabel")}
    files = sorted({file for directory in set(tables.values()) for file in (directory / "spaces").glob("*.npz")})
    pictures: dict[Path, str | None] = {}
    for file in progress_bar(files, desc="feature spaces", unit="space", disable=not files):
        pictures[file] = None
        if has_plane(file):
            pictures[file] = f"spaces/{file.parent.parent.name}/{file.stem}.png"
            plot_space(file, site / pictures[file])
    drawn: dict[str, list[Space]] = {}
    for run_hash, directory in tables.items():
        drawn[run_hash] = [Space(*file.name.split(".")[:3], pictures[file])
                           for file in sorted((directory / "spaces").glob("*.npz"))]
    return drawn


def score_files(run: Run, site: Path) -> dict[str, list[str]]:
    """A finished run's official score files copied into the site, by split, relative to its root; a file its
    ``results.json`` lists but the store lacks is an error naming it."""
    copied: dict[str, list[str]] = {}
    for split, names in ((run.results or {}).get(SCORE_FILES) or {}).items():
        copied[split] = []
        for name in names:
            source = run.directory / SCORES / split / name
            if not source.is_file():
                raise AsdbenchError(f"{source}: listed in {run.directory / 'results.json'} but missing from the store; "
                                    "the run is damaged: `asdbench grid` computes it again")
            relative = f"runs/{run.hash}/{SCORES}/{split}/{name}"
            (site / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, site / relative)
            copied[split].append(relative)
    return copied
