"""The run store: one directory per run, named by its spec hash, claimed by one process at a time.

A run's state is read from its files: ``results.json`` (written last) means done; ``error.json`` means its
last attempt failed (with the error and traceback); a held ``.lock`` means a process is running it now;
anything else is pending (possibly interrupted, and then resumed from its last checkpoint). The lock is an
OS file lock (``filelock``), released by the kernel when its holder dies, so a killed worker never blocks
a run.
"""

from __future__ import annotations

import json
import sys
import traceback
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout
from tqdm.auto import tqdm

from asdbench import datacheck
from asdbench.atomic import write_json_atomic
from asdbench.plugins import Registry
from asdbench.run import RESULTS, execute, execute_stacked, run_directory
from asdbench.spec import RunSpec

ERROR = "error.json"
LOCK = ".lock"


class RunState(str, Enum):
    DONE = "done"
    RUNNING = "running"
    FAILED = "failed"
    PENDING = "pending"


@dataclass(frozen=True)
class Outcome:
    """What one attempt at a run came to."""

    hash: str
    state: RunState
    results: dict[str, Any] | None = None
    error: str | None = None


class Store:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._fingerprints: dict[str, str | None] = {}  # per dataset section: read once per store

    def directory(self, spec: RunSpec) -> Path:
        return run_directory(self.root, spec)

    def state(self, spec: RunSpec) -> RunState:
        directory = self.directory(spec)
        if (directory / RESULTS).exists():
            return RunState.DONE
        if directory.exists() and _locked(directory / LOCK):
            return RunState.RUNNING
        if (directory / ERROR).exists():
            return RunState.FAILED
        return RunState.PENDING

    def results(self, spec: RunSpec) -> dict[str, Any] | None:
        path = self.directory(spec) / RESULTS
        return json.loads(path.read_text()) if path.exists() else None

    def error(self, spec: RunSpec) -> dict[str, Any] | None:
        path = self.directory(spec) / ERROR
        return json.loads(path.read_text()) if path.exists() else None

    def attempt(self, spec: RunSpec, registry: Registry, *, progress: bool = False) -> Outcome:
        """Run ``spec`` unless it is done or another process holds it; a failure is recorded, not raised."""
        return self.attempt_group([spec], registry, progress=progress)[0]

    def attempt_group(self, specs: list[RunSpec], registry: Registry, *, progress: bool = False) -> list[Outcome]:
        """Attempt runs that differ only in their seed together, their networks stacked in one process.

        Each run is claimed on its own: those done or held elsewhere are left alone. When a stacked group
        fails, its runs are attempted one at a time (resuming from their checkpoints), so that only a run
        that fails alone is recorded as failed.
        """
        outcomes: dict[str, Outcome] = {}
        claimed: list[tuple[RunSpec, FileLock]] = []
        try:
            for spec in specs:
                outcome, lock = self._claim(spec, registry)
                if lock is None:
                    outcomes[spec.hash] = outcome
                else:
                    claimed.append((spec, lock))
            mine = [spec for spec, _ in claimed]
            if len(mine) > 1:
                try:
                    results = execute_stacked(mine, [self.directory(s) for s in mine], registry, progress=progress)
                    outcomes |= {s.hash: self._done(s, r.results) for s, r in zip(mine, results)}
                    mine = []
                except Exception as exc:  # find out below which run fails alone
                    tqdm.write(f"stacked training of {len(mine)} runs failed ({type(exc).__name__}: {exc}); "
                               "attempting them one at a time", file=sys.stderr)
            for spec in mine:
                outcomes[spec.hash] = self._execute(spec, registry, progress)
        finally:
            for _, lock in claimed:
                lock.release()
        return [outcomes[spec.hash] for spec in specs]

    def _claim(self, spec: RunSpec, registry: Registry) -> tuple[Outcome | None, FileLock | None]:
        """The run's lock when this process may run it, else the outcome that says why not. A finished run
        made on other data than its dataset holds now raises DataError (see asdbench.datacheck)."""
        directory = self.directory(spec)
        if (directory / RESULTS).exists():
            self._check_data(spec, registry)
            return Outcome(spec.hash, RunState.DONE, self.results(spec)), None
        directory.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(directory / LOCK))
        try:
            lock.acquire(timeout=0)
        except Timeout:
            return Outcome(spec.hash, RunState.RUNNING), None
        if (directory / RESULTS).exists():  # finished by another process between our check and our lock
            lock.release()
            return Outcome(spec.hash, RunState.DONE, self.results(spec)), None
        return None, lock

    def _check_data(self, spec: RunSpec, registry: Registry) -> None:
        key = json.dumps(spec.dataset, sort_keys=True)
        if key not in self._fingerprints:
            self._fingerprints[key] = datacheck.current_fingerprint(spec.dataset, registry)
        datacheck.check(self.directory(spec), self._fingerprints[key])

    def _execute(self, spec: RunSpec, registry: Registry, progress: bool) -> Outcome:
        directory = self.directory(spec)
        try:
            result = execute(spec, directory, registry, progress=progress)
        except Exception as exc:  # the grid goes on; the store keeps what went wrong
            write_json_atomic(directory / ERROR, {"error": f"{type(exc).__name__}: {exc}",
                                                  "traceback": traceback.format_exc()})
            return Outcome(spec.hash, RunState.FAILED, error=f"{type(exc).__name__}: {exc}")
        return self._done(spec, result.results)

    def _done(self, spec: RunSpec, results: dict[str, Any]) -> Outcome:
        (self.directory(spec) / ERROR).unlink(missing_ok=True)
        return Outcome(spec.hash, RunState.DONE, results)


def _locked(path: Path) -> bool:
    if not path.exists():
        return False
    lock = FileLock(str(path))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return True
    lock.release()
    return False
