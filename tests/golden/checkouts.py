"""The commit a golden file's reference checkout is at, for its provenance; standard library only, imported by the
reference scripts in their own environments."""

from __future__ import annotations

import subprocess
from pathlib import Path


def git_commit(checkout: Path) -> str:
    return subprocess.run(["git", "-C", str(checkout), "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()
