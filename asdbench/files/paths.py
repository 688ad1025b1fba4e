"""Directories asdbench writes to (``--out``, the audio cache), checked once before any work is done.

Without the check, an output folder that is a file or not writable surfaces as a bare OSError after minutes of
decoding or training, or in the middle of writing a run.
"""

from __future__ import annotations

import os
from pathlib import Path

from asdbench.errors import PathError


def writable_directory(path: str | Path, what: str) -> Path:
    """``path`` as a Path, if it is a directory this process can write in or could create; else a PathError.

    Nothing is created: a command that fails for another reason leaves no empty folder behind. ``what`` names
    the path in the message, e.g. ``"--out"`` or ``"audio cache directory"``.
    """
    path = Path(path)
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        place = "is a file" if existing == path else f"cannot be created: {existing} is a file"
        raise PathError(f"{what} {path} {place}; expected a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        place = "is not writable" if existing == path else f"cannot be created: {existing} is not writable"
        raise PathError(f"{what} {path} {place} (permission denied for this user); expected a writable directory")
    return path
