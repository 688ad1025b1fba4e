"""Where asdbench writes: the file a write to a name lands in, checked before any work, and write failures as
one line naming the path and the errno.

asdbench writes every file whole under a temporary name and renames it onto its own (:mod:`asdbench.files.atomic`).
A rename replaces whatever has the name: a symlink would become a regular file and its target would keep its old
content, and, as root, ``--json /dev/full`` would replace the device node. So a symlink is followed and the file
at its end is written; anything at the end that is not a regular file (a folder, a FIFO, a device, a socket) is
refused. A write that the system refuses (a full disk, a read-only store) leaves the file's previous content, and
is reported as the file it was for and the errno, not as the temporary name and a chain of tracebacks.
"""

from __future__ import annotations

import errno
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from asdbench.errors import AsdbenchError, PathError, WriteError
from asdbench.files.paths import writable_directory

WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO,
                          errno.EFBIG})
"""The errnos of a write the system refused for where it went, not for what was written: the disk is full or
read-only, or the file may not be written by this user."""

KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISCHR, "a character device"),
         (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))
"""What a path that is not a regular file is, in words."""


def write_target(path: str | Path, what: str = "") -> Path:
    """The file a write to ``path`` lands in: ``path`` itself, or the end of its symlinks, which need not exist
    yet. A :class:`PathError` when that is not a regular file, or the symlinks lead round in a loop; ``what``
    names the path in the message (e.g. ``"--json"``)."""
    path = Path(path)
    shown = f"{what} {path}" if what else str(path)
    target = path
    if path.is_symlink():
        try:
            target = path.resolve()
        except (RuntimeError, OSError) as error:  # RuntimeError: a loop, up to Python 3.12
            raise PathError(f"{shown}: a symlink that cannot be followed ({error})") from None
        shown = f"{shown} (a symlink to {target})"
    try:
        mode = target.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):  # not there yet (a file in the way of its folder: see atomic)
        return target
    except OSError as error:
        raise PathError(f"{shown}: cannot be looked at ({error.strerror})") from None
    kind = next((name for test, name in KINDS if test(mode)), None)
    if kind is not None:
        raise PathError(f"{shown} is {kind}, not a regular file: asdbench writes a file whole under a temporary "
                        "name and renames it onto its name; name a file to write")
    return target


def output_file(path: Path, what: str) -> Path:
    """Check, before any work, a file the user named for an output (``what``: the option, e.g. ``"--csv"``): a
    regular file or none yet, or a symlink to one, in a folder that exists or can be created. Returns ``path``."""
    target = write_target(path, what)
    writable_directory(target.parent, f"{what} {path}: folder")
    return path


def distinct_outputs(paths: dict[str, Path | None]) -> None:
    """Refuse two options (keys) that name one file: the second write would replace the first, and a file
    checked against (``--check``) would be the one just written."""
    seen: dict[Path, str] = {}
    for option, path in paths.items():
        if path is None:
            continue
        target = write_target(path, option).absolute()
        if target in seen:
            raise PathError(f"{seen[target]} and {option} both name {path}: name a file for each")
        seen[target] = option


def write_failure(error: OSError, path: Path) -> WriteError:
    """``error``, raised while writing ``path``, as one line naming the path and the errno."""
    return WriteError(f"cannot write {path}: {reason(error)}; files written before are kept")


def refused_by_system(error: BaseException) -> OSError | None:
    """The first OSError of :data:`WRITE_ERRNOS` that names its file, in ``error`` or what it was raised from:
    what the system refused, rather than what asdbench did when it was refused."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, OSError) and error.errno in WRITE_ERRNOS and error.filename is not None:
            return error
        error = error.__cause__ or error.__context__
    return None


class StreamError(AsdbenchError):
    """A standard stream could not be written (other than by a closed pipe, which ends a command quietly)."""


class GuardedStream:
    """A text stream whose failed writes raise :class:`StreamError` naming it (``asdbench ... > /dev/full``, a
    redirection to a full disk); a closed pipe's BrokenPipeError passes unchanged."""

    def __init__(self, stream: TextIO, name: str) -> None:
        self._stream, self._name = stream, name

    def write(self, text: str) -> int:
        with self._failures():
            return self._stream.write(text)

    def flush(self) -> None:
        with self._failures():
            self._stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    @contextmanager
    def _failures(self) -> Iterator[None]:
        try:
            yield
        except BrokenPipeError:
            raise
        except OSError as error:
            raise StreamError(f"cannot write to {self._name}: {reason(error)}") from None


def reason(error: OSError) -> str:
    """What the system said and the errno's name: "No space left on device (ENOSPC)"."""
    return f"{error.strerror or error} ({errno.errorcode.get(error.errno or 0, error.errno)})"
