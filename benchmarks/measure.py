"""What every benchmark records besides its time: clips per second and peak memory, plus side-by-side ratios.

Peak memory is the largest resident set of this process and its children (the reference-style loader's
workers and scoring processes are children), sampled every 5 ms while the benchmarked code runs, and on CUDA
also the peak of allocated device memory. ``make bench`` prints each asdbench/reference pair as a ratio.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psutil
import torch

MIB = 2**20


@dataclass
class Comparison:
    """Each way of doing one job: mean seconds, clips/s and peak memory, for the summary table."""

    work: str
    ways: dict[str, dict[str, float]] = field(default_factory=dict)


COMPARISONS: dict[str, Comparison] = {}
SAME_TILES = "asdbench, 18 s tiles"
"""The way that runs asdbench on the reference's 18 s tiles: its ratio to the reference is the way of working's
alone, with the tile length (which changes what is computed) left out."""
INTERLEAVED_STEPS: dict[str, dict[str, float]] = {}
"""The training step's ways timed in turn in one benchmark (test_bench_speed.test_training_step_ways_interleaved):
per way, its GFLOP per step and its fastest round's seconds."""
BEFORE = "asdbench, 18 s tiles, before issue 28"
"""The step at 18 s tiles as asdbench ran it before issue 28: contiguous tensors, and malloc as configured (freed
memory handed back to the system), in a process of its own; the speed-up's baseline."""
CONTIGUOUS = "asdbench, 18 s tiles, contiguous"
"""asdbench at 18 s tiles with contiguous tensors (``train.memory_format = "contiguous"``) and freed memory kept
(asdbench.runtime.heap): the CPU's default."""
CHANNELS_LAST = "asdbench, 18 s tiles, channels-last"
"""asdbench at 18 s tiles with channels-last tensors (``train.memory_format = "channels_last"``; CUDA's default)."""


class PeakMemory:
    """Peak RSS (MiB) of this process tree while the ``with`` block runs."""

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()

    def _rss(self) -> int:
        process = psutil.Process()
        total = process.memory_info().rss
        for child in process.children(recursive=True):
            try:
                total += child.memory_info().rss
            except psutil.Error:  # a child that just exited
                pass
        return total

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, self._rss())

    def __enter__(self) -> PeakMemory:
        self.peak = self._rss()
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()


def measure(benchmark, function: Callable[[], Any], *, clips: int, work: str, way: str, rounds: int = 1,
            warmup_rounds: int = 0) -> Any:
    """Benchmark ``function`` (``rounds`` timed calls) and record clips/s, peak memory and the comparison."""
    with PeakMemory() as memory:
        result = benchmark.pedantic(function, rounds=rounds, warmup_rounds=warmup_rounds, iterations=1)
    if benchmark.disabled:  # `pytest benchmarks --benchmark-disable`: each job ran once as a smoke test
        return result
    mean = benchmark.stats["mean"]
    benchmark.extra_info.update(clips_per_second=round(clips / mean, 2), peak_rss_mib=round(memory.peak / MIB),
                                device=str(_device()))
    if torch.cuda.is_available():
        benchmark.extra_info["peak_cuda_mib"] = round(torch.cuda.max_memory_allocated() / MIB)
    COMPARISONS.setdefault(work, Comparison(work)).ways[way] = {"seconds": mean, **benchmark.extra_info}
    return result


def _device() -> torch.device:
    from asdbench.runtime.devices import default_device

    return default_device()
