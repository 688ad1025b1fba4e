"""Batches made ahead in a background thread change nothing but speed: the same checkpoints bit for bit, alone and
stacked; a failure while making a batch surfaces in the training's thread; the thread stops with the training.
The spectrogram-resnets have one residual block (conftest's ``one_block_resnets``)."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from asdbench.data.audio import ClipArray
from asdbench.data.clips import ClipSource
from asdbench.errors import DataError, TrainingError
from asdbench.training.loop import train
from asdbench.training.prefetch import PREFETCH_BATCHES, DeviceFeed, prefetched
from asdbench.training.stacked import StackedMember, train_stacked
from tests.helpers.training import CPU, SAMPLES, make

PRODUCER = "asdbench-prefetch"
pytestmark = pytest.mark.usefixtures("one_block_resnets")


class RecordingClips(ClipArray):
    """A cached int16 group (crops and tiles, as the cache serves them) that notes which thread made each batch,
    and can fail at a given call as a damaged cache entry would."""

    def __init__(self, *args, fail_at: int | None = None) -> None:
        super().__init__(*args)
        object.__setattr__(self, "threads", [])
        object.__setattr__(self, "fail_at", fail_at)

    def batch(self, indices, num_samples, starts=None, out=None):
        self.threads.append(threading.current_thread().name)
        if self.fail_at is not None and len(self.threads) >= self.fail_at:
            raise DataError("cache entry fan/train: 12 bytes where 64 were expected")
        return super().batch(indices, num_samples, starts=starts, out=out)


def cached_clips(fail_at: int | None = None) -> tuple[ClipSource, np.ndarray]:
    """14 clips in two groups, shorter and longer than the training length (tiled, and cropped at random)."""
    rng = np.random.default_rng(0)
    groups = []
    for name, lengths in (("fan", (12000, 20000, 16000, 30000, 9000, 24000)),
                          ("valve", (16000, 40000, 8000, 17000, 25000, 16001, 21000, 15000))):
        samples = [(rng.normal(size=n) * 3000).astype(np.int16) for n in lengths]
        offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        groups.append(RecordingClips([f"{name}/{i}.wav" for i in range(len(lengths))], offsets, np.array(lengths),
                                     np.concatenate(samples), fail_at=fail_at if name == "valve" else None))
    return ClipSource(groups), np.arange(14) % 3


def producer_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == PRODUCER]


def assert_identical(left: dict, right: dict) -> None:
    assert left["epoch"] == right["epoch"] and left["loss"] == right["loss"]
    assert left["model"].keys() == right["model"].keys()
    for key, value in left["model"].items():
        assert torch.equal(value, right["model"][key]), key
    for index, state in left["optimiser"]["state"].items():
        for name, value in state.items():
            assert torch.equal(value, right["optimiser"]["state"][index][name]), (index, name)


@pytest.mark.slow
def test_prefetched_training_gives_the_checkpoints_of_the_unprefetched_one_bit_for_bit(tmp_path):
    """Mixup and FeatEx draw from torch in the training's thread, crops from numpy in the producer's: two
    epochs with a partial last batch give the same weights, optimiser state and losses as without a thread."""
    checkpoints, threads = {}, {}
    for depth in (0, 2):
        clips, targets = cached_clips()
        system, plan = make(1, epochs=2, checkpoints=[1, 2])
        paths = train(system, clips, targets, 3, plan, tmp_path / str(depth), device=CPU, progress=False,
                      prefetch=depth)
        checkpoints[depth] = [torch.load(path, weights_only=True) for path in paths]
        threads[depth] = {name for group in clips.groups for name in group.threads}
    assert threads == {0: {"MainThread"}, 2: {PRODUCER}}, "the batches were made in the thread each depth says"
    for prefetched_state, plain_state in zip(checkpoints[2], checkpoints[0]):
        assert_identical(prefetched_state, plain_state)
    assert not producer_threads()


@pytest.mark.slow
def test_prefetched_stacked_training_gives_the_checkpoints_of_the_unprefetched_one_bit_for_bit(tmp_path):
    """Each member draws its own batch order and crops from its own generator in the producer thread."""
    checkpoints = {}
    for depth in (0, 2):
        clips, targets = cached_clips()
        members = []
        for seed in (1, 2):
            system, plan = make(seed, epochs=2, checkpoints=[2])
            members.append(StackedMember(system, clips, targets, 3, plan, tmp_path / f"{depth}-{seed}"))
        paths = train_stacked(members, device=CPU, progress=False, prefetch=depth)
        checkpoints[depth] = [torch.load(path, weights_only=True) for (path,) in paths]
    for prefetched_state, plain_state in zip(checkpoints[2], checkpoints[0]):
        assert_identical(prefetched_state, plain_state)
    assert checkpoints[2][0]["loss"] != checkpoints[2][1]["loss"], "each member trains on its own draws"


def test_a_failure_while_making_a_batch_stops_training_with_its_message_and_the_thread(tmp_path):
    clips, targets = cached_clips(fail_at=3)
    system, plan = make(1)
    with pytest.raises(DataError, match="cache entry fan/train: 12 bytes where 64 were expected"):
        train(system, clips, targets, 3, plan, tmp_path, device=CPU, progress=False, prefetch=PREFETCH_BATCHES)
    assert set(clips.groups[1].threads) == {PRODUCER}
    assert not producer_threads()
    assert not list(tmp_path.glob("*.pt"))


@pytest.mark.slow
@pytest.mark.parametrize("interruption", [KeyboardInterrupt, TrainingError])
def test_the_thread_stops_when_training_stops(tmp_path, monkeypatch, interruption):
    """A KeyboardInterrupt, or a NaN loss's TrainingError, raised in the training's thread while the producer
    is blocked on a full queue: the producer is gone when the error arrives."""
    clips, targets = cached_clips()
    system, plan = make(1, batch_size=2)
    steps = []

    def interrupted(waveforms, targets):
        steps.append(len(steps))
        if len(steps) == 2:
            raise interruption("stopped at step 2")
        return real(waveforms, targets)

    real = system.training_loss
    monkeypatch.setattr(system, "training_loss", interrupted)
    with pytest.raises(interruption, match="stopped at step 2"):
        train(system, clips, targets, 3, plan, tmp_path, device=CPU, progress=False, prefetch=PREFETCH_BATCHES)
    assert not producer_threads()


def test_prefetched_keeps_order_runs_ahead_by_its_depth_and_raises_a_failure_at_its_item():
    made = []

    def items():
        for index in range(6):
            made.append(index)
            if index == 4:
                raise ValueError("item 4 is damaged")
            yield index

    received = []
    with pytest.raises(ValueError, match="item 4 is damaged"):
        with prefetched(items(), depth=2) as ahead:
            for item in ahead:
                received.append(item)
                if item == 0:
                    threading.Event().wait(0.2)  # the producer fills the queue meanwhile, and then waits
                    assert made == [0, 1, 2, 3], "two queued and one waiting to be queued, no more"
    assert received == [0, 1, 2, 3]
    assert not producer_threads()


def test_leaving_a_prefetched_loop_early_stops_its_thread():
    with prefetched(iter(range(1000)), depth=1) as ahead:
        assert next(ahead) == 0
    assert not producer_threads()
    with pytest.raises(ValueError, match="prefetch depth must be 0 or more, got -1"):
        with prefetched([], depth=-1):
            pass


def test_the_cpu_feed_hands_over_the_host_tensors_themselves():
    feed = DeviceFeed(CPU)
    buffer = feed.empty((2, 3))
    assert not buffer.is_pinned()
    (received,) = feed.receive(feed.send(buffer))
    assert received is buffer


def test_a_batch_is_written_into_the_buffer_given_with_the_values_it_would_have_had():
    clips, _ = cached_clips()
    order = np.random.default_rng(3).permutation(len(clips))
    expected = clips.batch(order, SAMPLES, rng=np.random.default_rng(4))
    buffer = np.full((len(clips), SAMPLES), np.nan, np.float32)
    written = clips.batch(order, SAMPLES, rng=np.random.default_rng(4), out=buffer)
    assert written is buffer
    np.testing.assert_array_equal(buffer, expected)


def test_batches_are_made_ahead_on_a_gpu_and_in_the_loop_on_the_cpu():
    """On the CPU a producer thread takes a core from torch's threads (slower on 2 cores, the same results)."""
    from asdbench.training.prefetch import default_prefetch

    assert default_prefetch(torch.device("cpu")) == 0
    assert default_prefetch(torch.device("cuda")) == PREFETCH_BATCHES > 0
