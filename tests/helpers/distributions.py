"""Plugin distributions written into a folder on ``sys.path``, as pip would install them."""

from __future__ import annotations

import textwrap
from pathlib import Path


def write_distribution(site: Path, dist: str, module: str, source: str, version: str = "1.2.3") -> None:
    """Install a distribution the way pip would, as far as importlib.metadata can tell: dist-info + module."""
    info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[asdbench]\n{module} = {module}\n")
    (site / f"{module}.py").write_text(textwrap.dedent(source))
