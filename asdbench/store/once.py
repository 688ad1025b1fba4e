"""A level of the store computed once: claimed (:mod:`asdbench.store.claims`) so that no two processes compute it,
waited for while another process does, and its failure recorded in its ``error.json``, as a failed training or
run records its own, rather than left as a folder that says nothing of why it is unfinished."""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from pathlib import Path

from tqdm.auto import tqdm

from asdbench.errors import HostError, WriteError
from asdbench.files.atomic import write_json_atomic
from asdbench.store.claims import Claim
from asdbench.store.reading import ERROR

POLL_SECONDS = 2.0


def record_failure(directory: Path, exc: BaseException) -> str:
    """Write ``exc`` and the traceback being handled into ``directory``'s ``error.json``; its one-line message."""
    message = f"{type(exc).__name__}: {exc}"
    write_json_atomic(directory / ERROR, {"error": message, "traceback": traceback.format_exc()})
    return message


def compute_once(directory: Path, *, claim: Callable[[Path], Claim | None], finished: Callable[[], bool],
                 compute: Callable[[], None], progress: bool = True) -> None:
    """Bring ``directory`` to ``finished()``: nothing to do when it is; else claim it and ``compute()`` it (unless
    another process finished it before the claim), or wait while another process holds the claim. A failure is
    recorded in ``error.json`` and raised again (but a store that cannot be written, or a machine that cannot do the
    work, is no failure of this level: it is raised, recording nothing); a success removes an earlier failure's
    record."""
    waiting = False
    while not finished():
        lock = claim(directory)
        if lock is None:
            if progress and not waiting:
                tqdm.write(f"waiting for another process, which is computing {directory}")
            waiting = True
            time.sleep(POLL_SECONDS)
            continue
        try:
            if not finished():
                compute()
        except Exception as exc:
            if not isinstance(exc, WriteError | HostError):
                record_failure(directory, exc)
            raise
        finally:
            lock.release()
        (directory / ERROR).unlink(missing_ok=True)
        return
