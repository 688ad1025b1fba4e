"""Machines whose clips differ in length (DCASE 2023 dev: 6 to 18 s; 2024: 10 to 12 s) come out at one length.

Every clip is tiled from offset 0 when shorter than the requested length (sample i is sample i mod its length)
and cropped to [0, L) when longer; training crops a longer clip at a random offset instead, the window staying
inside the clip. ``clip_seconds = "longest"`` is the longest train or test clip of the splits the run reads.
"""

from __future__ import annotations

import numpy as np
import pytest

from asdbench.data.audio import SAMPLE_RATE, AudioCache, ClipArray
from asdbench.data.clips import ClipSource
from asdbench.data.layout import clip_file_name, eval_test_file_name, write_wav
from asdbench.data.manifest import build_manifest
from asdbench.store.stages import _num_samples, unit_clips

# one group per machine, as runs build them; the second mixes lengths within a machine
SECONDS = [(6.0, 6.0), (10.0, 12.0, 10.0), (12.0,), (18.0, 18.0)]


def in_memory_source(seconds: list[tuple[float, ...]]) -> tuple[ClipSource, list[np.ndarray]]:
    """Clips of real lengths at 16 kHz holding distinct values, so a window's offset can be found again."""
    rng = np.random.default_rng(0)
    groups, clips = [], []
    for machine, lengths in enumerate(seconds):
        group = [rng.standard_normal(int(s * SAMPLE_RATE)).astype(np.float32) for s in lengths]
        sizes = np.array([len(clip) for clip in group])
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        groups.append(ClipArray([f"m{machine}/{i}.wav" for i in range(len(group))], offsets, sizes,
                                np.concatenate(group)))
        clips.extend(group)
    return ClipSource(groups), clips


def tiled_or_cropped(clip: np.ndarray, num_samples: int) -> np.ndarray:
    return clip[np.arange(num_samples) % len(clip)]


@pytest.mark.parametrize("seconds", [6.0, 7.5, 10.0, 12.0, 18.0, 20.0])
def test_scoring_tiles_short_clips_from_zero_and_crops_long_ones(seconds):
    source, clips = in_memory_source(SECONDS)
    num_samples = int(seconds * SAMPLE_RATE)
    order = np.random.default_rng(1).permutation(len(source))  # across groups, in any order
    batch = source.batch(order, num_samples)
    assert batch.shape == (len(clips), num_samples) and batch.dtype == np.float32
    for row, index in enumerate(order):
        np.testing.assert_array_equal(batch[row], tiled_or_cropped(clips[index], num_samples))


def test_training_crops_long_clips_at_random_offsets_inside_the_clip_and_tiles_short_ones():
    source, clips = in_memory_source(SECONDS)
    num_samples = 10 * SAMPLE_RATE
    rng = np.random.default_rng(2)
    offsets: dict[int, set[int]] = {index: set() for index in range(len(clips))}
    for _ in range(8):
        batch = source.batch(np.arange(len(clips)), num_samples, rng=rng)
        assert batch.shape == (len(clips), num_samples)
        for index, clip in enumerate(clips):
            if len(clip) <= num_samples:
                np.testing.assert_array_equal(batch[index], tiled_or_cropped(clip, num_samples))
                continue
            (start,) = np.flatnonzero(clip == batch[index, 0])
            assert start <= len(clip) - num_samples
            np.testing.assert_array_equal(batch[index], clip[start : start + num_samples])
            offsets[index].add(int(start))
    long_clips = [index for index, clip in enumerate(clips) if len(clip) > num_samples]
    assert long_clips and all(len(offsets[index]) > 1 for index in long_clips), "offsets are drawn, not fixed"


@pytest.fixture(scope="module")
def mixed_dataset(tmp_path_factory):
    """A 2023-like layout on disk, one train and one test clip per machine: the dev split's longest clip (12 s)
    is a test clip, the eval split's (18 s) a train clip."""
    root = tmp_path_factory.mktemp("lengths")
    noise = np.random.default_rng(3).uniform(-0.5, 0.5, 18 * SAMPLE_RATE)
    plan = {("dev", "bearing"): (6, 6), ("dev", "fan"): (10, 12), ("dev", "ToyCar"): (10, 10),
            ("eval", "ToyDrone"): (18, 10)}
    for (split, machine), (train_seconds, test_seconds) in plan.items():
        folder = root / f"{split}_data" / "raw" / machine
        write_wav(folder / "train" / clip_file_name("train", "source", "normal", 0, "a_1", "00"),
                  noise[: train_seconds * SAMPLE_RATE])
        test_name = eval_test_file_name(0, "00") if split == "eval" else clip_file_name("test", "source", "normal", 0, "a_1", "00")
        write_wav(folder / "test" / test_name, noise[: test_seconds * SAMPLE_RATE])
    return root


@pytest.mark.parametrize(("splits", "longest"), [(["dev"], 12), (["dev", "eval"], 18)])
def test_longest_is_the_longest_clip_of_the_splits_the_run_reads(mixed_dataset, tmp_path, splits, longest):
    manifests = {split: build_manifest(mixed_dataset, 2023, split) for split in splits}
    machines = unit_clips(manifests, AudioCache(tmp_path / "cache"), progress=False)
    num_samples = _num_samples("longest", machines)
    assert num_samples == longest * SAMPLE_RATE
    assert _num_samples(7.5, machines) == 120_000
    for machine in machines:
        for clips in (machine.train_clips, machine.test_clips):
            batch = clips.batch(np.arange(len(clips)), num_samples)
            for index in range(len(clips)):
                np.testing.assert_array_equal(batch[index], tiled_or_cropped(clips.groups[0].clip(index), num_samples))
