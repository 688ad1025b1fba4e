"""Clips for the pretrained models: read through the core's decode-once cache, tiled to a fixed duration as the
reference extraction does, and resampled from 16 kHz to the model's rate."""

from __future__ import annotations

from collections.abc import Iterator
from math import gcd

import numpy as np
import pandas as pd
from scipy.signal import resample_poly

from asdbench.api import SAMPLE_RATE, AsdbenchError, AudioCache, ClipArray


def resample(waveforms: np.ndarray, rate: int, source_rate: int = SAMPLE_RATE) -> np.ndarray:
    """``(..., L)`` at ``source_rate`` to ``rate`` along the last axis: polyphase filtering (scipy's Kaiser
    window, beta 5), float32. The reference used resampy's kaiser_best; the two differ only near Nyquist."""
    divisor = gcd(rate, source_rate)
    up, down = rate // divisor, source_rate // divisor
    if up == down:
        return np.asarray(waveforms, dtype=np.float32)
    return resample_poly(waveforms, up, down, axis=-1).astype(np.float32)


def resampled_length(num_samples: int, rate: int, source_rate: int = SAMPLE_RATE) -> int:
    divisor = gcd(rate, source_rate)
    up, down = rate // divisor, source_rate // divisor
    return -(-num_samples * up // down)  # resample_poly's output length: ceil(L * up / down)


Batch = tuple[np.ndarray, np.ndarray]


def batches(manifest: pd.DataFrame, clip_seconds: float, batch_size: int) -> tuple[int, Iterator[Batch]]:
    """``(count, iterator of (row indices, waveforms (B, L) float32 at 16 kHz))`` over the manifest's clips.

    With ``clip_seconds`` > 0 every clip is tiled (if shorter) and cut to that duration from its start, as the
    reference extraction does (18 s); with 0 each clip keeps its own length and a batch holds clips of one
    length only.
    """
    if "path" not in manifest.columns:
        raise AsdbenchError("the manifest given to a pretrained feature space has no 'path' column")
    clips = AudioCache().load_rows(manifest, progress=False)
    return len(clips), _iterate(clips, clip_seconds, batch_size)


def _iterate(clips: ClipArray, clip_seconds: float, batch_size: int) -> Iterator[Batch]:
    if clip_seconds:
        groups = {int(round(clip_seconds * SAMPLE_RATE)): np.arange(len(clips))}
    else:
        lengths = np.asarray(clips.lengths)
        groups = {int(length): np.flatnonzero(lengths == length) for length in np.unique(lengths)}
    for num_samples, rows in groups.items():
        for start in range(0, len(rows), batch_size):
            chosen = rows[start : start + batch_size]
            yield chosen, clips.batch(chosen, num_samples)
