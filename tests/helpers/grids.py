"""Grid files over the fake system (tests.helpers.fake_system), and what a store shows of the runs they finished."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path


def grid_file(tmp_path: Path, root: Path, seeds: Sequence[int] = (1, 2, 3), slow: float = 0.0,
              name: str = "grid.toml") -> Path:
    """Two variants of the fake system (small, wide) over ``seeds``, tabled by system and split; its loss sleeps
    ``slow`` seconds a step."""
    path = tmp_path / name
    path.write_text(fake_system_base(root) + textwrap.dedent(f"""
        loss = {{name = "fake-softmax", slow = {slow}}}
        backend = {{name = "knn", k = 1}}
        [base.train]
        epochs = 4
        checkpoints = [2, 4]
        batch_size = 8

        [[variants.system]]
        name = "small"
        [[variants.system]]
        name = "wide"
        "system.networks" = [{{name = "fake-dense", embedding_dim = 16}}]

        [axes]
        seed = {list(seeds)}

        [table]
        rows = "system"
        columns = "split"
    """))
    return path


def fake_system_base(root: Path, seed: int | None = None) -> str:
    """The start of a grid's [base] on ``root`` (and ``seed``, if given) with the fake system's frontend and
    network, up to [base.system]'s other fields."""
    return textwrap.dedent(f"""
        [base]
        {"" if seed is None else f"seed = {seed}"}
        [base.dataset]
        name = "synth"
        root = "{root}"
        [base.system]
        frontends = ["fake-magnitude"]
        networks = ["fake-dense"]
    """)


BACKENDS = """
[[variants.backend]]
name = "knn k=1"
"system.backend" = {{name = "knn", k = 1}}
[[variants.backend]]
name = "knn k=3"
"system.backend" = {{name = "knn", k = 3}}
[[variants.backend]]
name = "kmeans-target"
"system.backend" = {{name = "kmeans-target", clusters = 2}}
[[variants.backend]]
name = "ensemble of 4"
"train.checkpoints" = [4]
"""


def backend_grid(tmp_path: Path, root: Path, variants: str = BACKENDS, name: str = "backends.toml") -> Path:
    """One training of the fake system, scored as each of ``variants`` says (TOML, braces doubled)."""
    path = tmp_path / name
    path.write_text(fake_system_base(root, seed=1) + textwrap.dedent("""
        loss = "fake-softmax"
        backend = {name = "knn", k = 1}
        [base.train]
        epochs = 4
        checkpoints = [2, 4]
        batch_size = 8
    """) + variants.format() + '\n[table]\nrows = "backend"\ncolumns = "split"\n')
    return path


def finished_stamps(store_root: Path) -> dict[Path, int]:
    """Each finished run's folder and the time its results were written: a run computed again changes its stamp."""
    return {p.parent: p.stat().st_mtime_ns for p in store_root.glob("*/*/results.json")}


def start_asdbench(*args: str) -> subprocess.Popen:
    """``asdbench ARGS`` in a process of its own (to be killed), its standard error kept for the test to show."""
    return subprocess.Popen([sys.executable, "-m", "asdbench", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
