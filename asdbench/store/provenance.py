"""What a reviewer needs to check how a training or a scoring was made, in its ``provenance.json``: the versions of
the distributions and libraries, the git commit of each distribution installed from a checkout (and whether its
packages had uncommitted changes), the device, the host, the command line, and when it started and finished.

A training resumed after an interruption keeps what each earlier attempt recorded, in ``earlier``. The per-epoch
wall times and losses are in the training's ``history.json`` (:mod:`asdbench.store.history`).
"""

from __future__ import annotations

import platform
import socket
import subprocess
import sys
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from asdbench.contract.registry import CORE_DISTRIBUTION, Registry
from asdbench.files.atomic import write_json_atomic
from asdbench.files.damaged import DamagedFile
from asdbench.store.codeprint import package_roots
from asdbench.store.layout import read_json

PROVENANCE = "provenance.json"
GIT_SECONDS = 10.0
"""The longest a git call may take (a hung network file system): past it the checkout is recorded as unknown."""


def now() -> str:
    """The time, in UTC, as ISO 8601 to the second: what ``started`` and ``finished`` hold."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def begin(directory: Path, registry: Registry, device: Any | None, libraries: dict[str, str]) -> None:
    """Write ``directory``'s provenance as its work starts; what an earlier attempt recorded moves to ``earlier``.
    ``device`` is the torch device a training runs on (None for a scoring), ``libraries`` their versions."""
    record: dict[str, Any] = {
        "distributions": registry.distributions(),
        **libraries,
        "python": platform.python_version(),
        "checkouts": {name: checkout(name) for name in sorted({*registry.distributions(), CORE_DISTRIBUTION})},
        "host": socket.gethostname(),
        "command": list(sys.argv),
        "started": now(),
    }
    if device is not None:
        import torch

        record |= {"device": str(device),
                   "cuda_device": torch.cuda.get_device_name(device) if device.type == "cuda" else None}
    earlier = _read(directory)
    if earlier:
        record["earlier"] = [*earlier.pop("earlier", []), earlier]
    write_json_atomic(directory / PROVENANCE, record)


def finish(directory: Path) -> None:
    """Add the time the work finished to ``directory``'s provenance (nothing when it has none to add to)."""
    record = _read(directory)
    if record is not None:
        write_json_atomic(directory / PROVENANCE, {**record, "finished": now()})


def _read(directory: Path) -> dict[str, Any] | None:
    try:
        return read_json(directory / PROVENANCE)
    except DamagedFile:  # a record of what made the files, not the files: an unreadable one is written anew
        return None


@cache
def checkout(distribution: str) -> dict[str, Any] | None:
    """The git checkout a distribution's code is in: its root, ``commit`` (HEAD) and ``dirty`` (uncommitted
    changes to its packages' files, untracked ones included); None for code that git does not track (a wheel, an
    installed copy) or where git cannot tell. Once per process."""
    roots = package_roots(distribution)
    if not roots:
        return None
    where = roots[0] if roots[0].is_dir() else roots[0].parent
    top = _git(where, "rev-parse", "--show-toplevel")
    if top is None or _git(where, "ls-files", "--error-unmatch", "--", *(str(r) for r in roots)) is None:
        return None  # not in a work tree, or in one that does not track it (a virtual environment inside a checkout)
    commit = _git(where, "rev-parse", "HEAD")
    status = _git(where, "status", "--porcelain", "--untracked-files=normal", "--", *(str(r) for r in roots))
    return {"root": top, "commit": commit, "dirty": None if status is None else bool(status)}


def _git(directory: Path, *arguments: str) -> str | None:
    """A git command's output in ``directory``, stripped; None where git is missing, fails or hangs."""
    try:
        done = subprocess.run(["git", "-C", str(directory), *arguments], capture_output=True, text=True,
                              timeout=GIT_SECONDS, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None
