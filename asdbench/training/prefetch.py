"""Batches made ahead of the loop that uses them, so that the device does not wait for the host between steps.

Training and embedding assemble each batch from the audio cache (:meth:`asdbench.data.clips.ClipSource.batch`:
cropping, tiling and int16 conversion, numpy work of tens of milliseconds for 64 clips of 18 s). :func:`prefetched`
runs the iterator that makes them in a background thread, ``depth`` batches ahead. One thread runs it, in order,
so it consumes a random generator in the same sequence as the loop would have: training with and without
prefetching is bit-identical. Whatever the loop draws from torch's generators (mixup, FeatEx) stays in the loop's
thread.

:class:`DeviceFeed` moves a batch to the device: on CUDA from pinned host memory, on a side stream, started by
the producer thread so that the copy overlaps the previous step's kernels; the loop's stream waits for it only
when it uses the batch. On the CPU the host tensors are the batch.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import torch

PREFETCH_BATCHES = 2
"""How many batches the producer thread keeps ready on a GPU: one to cover a slow batch, one for the step in flight."""


def default_prefetch(device: torch.device) -> int:
    """:data:`PREFETCH_BATCHES` on a GPU, 0 on the CPU, where the producer thread takes a core from torch's own
    threads and an epoch is slower with it (``make bench``, ``test_training_loop_prefetch``; docs/performance.md).
    The results are the same either way (tests/test_prefetch.py)."""
    return PREFETCH_BATCHES if device.type == "cuda" else 0

T = TypeVar("T")
_JOIN_SECONDS = 0.05  # while stopping: how often the queue is emptied again for a producer that put one more item


@contextlib.contextmanager
def prefetched(items: Iterable[T], depth: int = PREFETCH_BATCHES) -> Iterator[Iterator[T]]:
    """``items``, made up to ``depth`` ahead in a background thread (``depth`` 0: made in this thread, when asked
    for). An exception raised while making an item is raised again here, when the loop reaches that item; the
    thread stops when the ``with`` block ends, however it ends (an error, KeyboardInterrupt, a ``break``)."""
    if depth < 0:
        raise ValueError(f"prefetch depth must be 0 or more, got {depth}")
    if depth == 0:
        yield iter(items)
        return
    producer = _Producer(items, depth)
    try:
        yield iter(producer)
    finally:
        producer.stop()


@dataclass(frozen=True)
class _Failure:
    error: BaseException


_END = object()


class _Producer:
    """A daemon thread that puts the items of an iterable into a bounded queue, then an end mark or its error.

    It blocks on a full queue without polling (a thread that woke up every few milliseconds would take a core from
    torch's threads on a small machine); :meth:`stop` empties the queue until the thread has seen that it must stop.
    """

    def __init__(self, items: Iterable[T], depth: int) -> None:
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(items,), name="asdbench-prefetch", daemon=True)
        self._thread.start()

    def _run(self, items: Iterable[T]) -> None:
        try:
            for item in items:
                if self._stopped.is_set():
                    return
                self._queue.put(item)
        except BaseException as error:  # re-raised in the consuming thread, whatever it is
            self._queue.put(_Failure(error))
            return
        self._queue.put(_END)

    def __iter__(self) -> Iterator[T]:
        while True:
            item = self._queue.get()
            if item is _END:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item

    def stop(self) -> None:
        """Stop the thread (it finishes the item it is making, then exits) and wait for it."""
        self._stopped.set()
        while self._thread.is_alive():
            with contextlib.suppress(queue.Empty):
                while True:  # unblock a put, so that the thread sees the stop
                    self._queue.get_nowait()
            self._thread.join(timeout=_JOIN_SECONDS)


class DeviceFeed:
    """Host tensors to ``device``: on CUDA, pinned buffers copied asynchronously on a side stream; elsewhere a
    plain copy in the consuming thread (none on the CPU).

    :meth:`empty` and :meth:`send` may run in a producer thread; :meth:`receive` runs in the thread that uses the
    tensors, before it uses them.
    """

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self._cuda = device.type == "cuda"
        self._stream = torch.cuda.Stream(device) if self._cuda else None

    def empty(self, shape: tuple[int, ...]) -> torch.Tensor:
        """A float32 host buffer to fill, pinned when the device is CUDA."""
        return torch.empty(shape, dtype=torch.float32, pin_memory=self._cuda)

    def send(self, *tensors: torch.Tensor) -> Sent:
        if not self._cuda:
            return Sent(tensors, None)
        with torch.cuda.stream(self._stream):
            moved = tuple(tensor.pin_memory().to(self.device, non_blocking=True) for tensor in tensors)
            copied = torch.cuda.Event()
            copied.record(self._stream)
        return Sent(moved, copied)

    def receive(self, sent: Sent) -> tuple[torch.Tensor, ...]:
        if sent.copied is None:
            return tuple(tensor.to(self.device) for tensor in sent.tensors)
        stream = torch.cuda.current_stream(self.device)
        stream.wait_event(sent.copied)
        for tensor in sent.tensors:  # allocated on the side stream: not to be reused before this stream is done
            tensor.record_stream(stream)
        return sent.tensors


@dataclass(frozen=True)
class Sent:
    tensors: tuple[torch.Tensor, ...]
    copied: torch.cuda.Event | None
