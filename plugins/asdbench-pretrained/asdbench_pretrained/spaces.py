"""The ``panns`` and ``openl3`` feature spaces: pretrained embeddings of every clip of a machine (Sec. III-B1).

Both follow the reference extraction: each 16 kHz clip is tiled or cut to ``clip_seconds`` (18 s) from its
start, resampled to the model's rate, and embedded in inference mode (no dropout, BatchNorm statistics of the
published weights). The weight file is located when the space is built, so a missing file fails before any
work, and read on the first ``embed``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from asdbench.api import FeatureSpaceContext, resolve_device
from asdbench_pretrained import cnn14, openl3
from asdbench_pretrained.audio import batches, resample
from asdbench_pretrained.weights import resolve


class PannsSpace:
    """``panns``: the 2048-d clip embedding of PANNs CNN14 (fc1 + ReLU) on audio resampled to 32 kHz.

    Options: ``weights`` (path of ``Cnn14_mAP=0.431.pth``; default ``$ASDBENCH_MODELS_DIR`` or
    ``~/.cache/asdbench/models``), ``batch_size`` (clips per forward pass), ``device`` ("auto": CUDA when
    present), ``clip_seconds`` (tile/cut each clip to this duration first; 0 keeps every clip whole).
    """

    def __init__(self, context: FeatureSpaceContext, /, *, weights: str, batch_size: int, device: str,
                 clip_seconds: float) -> None:
        self.weights = resolve("panns", weights)
        self.batch_size, self.clip_seconds = batch_size, clip_seconds
        self.device = resolve_device(device)
        self._model: cnn14.Cnn14 | None = None

    @property
    def model(self) -> cnn14.Cnn14:
        if self._model is None:
            self._model = cnn14.load_cnn14(self.weights).to(self.device)
        return self._model

    def embed(self, manifest: pd.DataFrame) -> np.ndarray:
        count, groups = batches(manifest, self.clip_seconds, self.batch_size)
        out = np.empty((count, self.model.embedding_size), dtype=np.float32)
        with torch.inference_mode():
            for rows, waveforms in groups:
                audio = torch.from_numpy(resample(waveforms, cnn14.SAMPLE_RATE)).to(self.device)
                out[rows] = self.model(audio).float().cpu().numpy()
        return out


class OpenL3Space:
    """``openl3``: OpenL3 (environmental, mel128) 512-d window embeddings at 48 kHz, averaged over each clip.

    Options: ``weights`` (path of ``torchopenl3_mel128_env_512.pth.tar``; default ``$ASDBENCH_MODELS_DIR`` or
    ``~/.cache/asdbench/models``), ``batch_size`` (1 s windows per forward pass; an 18 s clip has 176),
    ``device`` ("auto": CUDA when present), ``clip_seconds`` (tile/cut each clip first; 0 keeps clips whole).
    """

    CLIPS_PER_READ = 8

    def __init__(self, context: FeatureSpaceContext, /, *, weights: str, batch_size: int, device: str,
                 clip_seconds: float) -> None:
        self.weights = resolve("openl3", weights)
        self.batch_size, self.clip_seconds = batch_size, clip_seconds
        self.device = resolve_device(device)
        self._model: openl3.OpenL3 | None = None

    @property
    def model(self) -> openl3.OpenL3:
        if self._model is None:
            self._model = openl3.load_openl3(self.weights).to(self.device)
        return self._model

    def embed(self, manifest: pd.DataFrame) -> np.ndarray:
        count, groups = batches(manifest, self.clip_seconds, self.CLIPS_PER_READ)
        out = np.empty((count, self.model.embedding_size), dtype=np.float32)
        with torch.inference_mode():
            for rows, waveforms in groups:
                audio = torch.from_numpy(resample(waveforms, openl3.SAMPLE_RATE)).to(self.device)
                windows = openl3.frame(audio)  # (clips, windows, 48000), a view
                per_clip = windows.shape[1]
                sums = torch.zeros(len(rows), self.model.embedding_size, device=self.device)
                for start in range(0, len(rows) * per_clip, self.batch_size):
                    flat = torch.arange(start, min(start + self.batch_size, len(rows) * per_clip), device=self.device)
                    clip, window = flat // per_clip, flat % per_clip
                    sums.index_add_(0, clip, self.model(windows[clip, window]).float())
                out[rows] = (sums / per_clip).cpu().numpy()
        return out

