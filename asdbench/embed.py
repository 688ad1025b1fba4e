"""Scoring a trained run: embeddings for every checkpoint, a backend per machine, a checkpoint ensemble.

Each checkpoint is loaded once and embeds every train and test clip of every machine of every split in one
pass; the embeddings are kept in the run directory. A clip's anomaly score is the mean over the ensemble
checkpoints of its backend score. Decisions (normal/anomalous) threshold each machine's scores at the 90th
percentile of a gamma distribution fitted to its training clips' ensemble scores, as the DCASE baseline does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.stats
import torch
from tqdm.auto import tqdm

from asdbench.clips import ClipSource
from asdbench.hookspecs import Backend
from asdbench.metrics import EvaluationReport
from asdbench.scorefiles import evaluate_directory, write_decisions, write_scores
from asdbench.system import System
from asdbench.train import autocast

DECISION_PERCENTILE = 0.9
"""The DCASE baseline's decision threshold: this quantile of a gamma fitted to the training scores."""


@dataclass(frozen=True)
class MachineClips:
    """The clips of one machine of one split, as the scorer needs them."""

    split: str
    machine: str
    train: pd.DataFrame
    test: pd.DataFrame
    train_clips: ClipSource
    test_clips: ClipSource

    @property
    def key(self) -> str:
        return f"{self.split}.{self.machine}"


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


def score_checkpoints(
    system: System,
    checkpoints: Sequence[Path],
    machines: Sequence[MachineClips],
    make_backend: Callable[[], Backend],
    embeddings_dir: Path,
    *,
    num_samples: int,
    device: torch.device,
    precision: str,
    progress: bool = True,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Ensemble (train, test) scores per machine key, averaged over ``checkpoints``."""
    embeddings_dir.mkdir(parents=True, exist_ok=True)
    totals: dict[str, list[np.ndarray]] = {}
    system.to(device)
    for checkpoint in checkpoints:
        state = torch.load(checkpoint, map_location=device, weights_only=True)
        system.load_state_dict(state["model"])
        arrays: dict[str, np.ndarray] = {}
        for machine in tqdm(machines, desc=f"scoring {checkpoint.stem}", disable=not progress, unit="machine",
                            leave=False):
            train = embed(system, machine.train_clips, num_samples, device, precision=precision)
            test = embed(system, machine.test_clips, num_samples, device, precision=precision)
            arrays[f"{machine.key}.train"], arrays[f"{machine.key}.test"] = train, test
            backend = make_backend()
            backend.fit(train, machine.train["domain"].to_numpy())
            scores = [np.asarray(backend.score(train), np.float64), np.asarray(backend.score(test), np.float64)]
            if machine.key in totals:
                totals[machine.key] = [t + s for t, s in zip(totals[machine.key], scores)]
            else:
                totals[machine.key] = scores
        np.savez(embeddings_dir / f"{checkpoint.stem}.npz", **arrays)
    return {key: (train / len(checkpoints), test / len(checkpoints)) for key, (train, test) in totals.items()}


def decision_threshold(train_scores: np.ndarray) -> float:
    """The 90th percentile of a gamma distribution fitted to the training scores (the DCASE baseline's rule).

    Identical training scores have no spread to fit; every quantile of that (degenerate) distribution is the
    score itself, which is then the threshold.
    """
    if np.ptp(train_scores) == 0:
        return float(train_scores[0])
    shape, loc, scale = scipy.stats.gamma.fit(train_scores)
    return float(scipy.stats.gamma.ppf(DECISION_PERCENTILE, shape, loc=loc, scale=scale))


def write_split(
    machines: Sequence[MachineClips],
    scores: dict[str, tuple[np.ndarray, np.ndarray]],
    out_dir: Path,
) -> None:
    """Official score and decision files for every machine of one split."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for machine in machines:
        train_scores, test_scores = scores[machine.key]
        files = machine.test["file"].to_numpy()
        write_scores(out_dir, machine.machine, pd.DataFrame({"file": files, "score": test_scores}))
        decisions = (test_scores > decision_threshold(train_scores)).astype(int)
        write_decisions(out_dir, machine.machine, pd.DataFrame({"file": files, "decision": decisions}))


def evaluate_split(out_dir: Path, test_manifest: pd.DataFrame) -> EvaluationReport | None:
    """Metrics of one split's score files, or None where the split has no ground truth."""
    if (test_manifest["label"] == "unknown").any():
        return None
    return evaluate_directory(out_dir, test_manifest)
