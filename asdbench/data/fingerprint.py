"""A cheap identity of what a dataset directory holds, so that results are never reused for other data.

Audio files count by relative path and size (reading every byte of a DCASE dataset would take minutes);
small files (CSV tables, ``synth.json``, under :data:`SMALL_FILE_BYTES`) count by their content, so a synthetic
dataset of another generator version or seed, or a changed ground-truth table, has another fingerprint.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

SMALL_FILE_BYTES = 1 << 16


def fingerprint(paths: Iterable[Path]) -> str:
    """The first 16 hex digits of a SHA-256 over every file under ``paths`` (files or directories, in the
    order given; a missing path counts as missing)."""
    digest = hashlib.sha256()
    for index, path in enumerate(paths):
        digest.update(f"\0{index}\0".encode())
        if not path.exists():
            digest.update(b"missing")
            continue
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for file in files:
            size = os.stat(file).st_size
            digest.update(f"{file.relative_to(path).as_posix() if file != path else '.'}\0{size}\0".encode())
            if size <= SMALL_FILE_BYTES:
                digest.update(file.read_bytes())
    return digest.hexdigest()[:16]
