"""Atomic writes: a file appears whole under its name or not at all, even if the writer is killed.

A name that is a symlink is written through: the file at its end gets the content, the link stays. A name that is
not a regular file (a folder, a FIFO, a device) is refused, and a write the system refuses (a full disk, a
read-only folder) is a :class:`~asdbench.errors.WriteError` naming the file and the errno (see
:mod:`asdbench.files.outputs`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, NoReturn

from asdbench.errors import PathError
from asdbench.files.outputs import WRITE_ERRNOS, write_failure, write_target


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (or beside the file a symlink ``path`` leads to); on success it is
    flushed to disk and renamed onto that file."""
    path = write_target(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise PathError(f"cannot write {path}: its folder {path.parent} cannot be created, a file is in the way "
                        "(on that path)") from None
    except OSError as error:
        _raise_refused(error, path)
    temporary = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    try:
        yield temporary
        with open(temporary, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError as error:
        _raise_refused(error, path)
    finally:
        with suppress(OSError):  # a read-only folder refuses even this; the error above is the one to report
            temporary.unlink(missing_ok=True)


def _raise_refused(error: OSError, path: Path) -> NoReturn:
    """Raise a write the system refused as a WriteError naming ``path`` (not its temporary name), any other
    error as it is."""
    if error.errno in WRITE_ERRNOS:
        raise write_failure(error, path) from error
    raise error


def write_text_atomic(path: Path, text: str) -> Path:
    with atomic_path(path) as temporary:
        temporary.write_text(text)
    return Path(path)


def write_json_atomic(path: Path, data: Any) -> Path:
    return write_text_atomic(path, json.dumps(data, indent=2, sort_keys=True) + "\n")
