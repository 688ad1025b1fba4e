"""A grid on a Dask cluster as users run one: `dask scheduler` and `dask worker` processes on loopback, each
worker in its own working directory with its own audio cache; a worker killed in the middle of a run, the
scheduler killed in the middle of a grid, claims held on the scheduler, GPU workers started by `asdbench worker`
(checked through the scheduler, no GPU needed) and the job script of docs/cluster.md's SLURM example.

Every process a test starts is in a session of its own, and its whole process group is killed when the test
ends, whatever happened."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest
from distributed import Client, Lock

from asdbench.cli.main import main
from asdbench.contract.registry import use_registry
from asdbench.errors import AsdbenchError
from asdbench.grid.cluster import task_resources
from asdbench.grid.execute import execute_grid, training_groups
from asdbench.grid.expand import load_grid
from asdbench.grid.workers import gpu_list, worker_commands
from asdbench.report import leaderboard
from asdbench.store.reading import RunState
from asdbench.store.store import Store, attempt_in_process
from tests.helpers.fake_system import install_fake_system
from tests.helpers.grids import finished_stamps, grid_file

DOCS = Path(__file__).resolve().parent.parent / "docs" / "cluster.md"
CLUSTER_ENV = {  # a dead worker's claims on the scheduler lapse within seconds, not the default 30 s
    "DASK_DISTRIBUTED__SCHEDULER__LOCKS__LEASE_TIMEOUT": "2s",
    "DASK_DISTRIBUTED__SCHEDULER__LOCKS__LEASE_VALIDATION_INTERVAL": "0.5s",
}
START_SECONDS = 60
LOOPBACK = ("--no-dashboard", "--dashboard-address", "127.0.0.1:0")
"""Without a dashboard, Dask still serves its HTTP routes, by default on every interface."""


@dataclass
class Processes:
    """Processes started by a test, each leading its own process group, all killed by :meth:`stop`."""

    started: list[subprocess.Popen] = field(default_factory=list)

    def start(self, argv: list[str], *, cwd: Path, env: dict[str, str] | None = None,
              log: Path | None = None) -> subprocess.Popen:
        with open(log or os.devnull, "ab") as out:  # the child has its own copy of the descriptor
            process = subprocess.Popen(argv, cwd=cwd, env={**os.environ, **CLUSTER_ENV, **(env or {})},
                                       stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.started.append(process)
        return process

    def stop(self) -> None:
        for process in self.started:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait()


@dataclass
class Cluster:
    address: str
    scheduler: subprocess.Popen
    caches: list[Path]  # each worker's audio cache


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def dask(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", f"distributed.cli.{module}", *args]


def start_scheduler(processes: Processes, directory: Path) -> tuple[str, subprocess.Popen]:
    port = free_port()
    directory.mkdir(parents=True, exist_ok=True)
    scheduler = processes.start(dask("dask_scheduler", "--host", "127.0.0.1", "--port", str(port), *LOOPBACK),
                                cwd=directory, log=directory / "scheduler.log")
    return f"tcp://127.0.0.1:{port}", scheduler


def start_cluster(processes: Processes, directory: Path, workers: int = 2) -> Cluster:
    """A scheduler and ``workers`` single-threaded workers, each in a directory of its own with its own cache."""
    address, scheduler = start_scheduler(processes, directory)
    caches = []
    for index in range(workers):
        home = directory / f"worker-{index}"
        home.mkdir()
        caches.append(home / "audio-cache")
        processes.start(
            dask("dask_worker", address, "--host", "127.0.0.1", *LOOPBACK, "--nthreads", "1", "--name", home.name),
            cwd=home, env={"ASDBENCH_CACHE_DIR": str(caches[-1])}, log=home / "worker.log")
    with Client(address, timeout=START_SECONDS) as client:
        client.wait_for_workers(workers, timeout=START_SECONDS)
    return Cluster(address, scheduler, caches)


@pytest.fixture(scope="module")
def fake_log(tmp_path_factory):
    """The cheap system of tests/helpers/fake_system.py, installed for this module and for the processes it starts."""
    with pytest.MonkeyPatch.context() as monkeypatch, use_registry(None):
        yield install_fake_system(tmp_path_factory.mktemp("fake-system"), monkeypatch)


@pytest.fixture(scope="module")
def cluster(fake_log, tmp_path_factory):
    processes = Processes()
    try:
        yield start_cluster(processes, tmp_path_factory.mktemp("cluster"))
    finally:
        processes.stop()


@pytest.fixture
def processes():
    started = Processes()
    yield started
    started.stop()


@pytest.fixture(scope="module")
def grids(fake_log, tiny_dataset, tmp_path_factory):
    """Two grids of two trainings and their uninterrupted results, computed once by the local executor: a fast
    one, and a slow one whose loss sleeps a little at each step, so that kills land inside runs."""
    directory = tmp_path_factory.mktemp("grids")
    fast = load_grid(grid_file(directory, tiny_dataset, seeds=(1,), name="fast.toml"))
    slow = load_grid(grid_file(directory, tiny_dataset, seeds=(1,), slow=0.05, name="slow.toml"))
    for grid in (fast, slow):
        execute_grid(grid, directory / f"reference-{grid.path.stem}", progress=False)
    return {grid.path.stem: grid for grid in (fast, slow)} | {"reference": directory}


def reference(grids, grid) -> Path:
    return grids["reference"] / f"reference-{grid.path.stem}"


def assert_same_results(grid, store: Path, expected: Path) -> None:
    for run in grid.runs:
        assert Store(store).results(run.spec) == Store(expected).results(run.spec), run.coordinates
    assert leaderboard.render(grid, store) == leaderboard.render(grid, expected)


def executions(log: Path) -> list[str]:
    return log.read_text().split()


def grid_command(grid, store: Path, address: str, *extra: str) -> list[str]:
    return ["grid", str(grid.path), "--executor", "dask", "--scheduler", address, "--out", str(store), *extra]


def in_background(function, *args):
    """``function(*args)`` in a thread of this process, as a future."""
    pool = ThreadPoolExecutor(1)
    future = pool.submit(function, *args)
    pool.shutdown(wait=False)
    return future


def wait_for(condition, what: str, seconds: float = START_SECONDS):
    deadline = time.monotonic() + seconds
    while not (value := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)
    return value


def worker_pids(address: str) -> dict[str, int]:
    """Each worker's process id, by worker address."""
    with Client(address, timeout=START_SECONDS) as client:
        return client.run(os.getpid)


@pytest.mark.slow
def test_grid_on_a_cluster_computes_each_training_once_and_equals_local(cluster, grids, fake_log, tmp_path,
                                                                        monkeypatch, capsys):
    grid = grids["fast"]
    monkeypatch.chdir(tmp_path)  # a relative --out: the workers, elsewhere, get its absolute path
    before = len(executions(fake_log))
    assert main(["grid", str(grid.path), "--executor", "dask", "--scheduler", cluster.address, "--out", "runs"]) == 0
    assert "dask: no worker of 2 declares a GPU resource" in capsys.readouterr().err
    assert_same_results(grid, tmp_path / "runs", reference(grids, grid))
    trained_by = executions(fake_log)[before:]
    assert len(trained_by) == len(training_groups([run.spec for run in grid.runs])) == 2, "each training once"
    assert set(trained_by) <= {str(pid) for pid in worker_pids(cluster.address).values()}, "trained by the workers"
    assert any(cache.exists() and any(cache.iterdir()) for cache in cluster.caches), "workers use their own cache"


def training_holder(store: Path, pids: dict[str, int]) -> tuple[Path, int] | None:
    """A training in the middle of its run (epoch 2 saved, not finished) and the worker process holding it."""
    for directory in store.glob("*/checkpoints/epoch_002.pt"):
        training = directory.parent.parent
        if (training / "trained.json").exists():
            continue
        for pid in pids.values():
            if any(Path(f.path) == training / ".lock" for f in psutil.Process(pid).open_files()):
                return training, pid
    return None


@pytest.mark.slow
@pytest.mark.parametrize("claims", ["files", "scheduler"])
def test_a_worker_killed_mid_run_is_retried_elsewhere_and_resumes(cluster, grids, fake_log, tmp_path, claims):
    grid = grids["slow"]
    store = tmp_path / "runs"
    before = len(executions(fake_log))
    pids = worker_pids(cluster.address)
    command = in_background(main, grid_command(grid, store, cluster.address, "--claims", claims))
    training, pid = wait_for(lambda: training_holder(store, pids), "a training past epoch 2")
    kept = (training / "checkpoints" / "epoch_002.pt").stat()
    os.kill(pid, signal.SIGKILL)
    assert command.result(timeout=120) == 0
    assert_same_results(grid, store, reference(grids, grid))
    again = (training / "checkpoints" / "epoch_002.pt").stat()
    assert (again.st_ino, again.st_mtime_ns) == (kept.st_ino, kept.st_mtime_ns), "epochs 1-2 were not trained again"
    trained_by = executions(fake_log)[before:]
    assert len(trained_by) == len(grid.runs) + 1, "the killed training was started once more, nothing else"
    assert trained_by.count(str(pid)) == 1, "retried in another worker process"


@pytest.mark.slow
def test_a_killed_scheduler_is_one_line_and_a_rerun_with_a_new_one_finishes(cluster, grids, fake_log, tmp_path,
                                                                           processes, capfd):
    grid = grids["slow"]
    store = tmp_path / "runs"
    before = len(executions(fake_log))
    first = start_cluster(processes, tmp_path / "first", workers=1)  # one worker: the groups run one after another
    address = first.address
    capfd.readouterr()
    command = in_background(main, grid_command(grid, store, address))
    wait_for(lambda: finished_stamps(store), "the first finished run", 120)
    first.scheduler.send_signal(signal.SIGKILL)
    started = time.monotonic()
    done = finished_stamps(store)
    assert len(done) < len(grid.runs), "the second run takes longer than the kill"
    assert command.result(timeout=60) == 2
    assert time.monotonic() - started < 15, "the grid stops soon after its scheduler"
    error = capfd.readouterr().err  # what the command printed, Dask's log lines included
    assert "Traceback" not in error and " - distributed." not in error, error
    assert error.strip().splitlines()[-1].startswith(
        f"asdbench: error: --scheduler {address}: the Dask scheduler stopped answering"), error

    # the same command through a new scheduler (the module's cluster) finishes the grid, recomputing nothing
    assert main(grid_command(grid, store, cluster.address)) == 0
    assert {run: stamp for run, stamp in finished_stamps(store).items() if run in done} == done
    assert_same_results(grid, store, reference(grids, grid))
    # the old worker finished the group it held before stopping, or the rerun trained it: never both
    assert len(executions(fake_log)[before:]) == len(grid.runs)


@pytest.mark.slow
def test_scheduler_claims_are_honoured_by_the_workers(cluster, grids, tmp_path):
    """A claim held on the scheduler keeps every worker off the training, though no file lock is held."""
    grid = grids["fast"]
    group = training_groups([run.spec for run in grid.runs])[0]
    training = Store(tmp_path / "runs").training_directory(group[0])
    canonicals = [spec.canonical for spec in group]
    with Client(cluster.address, timeout=START_SECONDS) as client:
        lock = Lock(f"asdbench-claim:{training.resolve()}")
        assert lock.acquire(blocking=False)
        try:
            held = client.submit(attempt_in_process, canonicals, str(tmp_path / "runs"), "scheduler", pure=False)
            assert {outcome.state for outcome in held.result()} == {RunState.RUNNING}
        finally:
            lock.release()
        freed = client.submit(attempt_in_process, canonicals, str(tmp_path / "runs"), "scheduler", pure=False)
        assert {outcome.state for outcome in freed.result()} == {RunState.DONE}
    assert not (training / "error.json").exists()


def test_scheduler_claims_need_the_dask_executor(fake_log, tiny_dataset, tmp_path, capsys):
    path = grid_file(tmp_path, tiny_dataset, seeds=(1,))
    assert main(["grid", str(path), "--claims", "scheduler", "--out", str(tmp_path / "unused")]) == 2
    assert "--claims scheduler holds claims on a Dask scheduler: it needs --executor dask" in capsys.readouterr().err


# --- GPUs ---------------------------------------------------------------------------------------------------


def test_tasks_ask_for_a_gpu_only_where_workers_declare_one():
    cpu = {"w0": {"resources": {}}, "w1": {"resources": {}}}
    assert task_resources(cpu)[0] is None
    mixed = {"g0": {"resources": {"GPU": 1.0}}, "g1": {"resources": {"GPU": 1.0}}, "c": {"resources": {}}}
    resources, said = task_resources(mixed)
    assert resources == {"GPU": 1}
    assert said.startswith("2 of 3 workers declare 2 GPU(s)") and "the 1 worker(s) without a GPU get none" in said


def test_gpu_lists_and_worker_options_are_checked(monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    with pytest.raises(AsdbenchError, match="--gpus: name the GPUs"):
        gpu_list(None)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,GPU-8d1f6c2e-1b7a-4c1e-9f0e-3a2b1c0d9e8f")
    assert gpu_list(None) == ["2", "GPU-8d1f6c2e-1b7a-4c1e-9f0e-3a2b1c0d9e8f"]
    with pytest.raises(AsdbenchError, match=r"--gpus: 'x' in '0,x' is not a GPU index or UUID"):
        gpu_list("0,x")
    with pytest.raises(AsdbenchError, match="names a GPU twice"):
        gpu_list("1,1")
    with pytest.raises(AsdbenchError, match="--nworkers: asdbench worker starts one worker per GPU"):
        worker_commands("tcp://h:1", ["0"], name=None, nthreads=1, dask_options=["--nworkers", "2"])
    [alone] = worker_commands("tcp://h:1", ["3"], name="job", nthreads=2, dask_options=["--death-timeout", "60"])
    assert alone.name == "job" and alone.environment["CUDA_VISIBLE_DEVICES"] == "3"
    assert alone.argv[-6:] == ["--nthreads", "2", "--resources", "GPU=1", "--death-timeout", "60"]


def slurm_example() -> str:
    (code,) = re.findall(r"^```python file=slurm_grid\.py\n(.*?)^```$", DOCS.read_text(), re.MULTILINE | re.DOTALL)
    return code


@pytest.mark.slow
def test_the_slurm_example_starts_one_gpu_worker_per_gpu_and_runs_a_grid(grids, fake_log, tmp_path, processes,
                                                                         capsys, monkeypatch):
    """docs/cluster.md's SLURMCluster is built as written (its scheduler on loopback) and its job script run as
    SLURM would run it on a node with the job's two GPUs: a worker per GPU, each seeing its own and declaring
    it, then a grid whose tasks ask for a GPU each, and scancel's SIGTERM. No job is submitted."""
    import dask

    monkeypatch.chdir(tmp_path)  # where the launcher runs: its log_directory is made there
    namespace: dict = {"__name__": "slurm_grid"}
    exec(compile(slurm_example(), str(DOCS), "exec"), namespace)  # noqa: S102 (our own documentation)
    loopback = {"jobqueue.slurm.scheduler-options": {"host": "127.0.0.1", "dashboard": False,
                                                     "dashboard_address": "127.0.0.1:0"},
                "jobqueue.slurm.worker-extra-args": ["--host", "127.0.0.1", *LOOPBACK]}  # passed on by asdbench worker
    with dask.config.set(loopback):
        slurm = namespace["slurm_cluster"]()
    try:
        script = slurm.job_script()
        assert re.search(r"^#SBATCH -p gpu$", script, re.MULTILINE)
        assert re.search(r"^#SBATCH --gres=gpu:2$", script, re.MULTILINE)
        assert re.search(r"^#SBATCH -t 04:00:00$", script, re.MULTILINE)
        command = script.strip().splitlines()[-1]
        assert f"-m asdbench worker {slurm.scheduler_address} " in command and "--nthreads 8" in command
        assert "--nworkers" not in command and "--resources" not in command, "asdbench worker sets them"
        name = shlex.split(command)[shlex.split(command).index("--name") + 1]

        (tmp_path / "job.sh").write_text(script)
        job = processes.start(["bash", str(tmp_path / "job.sh")], cwd=tmp_path, log=tmp_path / "job.log",
                              env={"CUDA_VISIBLE_DEVICES": "0,1", "TMPDIR": str(tmp_path)})
        with Client(slurm.scheduler_address, timeout=START_SECONDS) as client:
            client.wait_for_workers(2, timeout=START_SECONDS)
            workers = client.scheduler_info()["workers"]
            assert sorted(w["name"] for w in workers.values()) == [f"{name}-0", f"{name}-1"]
            assert all(w["resources"] == {"GPU": 1} and w["nthreads"] == 8 for w in workers.values())
            seen = client.run(lambda: (os.environ["CUDA_VISIBLE_DEVICES"], os.environ["ASDBENCH_CACHE_DIR"]))
            names = {address: w["name"] for address, w in workers.items()}
            assert {names[a]: gpu for a, (gpu, _) in seen.items()} == {f"{name}-0": "0", f"{name}-1": "1"}
            assert {cache for _, cache in seen.values()} == {f"{tmp_path}/asdbench-audio"}

        # tasks asking for a GPU run there (a copy of a finished store: they read its runs back, training nothing)
        grid = grids["fast"]
        shutil.copytree(reference(grids, grid), tmp_path / "runs")
        capsys.readouterr()
        assert main(["grid", str(grid.path), "--executor", "dask", "--scheduler", slurm.scheduler_address,
                     "--out", str(tmp_path / "runs")]) == 0
        assert "dask: 2 of 2 workers declare 2 GPU(s) in all, so each training group takes one (resources GPU=1)" \
            in capsys.readouterr().err

        # scancel sends SIGTERM: asdbench worker stops its workers and exits
        [worker] = [p for p in psutil.Process(job.pid).children() if "asdbench" in " ".join(p.cmdline())]
        spawned = worker.children()
        assert len(spawned) == 2
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)
        assert not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in spawned)
    finally:
        slurm.close()
