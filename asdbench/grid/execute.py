"""A grid's runs brought to done: in this process, a process pool, or on Dask, every executor through the same
store, so an interrupted grid resumes, a finished run is never recomputed, and several processes or workers on one
grid never compute a run twice. ``train.stack_seeds`` = N trains up to N runs that differ only in their seed
together (:mod:`asdbench.training.stacked`)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from asdbench.contract.registry import Registry, get_registry
from asdbench.errors import PreflightError, SpecError
from asdbench.grid.cluster import Attempts, dask_executor
from asdbench.grid.expand import Grid
from asdbench.grid.problems import report
from asdbench.grid.watch import watch_grid
from asdbench.spec.identity import RunSpec, canonical_json, training_identity
from asdbench.store.claims import CLAIMS
from asdbench.store.preflight import Checked, check_runs, to_compute
from asdbench.store.reading import RunState
from asdbench.store.stale import apply as apply_code_policy
from asdbench.store.stale import survey
from asdbench.store.store import POLL_SECONDS, Outcome, Store, attempt_in_process


def execute_grid(grid: Grid, runs_root: Path, *, executor: str = "local", workers: int = 1,
                 scheduler: str | None = None, claims: str = "files", progress: bool = True,
                 changed_code: str = "refuse") -> dict[str, Outcome]:
    """Bring every run of the grid to done or failed; returns each run's outcome by hash. Every run it would compute
    is checked first (:func:`check_grid`); with ``progress``, what it does is shown as it goes
    (:mod:`asdbench.grid.watch`).

    ``changed_code`` is the policy for finished runs made with other code than is installed, applied before any
    work (:func:`asdbench.store.stale.apply`): "refuse" (raise, naming them), "rerun" or "keep".

    Runs whose spec sets ``train.stack_seeds`` = N > 1 are trained up to N together in one process
    (:mod:`asdbench.training.stacked`), which fills a GPU that one small model leaves idle. ``claims`` says how a process
    claims a training or run (:mod:`asdbench.store.claims`): "scheduler" needs the ``dask`` executor.
    """
    if claims not in CLAIMS:
        raise SpecError(f"unknown claims {claims!r}; claims: {', '.join(CLAIMS)}")
    if claims == "scheduler" and executor != "dask":
        raise SpecError("--claims scheduler holds claims on a Dask scheduler: it needs --executor dask")
    runs_root = Path(runs_root).resolve()  # the path every worker is given, whatever its working directory
    store = Store(runs_root)
    unique = {run.spec.hash: run.spec for run in grid.runs}
    registry = get_registry()
    checked = check_grid(grid, store, registry, changed_code=changed_code, device=executor == "local")
    apply_code_policy(changed_code, list(unique.values()), store, registry)
    outcomes: dict[str, Outcome] = {}
    pending = dict(unique)
    # a context, so that an error (an unreachable scheduler) ends the bars' lines before it is printed
    with watch_grid(grid, store, checked, enabled=progress) as watch, \
            _executor(executor, store, workers, scheduler, claims, progress) as attempts:
        while pending:
            groups = training_groups(list(pending.values()))
            running = {}
            for group in attempts([[spec.canonical for spec in group] for group in groups]):
                for outcome in group:
                    if outcome.state is RunState.RUNNING:
                        running[outcome.hash] = pending[outcome.hash]
                    else:
                        outcomes[outcome.hash] = outcome
                watch.finished(group)
            pending = running
            if pending:  # held by another process: wait for it to finish (or die), then look again
                time.sleep(POLL_SECONDS)
    return outcomes


def check_grid(grid: Grid, store: Store, registry: Registry, *, changed_code: str, device: bool) -> Checked:
    """Check every run the grid would compute before any work (:mod:`asdbench.store.preflight`); raise
    :class:`PreflightError` naming each problem once, with the runs it concerns by their coordinates. ``device``:
    whether the work runs on this machine (not on Dask workers, which have devices of their own)."""
    checked = check_runs(to_compute([run.spec for run in grid.runs], store, registry, changed_code), registry,
                         device=device)
    if checked.problems:
        coordinates = {run.spec.hash: run.coordinates for run in grid.runs}
        problems = [(p.cause, [coordinates[spec.hash] for spec in p.runs]) for p in checked.problems]
        raise PreflightError(report(grid.path, problems, len(grid.runs),
                                    "found before any work (nothing was trained, nothing written)"))
    return checked


def training_groups(specs: list[RunSpec]) -> list[list[RunSpec]]:
    """Specs grouped so that one attempt trains each training once: every run of a training goes with it, and
    up to ``train.stack_seeds`` trainings that differ only in their seed go together (in order of first
    appearance)."""
    by_rest: dict[str, dict[str, list[RunSpec]]] = {}
    for spec in specs:
        rest = {key: value for key, value in training_identity(spec.canonical).items() if key != "seed"}
        rest["stack_seeds"] = spec.train["stack_seeds"]
        by_rest.setdefault(canonical_json(rest), {}).setdefault(spec.training_hash, []).append(spec)
    groups = []
    for trainings in by_rest.values():
        runs = list(trainings.values())
        size = runs[0][0].train["stack_seeds"]
        groups += [[spec for training in runs[i : i + size] for spec in training] for i in range(0, len(runs), size)]
    return groups


@contextmanager
def _executor(executor: str, store: Store, workers: int, scheduler: str | None, claims: str,
              progress: bool) -> Iterator[Attempts]:
    """A function from groups of canonical specs to their outcomes, open for the whole grid."""
    if executor == "dask":
        def report(line: str) -> None:
            if progress:
                tqdm.write(line, file=sys.stderr)

        with dask_executor(store.root, workers=workers, scheduler=scheduler, claims=claims, report=report) as attempts:
            yield attempts
    elif executor == "local" and workers > 1:
        pool = ProcessPoolExecutor(workers)
        try:
            yield lambda groups: pool.map(attempt_in_process, groups, [str(store.root)] * len(groups))
        except BaseException:  # a grid that stops (a full disk, a machine without the device) starts no more groups
            pool.shutdown(cancel_futures=True)
            raise
        finally:
            pool.shutdown()
    elif executor == "local":
        registry = get_registry()
        yield lambda groups: (store.attempt_group([RunSpec(c) for c in group], registry) for group in groups)
    else:
        raise SpecError(f"unknown executor {executor!r}; executors: local, dask")


def grid_status(grid: Grid, runs_root: Path) -> list[dict[str, Any]]:
    """Each run's coordinates and state, with its training's: several runs may share one training, and one that is
    not done shows the epochs it has trained (running, or where it stopped). A finished run or training made with
    other code than is installed is "stale" (asdbench.store.stale)."""
    store = Store(runs_root)
    stale = survey([run.spec for run in grid.runs], store, get_registry())
    rows = []
    for run in grid.runs:
        state = store.state(run.spec)
        error = store.error(run.spec) if state is RunState.FAILED else None
        trained = store.training_state(run.spec)
        record = store.progress(run.spec) if trained is not RunState.DONE else None
        rows.append({**run.coordinates, "training": run.spec.training_hash,
                     "trained": "stale" if store.training_directory(run.spec) in stale.directories else trained.value,
                     "epochs": f"{record.epoch}/{record.epochs}" if record else "",
                     "scoring": run.spec.scoring_hash,
                     "state": "stale" if run.spec.hash in stale.stale_runs else state.value,
                     "error": error["error"] if error else ""})
    return rows
