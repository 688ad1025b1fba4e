"""Freed memory kept in the process on the CPU (asdbench.runtime.heap): large blocks stop costing page faults inside
a training, the settings come back after it, trainings give the same checkpoints bit for bit either way, and a value
of ``ASDBENCH_CPU_ALLOCATOR`` that cannot be honoured is refused before any work."""

from __future__ import annotations

import os
import platform
import resource
import subprocess
import sys

import numpy as np
import psutil
import pytest
import torch

from asdbench.contract.registry import get_registry
from asdbench.data.clips import ClipSource
from asdbench.errors import HostError
from asdbench.runtime.heap import ALLOCATOR_VARIABLE, cpu_allocator, freed_memory_kept
from asdbench.store.preflight import check_runs
from asdbench.training.loop import TrainingPlan, train
from asdbench.training.system import build_system
from tests.helpers.training import CPU, ArrayClips, assert_same_states, states, system_spec

glibc_only = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="keeping freed memory needs glibc's malloc")

BLOCK = 64 * 2**20
"""Above the largest mmap threshold glibc ever sets itself (32 MiB): such a block is mapped afresh each time."""


def resident() -> int:
    return psutil.Process().memory_info().rss


def page_faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def faults_per_block(rounds: int = 3) -> list[int]:
    """Minor page faults of allocating, writing and freeing a 64 MiB tensor, each round."""
    counts = []
    for _ in range(rounds):
        before = page_faults()
        torch.empty(BLOCK // 4).fill_(1.0)
        counts.append(page_faults() - before)
    return counts


@pytest.fixture
def default_allocator(monkeypatch):
    """No allocator asked for, and malloc not configured through the environment: "reuse" under glibc."""
    for name in [ALLOCATOR_VARIABLE, "GLIBC_TUNABLES", *(name for name in os.environ if name.startswith("MALLOC_"))]:
        monkeypatch.delenv(name, raising=False)


@glibc_only
@pytest.mark.usefixtures("default_allocator")
def test_a_large_block_is_reused_inside_and_handed_back_after():
    """Inside, the heap grows by a few blocks (up to 8 here) and then serves each one from what it kept (glibc 2.36's
    memalign asks for a little more than a freed block of the same size, so it reuses one only once freed neighbours
    merge); at the end what it kept goes back to the system. (Outside, whether a block faults depends on what the
    process freed before, so the settings left alone are checked on a recorded libc below.)"""
    pages = BLOCK // 4096
    with freed_memory_kept(CPU):
        inside = faults_per_block(16)
        with freed_memory_kept(CPU):  # an inner block's end keeps the outer one's setting
            pass
        inner_done = faults_per_block(2)
        kept = resident()
    assert max(inside[-3:] + inner_done) < pages // 20, inside + inner_done
    assert kept - resident() > BLOCK // 2, "what the heap kept was handed back"


@pytest.mark.usefixtures("default_allocator")
@pytest.mark.parametrize("allocator, device", [("system", "cpu"), ("", "cuda"), ("", "meta")])
def test_malloc_is_left_as_it_is_for_the_system_allocator_or_another_device(monkeypatch, allocator, device):
    libc = RecordedLibc()
    monkeypatch.setattr("asdbench.runtime.heap._glibc", lambda: libc)
    monkeypatch.setenv(ALLOCATOR_VARIABLE, allocator)
    with freed_memory_kept(torch.device(device)):
        pass
    assert libc.calls == []


@pytest.mark.usefixtures("default_allocator")
def test_a_value_that_cannot_be_honoured_is_refused_before_any_work(monkeypatch):
    monkeypatch.setenv(ALLOCATOR_VARIABLE, "jemalloc")
    with pytest.raises(HostError, match=f"{ALLOCATOR_VARIABLE}='jemalloc': expected 'reuse' or 'system'"):
        check_runs([], registry=None)
    monkeypatch.setenv(ALLOCATOR_VARIABLE, "")
    assert cpu_allocator() == ("reuse" if platform.libc_ver()[0] == "glibc" else "system")


def test_reuse_without_glibc_names_the_variable(monkeypatch):
    monkeypatch.setattr("asdbench.runtime.heap._glibc", lambda: None)
    monkeypatch.setattr("platform.libc_ver", lambda: ("", ""))
    monkeypatch.setenv(ALLOCATOR_VARIABLE, "reuse")
    with pytest.raises(HostError, match=f"{ALLOCATOR_VARIABLE}=reuse: keeping freed memory needs glibc.* without glibc"):
        cpu_allocator()
    monkeypatch.delenv(ALLOCATOR_VARIABLE)
    assert cpu_allocator() == "system"


@glibc_only
@pytest.mark.usefixtures("default_allocator")
@pytest.mark.parametrize("variable, value", [("GLIBC_TUNABLES", "glibc.malloc.mmap_threshold=1048576"),
                                             ("MALLOC_MMAP_MAX_", "0")])
def test_mmap_set_up_by_the_environment_is_left_as_it_is(monkeypatch, variable, value):
    assert cpu_allocator() == "reuse"
    monkeypatch.setenv(variable, value)
    assert cpu_allocator() == "system"
    monkeypatch.setenv(ALLOCATOR_VARIABLE, "reuse")  # asked for explicitly, it overrules them
    assert cpu_allocator() == "reuse"


class RecordedLibc:
    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def mallopt(self, parameter, value):
        self.calls.append(("mallopt", parameter, value))
        return 1

    def malloc_trim(self, pad):
        self.calls.append(("malloc_trim", pad))
        return 1


M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_MMAP_MAX = -1, -3, -4


@pytest.mark.usefixtures("default_allocator")
@pytest.mark.parametrize("environment, restored", [
    ({}, {M_MMAP_MAX: 65536, M_MMAP_THRESHOLD: 32 * 2**20, M_TRIM_THRESHOLD: 64 * 2**20}),
    # Dask's nanny starts its workers so: glibc's thresholds are then static, the others at glibc's defaults
    ({"MALLOC_TRIM_THRESHOLD_": "65536"}, {M_MMAP_MAX: 65536, M_MMAP_THRESHOLD: 131072, M_TRIM_THRESHOLD: 65536}),
    ({"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=0x20000:glibc.malloc.arena_max=2"},
     {M_MMAP_MAX: 65536, M_MMAP_THRESHOLD: 131072, M_TRIM_THRESHOLD: 131072}),
])
def test_the_block_sets_malloc_and_puts_back_what_the_environment_set(monkeypatch, environment, restored):
    libc = RecordedLibc()
    monkeypatch.setattr("asdbench.runtime.heap._glibc", lambda: libc)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    with freed_memory_kept(CPU):
        with freed_memory_kept(CPU):
            pass
        assert libc.calls == [("mallopt", M_MMAP_MAX, 0), ("mallopt", M_TRIM_THRESHOLD, 2**31 - 1)]
    assert sorted(libc.calls[2:5]) == sorted(("mallopt", parameter, value) for parameter, value in restored.items())
    assert libc.calls[5:] == [("malloc_trim", 0)]


@glibc_only
@pytest.mark.slow
@pytest.mark.usefixtures("one_block_resnets")
def test_training_with_freed_memory_kept_gives_the_same_checkpoints_bit_for_bit(tmp_path, monkeypatch):
    """Batches of 32 clips of 6 s make activations of about 45 MB, above glibc's largest mmap threshold: with the
    system's allocator each is new memory (page faults by the thousand), kept they are reused; the checkpoints'
    weights are the same bits."""
    rng = np.random.default_rng(0)
    samples = 6 * 16000
    clips = ClipSource([ArrayClips((rng.normal(size=(64, samples)) * np.linspace(0.1, 1, 64)[:, None])
                                   .astype(np.float32))])
    checkpoints, faults = {}, {}
    for allocator in ("system", "reuse"):
        monkeypatch.setenv(ALLOCATOR_VARIABLE, allocator)
        spec = system_spec(batch_size=32)
        torch.manual_seed(1)
        system = build_system(spec.system, get_registry(), num_classes=3, num_samples=samples)
        plan = TrainingPlan.from_spec(spec.train, 1, samples)
        before = page_faults()
        paths = train(system, clips, np.arange(64) % 3, 3, plan, tmp_path / allocator, device=CPU, progress=False)
        faults[allocator] = page_faults() - before
        checkpoints[allocator] = states(paths)
    assert_same_states(checkpoints["system"], checkpoints["reuse"])
    assert faults["reuse"] < faults["system"] / 2, faults


THREAD_ROUNDS = f"""
import resource, threading, torch
from asdbench.runtime.heap import freed_memory_kept
faults = []
def work():
    with freed_memory_kept(torch.device("cpu")):
        for _ in range(16):
            before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            torch.empty({BLOCK // 4}).fill_(1.0)
            faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
thread = threading.Thread(target=work)
thread.start()
thread.join()
print(max(faults[-3:]))
"""


@glibc_only
@pytest.mark.slow
@pytest.mark.parametrize("arenas, kept", [("", False), ("1", True)])
@pytest.mark.usefixtures("default_allocator")
def test_a_thread_keeps_freed_memory_where_glibc_has_one_arena(arenas, kept):
    """What docs/cluster.md tells CPU Dask workers (which train in threads): glibc gives a thread other than the main
    one an arena of its own, whose large blocks are always mapped afresh, unless ``MALLOC_ARENA_MAX=1``."""
    environment = {name: value for name, value in os.environ.items() if name != "MALLOC_ARENA_MAX"}
    if arenas:
        environment["MALLOC_ARENA_MAX"] = arenas
    result = subprocess.run([sys.executable, "-c", THREAD_ROUNDS], env=environment, capture_output=True, text=True,
                            check=True)
    faults = int(result.stdout)
    assert (faults < BLOCK // 4096 // 20) == kept, faults
