"""Embeddings of a trained run: z_cat of every train and test clip of every unit (a machine section of a split), per
checkpoint.

Each checkpoint is loaded once and embeds every unit of every split in one pass; the run keeps the result
(``embeddings/epoch_XXX.npz``), from which any number of scorings (:mod:`asdbench.scoring.ensemble`) are computed
without the model.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from asdbench.data.audio import SAMPLE_RATE
from asdbench.data.clips import ClipSource
from asdbench.data.units import Unit
from asdbench.runtime.heap import freed_memory_kept
from asdbench.runtime.progress import progress_bar
from asdbench.training.loop import autocast
from asdbench.training.prefetch import DeviceFeed, Sent, prefetched
from asdbench.training.system import System


@dataclass(frozen=True)
class UnitClips(Unit):
    """The clips of one unit, loaded for training and embedding."""

    train_clips: ClipSource
    test_clips: ClipSource


EMBED_BATCH_CLIPS = 64
"""Clips per embedding batch on the CPU (and any device but CUDA): about 13 MB of activations per 18 s clip
of the paper's main system, under 1 GB a batch."""
EMBED_BATCH_SECONDS_CUDA = 512 * 18.0
"""Audio per embedding batch on CUDA: 512 clips of 18 s, about 7 GB of activations in float32, so that each kernel
has enough work; shorter clips make larger batches of the same size in memory."""


def embed_batch_size(device: torch.device, num_samples: int) -> int:
    """Clips per embedding batch on ``device`` for clips of ``num_samples`` samples."""
    if device.type == "cuda":
        return max(1, int(EMBED_BATCH_SECONDS_CUDA * SAMPLE_RATE) // num_samples)
    return EMBED_BATCH_CLIPS


def embed(system: System, clips: ClipSource, num_samples: int, device: torch.device, *, precision: str,
          batch_size: int | None = None) -> np.ndarray:
    """z_cat of every clip, tiled or cropped from offset 0 to ``num_samples``; float32 ``(N, D)``. Batches of
    ``batch_size`` clips (default: :func:`embed_batch_size`), made ahead in a background thread; the embeddings
    stay on the device until the last batch, so that no batch waits for the previous one's to be read back."""
    batch_size = batch_size or embed_batch_size(device, num_samples)
    feed = DeviceFeed(device)

    def batches() -> Iterator[Sent]:
        for start in range(0, len(clips), batch_size):
            waveforms = feed.empty((min(batch_size, len(clips) - start), num_samples))
            clips.batch(np.arange(start, start + len(waveforms)), num_samples, out=waveforms.numpy())
            yield feed.send(waveforms)

    system.eval()
    parts = []
    with torch.inference_mode(), freed_memory_kept(device), prefetched(batches()) as sent:
        for item in sent:
            (waveforms,) = feed.receive(item)
            with autocast(device, precision):
                parts.append(system.embed(waveforms).float())
    return torch.cat(parts).cpu().numpy()


def embed_checkpoint(system: System, checkpoint: Path, units: Sequence[UnitClips], *, num_samples: int,
                     device: torch.device, precision: str, progress: bool = True) -> dict[str, np.ndarray]:
    """The checkpoint's embeddings of every unit, keyed by :func:`asdbench.data.units.embedding_key`."""
    system.to(device)
    system.load_state_dict(torch.load(checkpoint, map_location=device, weights_only=True)["model"])
    return embed_units(system, units, num_samples=num_samples, device=device, precision=precision,
                          desc=f"embedding {checkpoint.stem}", progress=progress)


def embed_units(system: System, units: Sequence[UnitClips], *, num_samples: int, device: torch.device,
                   precision: str, desc: str = "embedding", progress: bool = True) -> dict[str, np.ndarray]:
    """The embeddings of every unit by ``system`` with the weights it has (on ``device``), keyed as by
    :func:`embed_checkpoint`; a system that is never trained (``train.epochs = 0``) is embedded this way."""
    system.to(device)
    arrays: dict[str, np.ndarray] = {}
    with freed_memory_kept(device):  # across the units, not each embed() alone: their batches are of one size
        for unit in progress_bar(units, desc=desc, disable=not progress, unit="unit", leave=False):
            arrays[unit.embedding_key("train")] = embed(system, unit.train_clips, num_samples, device,
                                                        precision=precision)
            arrays[unit.embedding_key("test")] = embed(system, unit.test_clips, num_samples, device,
                                                       precision=precision)
    return arrays
