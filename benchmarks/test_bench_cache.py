"""One epoch of waveform batches: decoding every file (the reference's way) vs the decode-once cache."""

from __future__ import annotations

import resource

import numpy as np
import pytest
import soundfile

from asdbench.data.audio import AudioCache
from asdbench.data.dcase import build_manifest

BATCH = 64


@pytest.fixture(scope="module")
def train_paths(ci_dataset):
    manifest = build_manifest(ci_dataset, 2024, "dev")
    return list(manifest.loc[manifest["subset"] == "train", "path"])


def epoch_by_decoding(paths, num_samples):
    for start in range(0, len(paths), BATCH):
        batch = [soundfile.read(p, dtype="float32")[0] for p in paths[start : start + BATCH]]
        np.stack([np.resize(clip, num_samples) for clip in batch])


def epoch_from_cache(paths, num_samples):
    clips = AudioCache().load(paths, progress=False)
    for start in range(0, len(clips), BATCH):
        clips.batch(range(start, min(start + BATCH, len(clips))), num_samples)


@pytest.mark.parametrize("way", ["decode-every-epoch", "cache"])
def test_epoch_of_batches(benchmark, train_paths, way):
    AudioCache().load(train_paths, progress=False)  # the cache is filled once, before any epoch
    run = epoch_by_decoding if way == "decode-every-epoch" else epoch_from_cache
    benchmark(run, train_paths, 72_000)
    benchmark.extra_info["clips_per_second"] = len(train_paths) / benchmark.stats["mean"]
    benchmark.extra_info["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
