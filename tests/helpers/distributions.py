"""Plugin distributions written into a folder on ``sys.path``, as pip would install them."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path


def write_distribution(site: Path, dist: str, module: str, source: str, version: str = "1.2.3") -> None:
    """Install a distribution the way pip would, as far as importlib.metadata can tell: dist-info + module."""
    _dist_info(site, dist, module, version)
    (site / f"{module}.py").write_text(textwrap.dedent(source))


def write_editable_distribution(site: Path, project: Path, dist: str, package: str, source: str,
                                version: str = "0.1.0") -> Path:
    """Install a distribution the way ``pip install -e project`` would: its dist-info in ``site``, with a PEP 610
    ``direct_url.json`` naming ``project``, whose package ``package`` holds ``source``; ``project`` must be on
    ``sys.path`` (the .pth file's job in a real install). Returns the package's ``__init__.py``, to edit."""
    info = _dist_info(site, dist, package, version)
    (info / "direct_url.json").write_text(json.dumps({"dir_info": {"editable": True},
                                                      "url": project.resolve().as_uri()}))
    init = project / package / "__init__.py"
    init.parent.mkdir(parents=True)
    init.write_text(textwrap.dedent(source))
    return init


def _dist_info(site: Path, dist: str, module: str, version: str) -> Path:
    info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[asdbench]\n{module} = {module}\n")
    return info
