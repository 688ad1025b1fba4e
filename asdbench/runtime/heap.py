"""Freed memory kept in the process while a training or an embedding runs on the CPU (glibc's malloc).

glibc's malloc serves a block above its mmap threshold (which grows with use to at most 32 MiB) with a fresh
``mmap`` and unmaps it when freed, so the kernel zeroes every page of such a block again on its first touch. At the
paper's 18 s tiles and batch 64 most activations are 66-270 MB: a training step of the main system took 5 million
page faults and 7-10 s of system time on 2 cores. With ``mmap`` off and trimming deferred, freed blocks go back to
the heap and the next step reuses them: the same kernels on the same values (checkpoints equal bit for bit), no
page faults, and the step at 18 s tiles 1.5-2.5x as fast (docs/performance.md). The price is peak resident memory,
about 1.45x for that step (5.9 -> 8.5 GB): glibc 2.36's ``memalign`` (torch aligns to 64 bytes) asks for a little
more than a freed block of the same size, so the heap grows by a few blocks of each size before it reuses them.

It works in the process's main thread, and in any thread where glibc has one arena (``MALLOC_ARENA_MAX=1``, which
docs/cluster.md asks of CPU Dask workers, whose tasks run in threads): glibc gives each other thread an arena of its
own, whose blocks above 64 MiB are always mapped afresh and whose heaps are unmapped once empty.

``$ASDBENCH_CPU_ALLOCATOR`` chooses: "reuse" (the default where the C library is glibc and the environment does not
set its mmap threshold or count) or "system" (malloc as configured; the default otherwise). It is a machine's setting, like
``ASDBENCH_DEVICE``, not a run's: it changes nothing that is computed.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import platform
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

from asdbench.errors import HostError

if TYPE_CHECKING:
    import torch

ALLOCATOR_VARIABLE = "ASDBENCH_CPU_ALLOCATOR"
REUSE, SYSTEM = "reuse", "system"

# glibc's mallopt parameters (malloc.h), the environment's names for them, and what each is restored to where the
# environment does not set it. With none set, glibc's thresholds are dynamic and settle, in a process that has freed
# a block of 32 MiB or more (as any training has), at DEFAULT_MMAP_THRESHOLD_MAX on 64-bit and trimming at twice
# that; with a threshold set by the environment they are static, and the others keep glibc's static defaults.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_MMAP_MAX = -1, -3, -4
_ENVIRONMENT_NAMES = {
    _M_MMAP_MAX: ("MALLOC_MMAP_MAX_", "glibc.malloc.mmap_max"),
    _M_MMAP_THRESHOLD: ("MALLOC_MMAP_THRESHOLD_", "glibc.malloc.mmap_threshold"),
    _M_TRIM_THRESHOLD: ("MALLOC_TRIM_THRESHOLD_", "glibc.malloc.trim_threshold"),
}
_SETTLED = {_M_MMAP_MAX: 65536, _M_MMAP_THRESHOLD: 32 * 2**20, _M_TRIM_THRESHOLD: 64 * 2**20}
_STATIC = {_M_MMAP_MAX: 65536, _M_MMAP_THRESHOLD: 128 * 2**10, _M_TRIM_THRESHOLD: 128 * 2**10}
_NEVER_TRIM = 2**31 - 1  # mallopt takes an int

_lock = threading.Lock()
_depth = 0


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    return ctypes.CDLL("libc.so.6")  # glibc's soname on every Linux architecture it supports


def environment_setting(parameter: int) -> int | None:
    """The value this process's environment gives a mallopt ``parameter`` (``GLIBC_TUNABLES``, else glibc's
    ``MALLOC_*_`` variable), or None."""
    variable, tunable = _ENVIRONMENT_NAMES[parameter]
    value = os.environ.get(variable)
    for entry in os.environ.get("GLIBC_TUNABLES", "").split(":"):
        name, _, setting = entry.partition("=")
        if name == tunable:
            value = setting
    try:
        return int(value, 0) if value else None
    except ValueError:  # glibc ignores it too
        return None


def mmap_configured() -> bool:
    """Whether the environment sets how glibc maps large blocks (its mmap threshold or count), which "reuse" would
    overrule. A trim threshold alone (Dask's nanny gives its workers ``MALLOC_TRIM_THRESHOLD_=65536``) is no
    reason to leave memory unkept: the block restores it on exit."""
    return any(environment_setting(parameter) is not None for parameter in (_M_MMAP_MAX, _M_MMAP_THRESHOLD))


def cpu_allocator() -> str:
    """The allocator ``$ASDBENCH_CPU_ALLOCATOR`` asks for, checked: "reuse" or "system" (unset or empty: "reuse"
    under glibc unless the environment configures its mmap use, :func:`mmap_configured`, else "system"). A value it
    cannot honour is a :class:`HostError`: the machine's, not a run's."""
    value = os.environ.get(ALLOCATOR_VARIABLE, "")
    if not value:
        return REUSE if _glibc() and not mmap_configured() else SYSTEM
    if value not in (REUSE, SYSTEM):
        raise HostError(f"{ALLOCATOR_VARIABLE}={value!r}: expected {REUSE!r} or {SYSTEM!r}")
    if value == REUSE and _glibc() is None:
        raise HostError(f"{ALLOCATOR_VARIABLE}={REUSE}: keeping freed memory needs glibc's malloc (Linux with glibc); "
                        f"this is {platform.system()} {' '.join(filter(None, platform.libc_ver())) or 'without glibc'}: set it "
                        f"to {SYSTEM!r} or leave it unset")
    return value


def restored_settings() -> dict[int, int]:
    """What each mallopt parameter the block changes is set back to (see the constants above)."""
    configured = {parameter: environment_setting(parameter) for parameter in _ENVIRONMENT_NAMES}
    defaults = _STATIC if any(value is not None for value in configured.values()) else _SETTLED
    return {parameter: defaults[parameter] if value is None else value for parameter, value in configured.items()}


@contextlib.contextmanager
def freed_memory_kept(device: torch.device, *, release: bool = True) -> Iterator[None]:
    """Within the block, and on the CPU under the "reuse" allocator, freed memory stays in the process for reuse.

    Blocks nest (threads included): the outermost one restores malloc's settings on exit
    (:func:`restored_settings`: the environment's where it sets them, else an mmap threshold of 32 MiB and trimming
    at 64 MiB, where glibc's dynamic thresholds settle), and with ``release`` hands the
    kept memory back to the system (``malloc_trim``); a benchmark that times one way's steps in turn with another's
    passes ``release=False`` so that each step finds the heap as a training's later steps do.
    """
    global _depth
    if device.type != "cpu" or cpu_allocator() != REUSE:
        yield
        return
    libc = _glibc()
    assert libc is not None  # cpu_allocator() says "reuse" only under glibc
    with _lock:
        if _depth == 0:
            libc.mallopt(_M_MMAP_MAX, 0)
            libc.mallopt(_M_TRIM_THRESHOLD, _NEVER_TRIM)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                for parameter, value in restored_settings().items():
                    libc.mallopt(parameter, value)
                if release:
                    libc.malloc_trim(0)
