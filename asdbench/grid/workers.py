"""``asdbench worker``: one Dask worker per GPU of this machine, each seeing only its own GPU.

Each worker is a ``dask worker`` process started with ``CUDA_VISIBLE_DEVICES`` set to one GPU (so that torch's
``cuda:0`` is that GPU, and no worker sees another's) and ``--resources GPU=1`` (so that the grid's tasks, which
ask for one GPU, run one at a time on it). The GPUs are the ``--gpus`` list, else the entries of
``$CUDA_VISIBLE_DEVICES``: SLURM sets it to the GPUs of a job (``--gres=gpu:N``), so the same command serves
in a job script, which is how dask-jobqueue runs it (``worker_command="asdbench worker"``). Options it does not
know are passed to every ``dask worker`` unchanged; the workers are named ``NAME-0``, ``NAME-1``, ... like those
of ``dask worker --nworkers``, the names dask-jobqueue expects.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass

from asdbench.errors import AsdbenchError
from asdbench.grid.cluster import GPU

GPU_ID = re.compile(r"\d+|(GPU|MIG)-[\w/-]+")
"""What CUDA_VISIBLE_DEVICES accepts for one device: an index, or a GPU or MIG UUID."""
OWN_OPTIONS = ("--nworkers", "--nprocs", "--resources")
"""``dask worker`` options that ``asdbench worker`` sets itself."""
STOP_SECONDS = 30


@dataclass(frozen=True)
class WorkerCommand:
    gpu: str
    name: str
    argv: list[str]

    @property
    def environment(self) -> dict[str, str]:
        return {**os.environ, "CUDA_VISIBLE_DEVICES": self.gpu}


def gpu_list(gpus: str | None) -> list[str]:
    """The GPUs named by ``--gpus`` ("0,1", or UUIDs), else by ``$CUDA_VISIBLE_DEVICES``."""
    where = "--gpus"
    if gpus is None:
        gpus, where = os.environ.get("CUDA_VISIBLE_DEVICES"), "$CUDA_VISIBLE_DEVICES"
        if not gpus:
            raise AsdbenchError("--gpus: name the GPUs to start a worker for (e.g. --gpus 0,1), or set "
                                "CUDA_VISIBLE_DEVICES (SLURM sets it for a job that asks for GPUs)")
    entries = [entry.strip() for entry in gpus.split(",")]
    for entry in entries:
        if not GPU_ID.fullmatch(entry):
            raise AsdbenchError(f"{where}: {entry!r} in {gpus!r} is not a GPU index or UUID (expected e.g. 0,1)")
    if len(set(entries)) != len(entries):
        raise AsdbenchError(f"{where}: {gpus!r} names a GPU twice; each GPU gets one worker")
    return entries


def worker_commands(scheduler: str, gpus: list[str], *, name: str | None, nthreads: int,
                    dask_options: list[str]) -> list[WorkerCommand]:
    """The ``dask worker`` command line of each GPU's worker."""
    for option in dask_options:
        if option.split("=")[0] in OWN_OPTIONS:
            raise AsdbenchError(f"{option}: asdbench worker starts one worker per GPU with --resources {GPU}=1 "
                                "itself; drop this option")
    base = name or f"{socket.gethostname()}-gpu"
    commands = []
    for index, gpu in enumerate(gpus):
        worker_name = base if name and len(gpus) == 1 else f"{base}-{index if name else gpu}"
        commands.append(WorkerCommand(gpu, worker_name, [
            sys.executable, "-m", "distributed.cli.dask_worker", scheduler, "--name", worker_name,
            "--nthreads", str(nthreads), "--resources", f"{GPU}=1", *dask_options]))
    return commands


def run_workers(commands: list[WorkerCommand]) -> int:
    """Start the workers, then wait for them; SIGTERM or SIGINT here stops them all, and so does the exit of
    any one of them (its status is returned), so that a job never goes on with a GPU short."""
    processes = []
    for command in commands:
        processes.append(subprocess.Popen(command.argv, env=command.environment))
        print(f"asdbench worker: GPU {command.gpu} -> dask worker {command.name!r} (pid {processes[-1].pid}, "
              f"CUDA_VISIBLE_DEVICES={command.gpu}, resources {GPU}=1)", flush=True)
    stopping: list[int] = []

    def stop(signum: int, frame: object) -> None:
        stopping.append(signum)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        while not stopping and all(process.poll() is None for process in processes):
            time.sleep(0.2)
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + STOP_SECONDS
        for process in processes:
            try:
                process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if stopping:
        return 128 + stopping[0]
    exited = next(process for process in processes if process.returncode is not None)
    gpu = commands[processes.index(exited)].gpu
    print(f"asdbench worker: the worker of GPU {gpu} exited with status {exited.returncode}; the others are stopped",
          file=sys.stderr)
    return exited.returncode
