"""What makes a test slow (``@pytest.mark.slow``, left out of ``make test-fast``): it starts a process, or it trains
a network, however small. tests/conftest.py watches every test's set-up and call with :func:`watching` and fails a
test that did either without the mark.

Processes are seen where Python starts them: ``subprocess.Popen``, ``os.fork``, ``os.posix_spawn``, ``os.system``
and the ``exec`` family through their audit events (what a shell block, a Dask cluster's processes or a fork
context start), and every ``multiprocessing`` process (the spawn and forkserver contexts raise no audit event).
Training is seen as a step of any torch optimiser (torch's global step hook)."""

from __future__ import annotations

import multiprocessing.process
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch.optim.optimizer import register_optimizer_step_pre_hook

PROCESS_EVENTS = frozenset({"subprocess.Popen", "os.fork", "os.forkpty", "os.posix_spawn", "os.spawn", "os.system",
                            "os.exec"})
"""The audit events (https://docs.python.org/3/library/audit_events.html) of a process being started."""
MACHINE_PROBES = frozenset({"fc-list", "lscpu", "git"})
"""Programs run once per process to learn about the machine, in whichever test first needs it (matplotlib building
its font cache, loky counting physical cores for scikit-learn, asdbench.store.provenance asking git, in
milliseconds, which commit each distribution's checkout is at): not that test's work."""

_watches: list[list[str]] = []
"""What each active :func:`watching` block has seen so far, innermost last: only the innermost one records."""


def _record(what: str) -> None:
    if _watches and what not in _watches[-1]:
        _watches[-1].append(what)


def _audit(event: str, args: tuple) -> None:
    if event in PROCESS_EVENTS:
        program = os.path.basename(os.fsdecode(args[0])) if args and isinstance(args[0], (str, bytes)) else ""
        if program not in MACHINE_PROBES:
            _record(f"started a process ({event}{' ' + program if program else ''})")


def _optimiser_step(optimiser: torch.optim.Optimizer, args: tuple, kwargs: dict) -> None:
    _record(f"trained ({type(optimiser).__name__}.step)")


sys.addaudithook(_audit)  # audit hooks cannot be removed: it records only inside a watching() block
_multiprocessing_start = multiprocessing.process.BaseProcess.start


def _start_process(process: multiprocessing.process.BaseProcess) -> None:
    _record(f"started a process (multiprocessing, {type(process).__name__})")
    _multiprocessing_start(process)


@contextmanager
def watching() -> Iterator[list[str]]:
    """The kinds of slow work done in the block, each once, in the order first seen. Blocks nest: what an inner
    block sees, the outer one does not."""
    seen: list[str] = []
    _watches.append(seen)
    handle = register_optimizer_step_pre_hook(_optimiser_step)
    multiprocessing.process.BaseProcess.start = _start_process
    try:
        yield seen
    finally:
        _watches.pop()
        handle.remove()
        if not _watches:
            multiprocessing.process.BaseProcess.start = _multiprocessing_start
