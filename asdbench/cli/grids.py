"""``asdbench grid``, ``status`` and ``worker``: a grid's runs computed, shown, and Dask workers to compute them."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tabulate import tabulate

from asdbench.cli.arguments import (
    Command,
    code_change_arguments,
    code_policy,
    existing_store,
    override_arguments,
    overrides,
    positive_int,
)
from asdbench.errors import AsdbenchError
from asdbench.files.paths import writable_directory
from asdbench.store.claims import CLAIMS


def add_commands(command: Command) -> None:
    sub = command("grid", _grid, "run every run of a grid file (resumable; finished runs are never recomputed)")
    sub.add_argument("grid", type=Path)
    sub.add_argument("--out", type=Path, default=Path("runs"), help="the run store (default: runs)")
    sub.add_argument("--executor", choices=["local", "dask"], default="local")
    sub.add_argument("--workers", type=positive_int, default=1,
                     help="processes (local) or LocalCluster workers (dask)")
    sub.add_argument("--scheduler", help="address of a running Dask scheduler (default: start a LocalCluster)")
    sub.add_argument("--claims", choices=CLAIMS, default="files",
                     help="how a worker claims a training or run: OS file locks in the store (default), or locks on "
                          "the Dask scheduler (with --executor dask, for a store whose file system's locks stay on "
                          "each node; see README)")
    override_arguments(sub)
    code_change_arguments(sub)

    sub = command("status", _status, "show each run of a grid: done, running, failed or pending")
    sub.add_argument("grid", type=Path)
    sub.add_argument("--out", type=Path, default=Path("runs"), help="the run store (default: runs)")
    override_arguments(sub)

    sub = command("worker", _worker, "start one Dask worker per GPU of this machine, each seeing only its GPU "
                  "(CUDA_VISIBLE_DEVICES) and declaring it (--resources GPU=1); other options go to every "
                  "`dask worker`", allow_abbrev=False)
    sub.add_argument("scheduler", help="address of the Dask scheduler, e.g. tcp://node1:8786")
    sub.add_argument("--gpus", help="comma-separated GPU indices or UUIDs (default: $CUDA_VISIBLE_DEVICES)")
    sub.add_argument("--name", help="worker name; with several GPUs, NAME-0, NAME-1, ... (default: HOST-gpu-GPU)")
    sub.add_argument("--nthreads", type=int, default=1, help="threads per worker (default 1)")


def _grid(args: argparse.Namespace) -> int:
    from asdbench.grid.execute import execute_grid
    from asdbench.grid.expand import load_grid
    from asdbench.report.leaderboard import check_table

    writable_directory(args.out, "--out")
    grid = load_grid(args.grid, overrides=overrides(args))
    check_table(grid)
    outcomes = execute_grid(grid, args.out, executor=args.executor, workers=args.workers, scheduler=args.scheduler,
                            claims=args.claims, changed_code=code_policy(args))
    failed = [o for o in outcomes.values() if o.error]
    print(f"{len(outcomes) - len(failed)} of {len(outcomes)} runs done in {args.out}")
    for outcome in failed:
        print(f"failed: {outcome.hash}: {outcome.error} (traceback in {outcome.error_file})", file=sys.stderr)
    return 1 if failed else 0


def _status(args: argparse.Namespace) -> int:
    from asdbench.grid.execute import grid_status
    from asdbench.grid.expand import load_grid
    from asdbench.grid.watch import running_trainings
    from asdbench.store.reading import StoredRuns

    grid = load_grid(args.grid, overrides=overrides(args))
    rows = grid_status(grid, existing_store(args.out, args.grid))
    print(tabulate(rows, headers="keys", tablefmt="simple"))
    states = ("done", "stale", "running", "failed", "damaged", "pending")
    trainings = {row["training"]: row["trained"] for row in rows}
    runs = ", ".join(f"{sum(r['state'] == state for r in rows)} {state}" for state in states)
    trained = ", ".join(f"{sum(t == state for t in trainings.values())} {state}" for state in states)
    print(f"\n{len(rows)} runs: {runs}\n{len(trainings)} trainings: {trained}")
    for line in running_trainings(grid, StoredRuns(args.out)):
        print(f"running: {line}")
    return 0


def _worker(args: argparse.Namespace) -> int:
    from asdbench.grid.workers import gpu_list, run_workers, worker_commands

    if args.nthreads < 1:
        raise AsdbenchError(f"--nthreads: expected a positive number of threads, got {args.nthreads}")
    return run_workers(worker_commands(args.scheduler, gpu_list(args.gpus), name=args.name, nthreads=args.nthreads,
                                       dask_options=args.dask_options))
