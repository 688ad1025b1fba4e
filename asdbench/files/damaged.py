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


def set_aside(path: Path, reason: str) -> Path:
    """Rename a damaged file out of the way (never delete it), so that what it held is computed again."""
    target = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}")
    os.replace(path, target)
    print(f"asdbench: {path} is damaged ({reason}); set aside as {target.name}, its contents will be computed "
          "again", file=sys.stderr)
    return target
