"""Embeddings of a trained run: z_cat of every train and test clip of every machine, per checkpoint.

Each checkpoint is loaded once and embeds every machine of every split in one pass; the run keeps the result
(``embeddings/epoch_XXX.npz``), from which any number of scorings (:mod:`asdbench.scoring`) are computed
without the model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from asdbench.clips import ClipSource
from asdbench.progress import progress_bar
from asdbench.scoring import Machine
from asdbench.system import System
from asdbench.train import autocast


@dataclass(frozen=True)
class MachineClips(Machine):
    """The clips of one machine of one split, loaded for training and embedding."""

    train_clips: ClipSource
    test_clips: ClipSource


def embed(system: System, clips: ClipSource, num_samples: int, device: torch.device, *, precision: str,
          batch_size: int = 64) -> np.ndarray:
    """z_cat of every clip, tiled or cropped from offset 0 to ``num_samples``; float32 ``(N, D)``."""
    system.eval()
    parts = []
    with torch.inference_mode():
        for start in range(0, len(clips), batch_size):
            indices = np.arange(start, min(start + batch_size, len(clips)))
            waveforms = torch.from_numpy(clips.batch(indices, num_samples)).to(device)
            with autocast(device, precision):
                parts.append(system.embed(waveforms).float().cpu().numpy())
    return np.concatenate(parts)


def embed_checkpoint(system: System, checkpoint: Path, machines: Sequence[MachineClips], *, num_samples: int,
                     device: torch.device, precision: str, progress: bool = True) -> dict[str, np.ndarray]:
    """The checkpoint's embeddings of every machine, keyed ``<split>.<machine>.<train|test>`` (see
    :meth:`Machine.key`)."""
    system.to(device)
    system.load_state_dict(torch.load(checkpoint, map_location=device, weights_only=True)["model"])
    arrays: dict[str, np.ndarray] = {}
    for machine in progress_bar(machines, desc=f"embedding {checkpoint.stem}", disable=not progress,
                                unit="machine", leave=False):
        arrays[f"{machine.key}.train"] = embed(system, machine.train_clips, num_samples, device, precision=precision)
        arrays[f"{machine.key}.test"] = embed(system, machine.test_clips, num_samples, device, precision=precision)
    return arrays
