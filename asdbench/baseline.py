"""A training-free scorer: a registered frontend's output, log-compressed and pooled, scored by a backend.

It is the smallest system that exercises the whole pipeline (dataset -> audio cache -> frontend plugin ->
backend plugin -> official score files -> evaluator) and a sanity floor for trained systems: any trained
system that does not beat its own frontend's pooled features is not learning anything useful.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from asdbench.data.audio import AudioCache, ClipArray
from asdbench.devices import default_device
from asdbench.hookspecs import Backend, Frontend
from asdbench.scorefiles import write_scores

BATCH_SIZE = 32


def pooled_features(frontend: Frontend, clips: np.ndarray, bands: int, device: torch.device) -> np.ndarray:
    """Log of the frontend output averaged over time (if any) and over ``bands`` equal frequency bands."""
    with torch.inference_mode():
        features = frontend(torch.from_numpy(clips).to(device))
        if features.ndim == 3:
            features = features.mean(dim=-1)
        pooled = torch.nn.functional.adaptive_avg_pool1d(features.unsqueeze(1), bands).squeeze(1)
        return torch.log(pooled + 1e-8).cpu().numpy()


def score_split(
    manifest: pd.DataFrame,
    frontend: Frontend,
    make_backend: Callable[[], Backend],
    out_dir: Path,
    *,
    cache: AudioCache,
    bands: int = 128,
    progress: bool = True,
) -> Path:
    """Write one official anomaly-score file per machine of ``manifest`` into ``out_dir``; returns ``out_dir``."""
    device = default_device()
    frontend = frontend.to(device) if isinstance(frontend, torch.nn.Module) else frontend
    out_dir.mkdir(parents=True, exist_ok=True)
    for machine in tqdm(sorted(manifest["machine"].unique()), desc="scoring", disable=not progress, unit="machine"):
        rows = manifest[manifest["machine"] == machine]
        train, test = rows[rows["subset"] == "train"], rows[rows["subset"] == "test"]
        train_audio = cache.load(list(train["path"]), progress=False)
        test_audio = cache.load(list(test["path"]), progress=False)
        # Shorter clips are tiled up to the machine's longest, so every clip gives the same feature size.
        num_samples = int(max(train_audio.lengths.max(), test_audio.lengths.max()))
        backend = make_backend()
        backend.fit(_embed(frontend, train_audio, num_samples, bands, device), train["domain"].to_numpy())
        scores = backend.score(_embed(frontend, test_audio, num_samples, bands, device))
        write_scores(out_dir, machine, pd.DataFrame({"file": test["file"].to_numpy(), "score": scores}))
    return out_dir


def _embed(frontend: Frontend, audio: ClipArray, num_samples: int, bands: int, device: torch.device) -> np.ndarray:
    return np.concatenate([
        pooled_features(frontend, audio.batch(range(start, min(start + BATCH_SIZE, len(audio))), num_samples),
                        bands, device)
        for start in range(0, len(audio), BATCH_SIZE)
    ])
