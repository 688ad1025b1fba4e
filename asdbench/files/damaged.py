"""Files asdbench cannot read back (truncated, overwritten, of another run): set aside under another name, never
deleted, so that what they held is computed again and what they were can still be looked at."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from asdbench.errors import AsdbenchError


class DamagedFile(AsdbenchError):
    """A run file that cannot be read (truncated, overwritten); it has been set aside under another name."""


def aside_path(path: Path, kind: str) -> Path:
    """A free name beside ``path`` to set it aside under: ``<name>.<kind>-<time>-<pid>``, with ``-2``, ``-3`` ...
    after it where one process set the same path aside before within the second (a rename must never overwrite
    what an earlier one kept)."""
    stem = f"{path.name}.{kind}-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}"
    target, number = path.with_name(stem), 1
    while target.exists():
        number += 1
        target = path.with_name(f"{stem}-{number}")
    return target


def set_aside(path: Path, reason: str) -> Path:
    """Rename a damaged file out of the way (never delete it), so that what it held is computed again."""
    target = aside_path(path, "damaged")
    os.replace(path, target)
    print(f"asdbench: {path} is damaged ({reason}); set aside as {target.name}, its contents will be computed "
          "again", file=sys.stderr)
    return target
