"""The ``dask`` executor of a grid: training groups as tasks on a Dask distributed scheduler.

It connects to the scheduler at ``--scheduler`` (or starts a LocalCluster), asks it whether its workers declare
a ``GPU`` resource, and submits one task per training group, each asking for one GPU when they do: a worker
started with ``--resources GPU=1`` (``asdbench worker`` starts one per GPU) then trains one group at a time,
however many threads it has. A cluster without the resource gets tasks without it, since a task asking for
a resource that no worker has waits for ever. A worker that dies has its task sent to another by the scheduler;
the store's checkpoints make that task resume where the dead one stopped. A scheduler that dies cancels every
task: that becomes a one-line error, and rerunning the grid with a new scheduler finishes it from the store.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import CancelledError
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from asdbench.errors import AsdbenchError
from asdbench.spec.identity import spec_hash
from asdbench.store.store import Outcome, attempt_in_process

SCHEDULER_CONNECT_SECONDS = 5
"""How long ``--scheduler`` may take to answer (Dask's default is 30 s, a long wait for a mistyped address)."""
GPU = "GPU"
"""The worker resource that stands for one GPU (``dask worker --resources GPU=1``)."""

Attempts = Callable[[list[list[dict[str, Any]]]], Iterator[list[Outcome]]]


@contextmanager
def dask_executor(runs_root: Path, *, workers: int, scheduler: str | None, claims: str,
                  report: Callable[[str], None]) -> Iterator[Attempts]:
    """A function that attempts groups of canonical specs on the cluster, yielding each group's outcomes as it
    finishes; connected once for the whole grid. ``report`` receives the one line that says what was chosen."""
    from dask.distributed import Client, LocalCluster

    where = f"--scheduler {scheduler}" if scheduler else "the LocalCluster"
    cluster = None if scheduler else LocalCluster(n_workers=max(workers, 1), threads_per_worker=1, processes=True,
                                                  dashboard_address=None)
    try:
        client = Client(scheduler or cluster, timeout=SCHEDULER_CONNECT_SECONDS)
    except (OSError, TimeoutError) as exc:  # dask raises OSError("Timed out trying to connect to ...")
        if cluster is not None:
            cluster.close()
        raise AsdbenchError(f"--scheduler {scheduler}: no Dask scheduler answered within "
                            f"{SCHEDULER_CONNECT_SECONDS} s ({type(exc).__name__}); is it running at that address?") \
            from None
    try:
        if not client.scheduler_info()["workers"]:
            report(f"dask: waiting for a worker to join the scheduler at {client.scheduler.address}")
            client.wait_for_workers(1)
        resources, choice = task_resources(client.scheduler_info()["workers"])
        report(f"dask: {choice}")
        yield lambda groups: _attempts(client, groups, runs_root, claims, resources, where)
    except SchedulerLost:
        # the client is still retrying the lost scheduler, and logs the end of its retries as an error
        with _quiet("distributed", "distributed.client"):
            client.close()
        raise
    finally:
        client.close()  # closing a closed client does nothing
        if cluster is not None:
            cluster.close()


def task_resources(workers: dict[str, dict[str, Any]]) -> tuple[dict[str, float] | None, str]:
    """What each task asks for, given the scheduler's workers (``scheduler_info()["workers"]``), and a sentence
    saying so: one GPU when any worker declares the resource, else nothing."""
    with_gpu = [info for info in workers.values() if info.get("resources", {}).get(GPU, 0) >= 1]
    if not with_gpu:
        return None, (f"no worker of {len(workers)} declares a {GPU} resource, so a training group takes one worker "
                      f"thread (start GPU workers with `asdbench worker SCHEDULER --gpus ...`)")
    gpus = sum(int(info["resources"][GPU]) for info in with_gpu)
    others = len(workers) - len(with_gpu)
    idle = f"; the {others} worker(s) without a GPU get none" if others else ""
    return {GPU: 1}, (f"{len(with_gpu)} of {len(workers)} workers declare {gpus} {GPU}(s) in all, so each training "
                      f"group takes one (resources {GPU}=1){idle}")


def _attempts(client: Any, groups: list[list[dict[str, Any]]], runs_root: Path, claims: str,
              resources: dict[str, float] | None, where: str) -> Iterator[list[Outcome]]:
    from dask.distributed import as_completed
    from distributed.scheduler import KilledWorker

    # a group held elsewhere comes back as running and is submitted again later: each attempt has a key of its own
    futures = [client.submit(attempt_in_process, group, str(runs_root), claims, resources=resources, pure=False,
                             key=f"asdbench-{'-'.join(spec_hash(c) for c in group)}-{uuid.uuid4().hex[:8]}")
               for group in groups]
    finished = 0
    for future in as_completed(futures):
        try:
            outcomes = future.result()
        except KilledWorker as exc:
            raise AsdbenchError(f"{where}: the training group of task {exc.task} was running on each of "
                                f"{exc.allowed_failures + 1} Dask workers that died (out of memory? see the workers' "
                                f"logs); its checkpoints are kept in {runs_root}, and a rerun resumes it") from None
        except (CancelledError, OSError, TimeoutError) as exc:
            if future.status == "error":  # the task's own exception
                raise
            # the scheduler is gone: Dask cancels every task, or the result cannot be fetched any more
            reason = getattr(exc, "reason", None) or type(exc).__name__
            raise SchedulerLost(f"{where}: the Dask scheduler stopped answering ({reason}) after {finished} of "
                                f"{len(groups)} training groups; every finished run is kept in {runs_root}: start a "
                                "scheduler and workers again and rerun this command to finish the grid (finished "
                                "runs are not recomputed)") from None
        finished += 1
        yield outcomes


class SchedulerLost(AsdbenchError):
    """The scheduler went away in the middle of a grid."""


@contextmanager
def _quiet(*names: str) -> Iterator[None]:
    """Only critical messages from these loggers (Dask sets a level on some children of "distributed")."""
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)
