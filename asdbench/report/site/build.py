"""``asdbench report``: a grid's results as a static site that opens from the file system or any static host (a CI
artifact, GitHub Pages), with no server, network or CDN.

The site is written whole into a fresh folder beside the destination and then put in its place, so that a reader
never sees half a site, and a folder that is not an asdbench site (it has no :data:`MARKER`) is never replaced.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from asdbench.contract.registry import Registry
from asdbench.errors import PathError
from asdbench.grid.expand import Grid
from asdbench.report.site import figures, pages
from asdbench.report.site.content import SiteContent, gather
from asdbench.report.storeview import show
from asdbench.runtime.progress import progress_bar
from asdbench.store.provenance import now

MARKER = "asdbench-site.json"
"""What tells a folder that ``asdbench report`` wrote (and may replace) from any other: the grid and store it shows,
and when."""


def check_destination(site: Path) -> None:
    """Refuse, before any work, a destination that is a file, or a folder with files that no ``asdbench report``
    wrote."""
    if site.exists() and not site.is_dir():
        raise PathError(f"--site {site}: not a folder")
    if site.is_dir() and any(site.iterdir()) and not (site / MARKER).is_file():
        raise PathError(f"--site {site}: a folder that asdbench report did not write (no {MARKER}); name a new or "
                        "empty folder, so that nothing of yours is replaced")


def write_site(grid: Grid, runs_root: Path, site: Path, registry: Registry) -> Path:
    """Write the report of ``grid``'s runs in the store ``runs_root`` to the folder ``site``; its index page."""
    check_destination(site)
    content = gather(grid, runs_root)
    site.parent.mkdir(parents=True, exist_ok=True)
    fresh = site.with_name(f".{site.name}.new-{os.getpid()}")
    shutil.rmtree(fresh, ignore_errors=True)
    try:
        _write(content, fresh, registry)
        _replace(fresh, site)
    finally:
        shutil.rmtree(fresh, ignore_errors=True)
    return site / "index.html"


def _write(content: SiteContent, out: Path, registry: Registry) -> None:
    env = pages.environment()
    pages.write_assets(out)
    heatmaps = figures.heatmaps(content.tables, content.runs_root, out)
    pages.write_index(env, content, heatmaps, out)
    for table in content.tables:
        for row in table.rows:
            if not row.published:  # published figures have no runs to show
                pages.write_row(env, content, table, row, out)
    spaces = figures.spaces(content.runs, out)
    for run in progress_bar(list(content.runs.values()), desc="run pages", unit="run"):
        described = show(run.directory, registry) if run.results is not None else ""
        pages.write_run(env, content, run, described, spaces.get(run.hash, []), figures.score_files(run, out), out)
    (out / MARKER).write_text(json.dumps({"grid": str(content.grid.path), "store": str(content.runs_root),
                                          "written": now()}, indent=1) + "\n")


def _replace(fresh: Path, site: Path) -> None:
    """Put ``fresh`` where ``site`` is: the old site (checked to be one) moves aside first, then goes."""
    old = site.with_name(f".{site.name}.old-{os.getpid()}")
    if site.exists():
        site.rename(old)
    fresh.rename(site)
    shutil.rmtree(old, ignore_errors=True)
