"""Claims: how a process tells every other one that it is computing a training or a run of the store.

A claim is taken on a directory of the store without waiting: the caller gets it, or learns that someone else
holds it (and then waits and looks again). Two kinds, chosen per grid with ``asdbench grid --claims``:

``files`` (the default)
    An OS file lock, ``flock(2)`` through ``filelock``, on ``<directory>/.lock``. The kernel drops it when its
    holder dies, so a killed process never blocks a run. It excludes other holders exactly as far as the file
    system's flock reaches: every process of one machine, and the machines sharing a file system whose flock is
    coherent between its clients (NFS with server-side locking, CephFS, Lustre mounted ``-o flock``, ...). Where
    flock stays on each node (BeeGFS by default, Lustre ``localflock``, NFS ``nolock``/``local_lock``), two
    machines can claim one training: the README's "Running a grid on a cluster" lists the cases.
``scheduler``
    A ``distributed.Lock`` on the Dask scheduler of the grid, named by the directory's path: one authority for
    every worker of the cluster, whatever the file system. Dask holds it as a lease that the holder's client
    renews; a killed worker's claim lapses after ``distributed.scheduler.locks.lease-timeout`` (30 s by default).
    The file lock is taken as well where the file system supports flock, so that ``asdbench status`` shows the
    run as running and an ``asdbench run`` outside the cluster is still kept out where flock reaches.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from filelock import FileLock, Timeout

from asdbench.errors import AsdbenchError

LOCK = ".lock"
CLAIMS = ("files", "scheduler")


class Claim(Protocol):
    def release(self) -> None: ...


class FlockUnsupported(AsdbenchError):
    """The file system of the store has no flock(2) (Lustre mounted ``noflock`` answers ENOSYS)."""


def claimer(kind: str) -> Callable[[Path], Claim | None]:
    """The function that claims a directory for this process, or returns None when another holds it."""
    if kind == "files":
        return file_claim
    if kind == "scheduler":
        return scheduler_claim
    raise AsdbenchError(f"unknown claims {kind!r}; claims: {', '.join(CLAIMS)}")


def file_claim(directory: Path) -> FileLock | None:
    """The directory's file lock, held by this process, or None when another process holds it."""
    directory.mkdir(parents=True, exist_ok=True)
    # no soft fallback: a lock file that outlives a killed holder would block its run for ever
    lock = FileLock(str(directory / LOCK), fallback_to_soft=False)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return None
    except OSError as exc:
        if exc.errno == errno.ENOSYS:
            raise FlockUnsupported(f"{directory / LOCK}: this file system does not support flock(2), which "
                                   "--claims files needs; run the grid through Dask with --claims scheduler") from None
        raise
    return lock


def held(directory: Path) -> bool:
    """Whether another process holds the directory's file lock (for ``asdbench status``). On a file system
    without flock nobody can hold one, and the answer is False."""
    if not (directory / LOCK).exists():
        return False
    try:
        lock = file_claim(directory)
    except FlockUnsupported:
        return False
    if lock is None:
        return True
    lock.release()
    return False


class _SchedulerClaim:
    """A Dask lock on the scheduler, with the file lock where the file system has one."""

    def __init__(self, lock: object, file_lock: FileLock | None) -> None:
        self._lock = lock
        self._file_lock = file_lock

    def release(self) -> None:
        if self._file_lock is not None:
            self._file_lock.release()
        self._lock.release()  # type: ignore[attr-defined]


def scheduler_claim(directory: Path) -> _SchedulerClaim | None:
    """Claim ``directory`` on the Dask scheduler this process works for (a Dask worker's task, or a process
    with a Dask client); None when a claim on it is held elsewhere, on the scheduler or by a file lock."""
    from distributed import Lock

    if not _on_dask():
        raise AsdbenchError("--claims scheduler holds claims on a Dask scheduler, and this process is neither a "
                            "Dask worker nor a Dask client: use it with --executor dask")
    lock = Lock(f"asdbench-claim:{directory.resolve()}")
    if not lock.acquire(blocking=False):
        return None
    try:
        file_lock = file_claim(directory)
    except FlockUnsupported:  # the scheduler's lock is the claim; the file lock only shows it to `status`
        return _SchedulerClaim(lock, None)
    except BaseException:
        lock.release()
        raise
    if file_lock is None:  # an `asdbench run` (or a grid with --claims files) holds it
        lock.release()
        return None
    return _SchedulerClaim(lock, file_lock)


def _on_dask() -> bool:
    from distributed import get_client, get_worker

    for get in (get_worker, get_client):
        try:
            get()
            return True
        except ValueError:
            continue
    return False
