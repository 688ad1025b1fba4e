"""The reference implementation's way of working, rebuilt on our modules so that only the way differs.

- Training data: every WAV decoded again in every epoch by a torch DataLoader with 6 workers (re-forked each
  epoch, so its per-worker cache is useless), each clip tiled to 18 s (288 000 samples) from offset 0.
- Scoring: one process per machine and checkpoint, each importing torch, building the model, loading the
  checkpoint, decoding that machine's train and test files, embedding them (18 s tiles) and fitting the
  backend; the ensemble is averaged afterwards from the per-process score files.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile
import torch

REFERENCE_SAMPLES = 18 * 16_000
REFERENCE_WORKERS = 6
SCORER = Path(__file__).with_name("reference_scorer.py")


def tile(clip: np.ndarray, num_samples: int) -> np.ndarray:
    """Repeat a clip ceil(num_samples/len) times and cut at num_samples: the reference's "tile" padding."""
    return np.tile(clip, -(-num_samples // len(clip)))[:num_samples]


class DecodingDataset(torch.utils.data.Dataset):
    def __init__(self, paths: list[str], num_samples: int = REFERENCE_SAMPLES) -> None:
        self.paths, self.num_samples = paths, num_samples

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> torch.Tensor:
        clip, _ = soundfile.read(self.paths[index], dtype="float32")
        return torch.from_numpy(tile(clip, self.num_samples))


def decoding_loader(paths: list[str], batch_size: int = 64, num_samples: int = REFERENCE_SAMPLES,
                    shuffle: bool = True) -> torch.utils.data.DataLoader:
    return torch.utils.data.DataLoader(DecodingDataset(paths, num_samples), batch_size=batch_size, shuffle=shuffle,
                                       num_workers=REFERENCE_WORKERS, persistent_workers=False)


def score_like_the_reference(system_spec: dict, num_classes: int, checkpoints: list[Path],
                             machines: dict[str, dict[str, list]], out_dir: Path) -> dict[str, np.ndarray]:
    """One scorer process per (machine, checkpoint); ``machines`` maps a name to its ``train``, ``test`` and
    ``train_domains`` lists. Returns each machine's ensemble test scores."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for machine, files in machines.items():
        for checkpoint in checkpoints:
            job = out_dir / f"{machine}.{checkpoint.stem}.json"
            job.write_text(json.dumps({"spec": system_spec, "num_classes": num_classes,
                                       "checkpoint": str(checkpoint), **files}))
            subprocess.run([sys.executable, str(SCORER), str(job)], check=True)
    return {machine: np.mean([np.load(out_dir / f"{machine}.{c.stem}.npy") for c in checkpoints], axis=0)
            for machine in machines}
