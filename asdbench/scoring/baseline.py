"""A training-free scorer: a registered frontend's output, log-compressed and pooled, scored by a backend.

It is the smallest system that exercises the whole pipeline (dataset -> audio cache -> frontend plugin ->
backend plugin -> official score files -> evaluator) and a sanity floor for trained systems: any trained
system that does not beat its own frontend's pooled features is not learning anything useful.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from asdbench.contract.boundary import check_frontend_output, check_scores, plugin_call
from asdbench.contract.protocols import Frontend
from asdbench.contract.registration import Registration
from asdbench.contract.registry import Registry
from asdbench.data.audio import AudioCache, ClipArray
from asdbench.data.units import units_of
from asdbench.runtime.devices import default_device
from asdbench.runtime.progress import progress_bar
from asdbench.scoring.scorefiles import write_scores

BATCH_SIZE = 32


def pooled_features(frontend: Frontend, source: Registration, clips: np.ndarray, bands: int,
                    device: torch.device) -> np.ndarray:
    """Log of the frontend output averaged over time (if any) and over ``bands`` equal frequency bands."""
    with torch.inference_mode():
        with plugin_call(source, "forward"):
            features = frontend(torch.from_numpy(clips).to(device))
        with plugin_call(source, "output_shape"):
            shape = tuple(frontend.output_shape(clips.shape[-1]))
        check_frontend_output(features, len(clips), shape, source)
        if features.ndim == 3:
            features = features.mean(dim=-1)
        pooled = torch.nn.functional.adaptive_avg_pool1d(features.unsqueeze(1), bands).squeeze(1)
        return torch.log(pooled + 1e-8).cpu().numpy()


def score_split(
    manifest: pd.DataFrame,
    registry: Registry,
    frontend: str,
    backend: str,
    out_dir: Path,
    *,
    cache: AudioCache,
    bands: int = 128,
    layout: str = "section",
    progress: bool = True,
) -> Path:
    """Write the official anomaly-score files of every unit (machine section) of ``manifest`` into ``out_dir``, in
    the year's ``layout`` (a key of :data:`asdbench.data.years.SCORE_FILES`); returns ``out_dir``.

    ``frontend`` and ``backend`` name registered components, built with their default options.
    """
    device = default_device()
    frontend_source, backend_source = registry.get("frontends", frontend), registry.get("backends", backend)
    module = registry.create("frontends", frontend)
    module = module.to(device) if isinstance(module, torch.nn.Module) else module
    out_dir.mkdir(parents=True, exist_ok=True)
    for unit in progress_bar(units_of({"split": manifest}), desc="scoring", disable=not progress, unit="unit"):
        train_audio = cache.load_rows(unit.train, progress=False)
        test_audio = cache.load_rows(unit.test, progress=False)
        # Shorter clips are tiled up to the unit's longest, so every clip gives the same feature size.
        num_samples = int(max(train_audio.lengths.max(), test_audio.lengths.max()))
        scorer = registry.create("backends", backend)
        train_features = _embed(module, frontend_source, train_audio, num_samples, bands, device)
        test_features = _embed(module, frontend_source, test_audio, num_samples, bands, device)
        with plugin_call(backend_source, "fit"):
            scorer.fit(train_features, unit.train["domain"].to_numpy())
        with plugin_call(backend_source, "score"):
            scores = scorer.score(test_features)
        scores = check_scores(scores, len(unit.test), backend_source)
        write_scores(out_dir, unit.machine, unit.section, unit.test[["file", "domain"]].assign(score=scores),
                     layout=layout)
    return out_dir


def _embed(frontend: Frontend, source: Registration, audio: ClipArray, num_samples: int, bands: int,
           device: torch.device) -> np.ndarray:
    return np.concatenate([
        pooled_features(frontend, source,
                        audio.batch(range(start, min(start + BATCH_SIZE, len(audio))), num_samples), bands, device)
        for start in range(0, len(audio), BATCH_SIZE)
    ])
