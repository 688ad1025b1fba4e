"""The generic training loop: any system of registered plugins, on CUDA when present, else the CPU.

Reproducibility and resume: every source of randomness in an epoch (batch order, crops, augmentations,
FeatEx permutations) is seeded from (run seed, epoch) at the start of that epoch, and the model and optimiser
state are saved atomically after every epoch. Resuming after a kill therefore continues from the last
finished epoch exactly as the uninterrupted run would have (bit-identical on the CPU).
"""

from __future__ import annotations

import contextlib
import hashlib
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from asdbench.atomic import atomic_path
from asdbench.clips import ClipSource
from asdbench.errors import AsdbenchError
from asdbench.system import System

LAST_CHECKPOINT = "last.pt"


class TrainingError(AsdbenchError):
    """Training cannot go on (e.g. a NaN loss); the message says where it happened."""


@dataclass(frozen=True)
class TrainingPlan:
    epochs: int
    batch_size: int
    lr: float
    weight_decay: float
    checkpoints: list[int]
    seed: int
    precision: str
    num_samples: int

    @classmethod
    def from_spec(cls, train: dict[str, Any], seed: int, num_samples: int) -> TrainingPlan:
        keys = ("epochs", "batch_size", "lr", "weight_decay", "checkpoints", "precision")
        return cls(**{key: train[key] for key in keys}, seed=seed, num_samples=num_samples)


def checkpoint_path(directory: Path, epoch: int) -> Path:
    return directory / f"epoch_{epoch:03d}.pt"


def epoch_seed(seed: int, epoch: int) -> int:
    """A 63-bit seed for one epoch of one run, independent of every other (seed, epoch) pair."""
    digest = hashlib.sha256(f"asdbench-train/{seed}/{epoch}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """bf16 autocast on CUDA ("auto" or "bf16"), or on the CPU when asked for explicitly; else nothing."""
    if precision == "bf16" or (precision == "auto" and device.type == "cuda"):
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def train(
    system: System,
    clips: ClipSource,
    targets: np.ndarray,
    num_classes: int,
    plan: TrainingPlan,
    checkpoint_dir: Path,
    *,
    device: torch.device,
    progress: bool = True,
) -> list[Path]:
    """Train ``system`` on ``clips`` (one class index per clip in ``targets``); returns the ensemble checkpoints.

    Finished epochs found in ``checkpoint_dir`` are not trained again.
    """
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    system.to(device)
    optimiser = torch.optim.AdamW(
        [p for p in system.parameters() if p.requires_grad], lr=plan.lr, weight_decay=plan.weight_decay
    )
    start_epoch = _resume(system, optimiser, checkpoint_dir, plan, device)
    one_hot = torch.nn.functional.one_hot(torch.as_tensor(np.array(targets, dtype=np.int64)), num_classes).float()
    for epoch in range(start_epoch + 1, plan.epochs + 1):
        torch.manual_seed(epoch_seed(plan.seed, epoch))
        rng = np.random.default_rng(epoch_seed(plan.seed, epoch))
        system.train()
        batches = _batches(len(clips), plan.batch_size, rng)
        bar = tqdm(batches, total=math.ceil(len(clips) / plan.batch_size), desc=f"epoch {epoch}/{plan.epochs}",
                   disable=not progress, unit="batch", leave=False)
        running = 0.0
        for step, indices in enumerate(bar, start=1):
            waveforms = torch.from_numpy(clips.batch(indices, plan.num_samples, rng=rng)).to(device)
            with autocast(device, plan.precision):
                loss = system.training_loss(waveforms, one_hot[indices].to(device))
            if not torch.isfinite(loss):
                raise TrainingError(
                    f"loss is {loss.item()} at epoch {epoch}, step {step}; training stopped. Checkpoints of "
                    f"finished epochs are kept in {checkpoint_dir}. Try a lower train.lr or check the data."
                )
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            running += (loss.item() - running) / step
            bar.set_postfix(loss=f"{running:.4f}")
        state = {"epoch": epoch, "model": system.state_dict(), "optimiser": optimiser.state_dict(), "loss": running}
        if epoch in plan.checkpoints:
            _save(state, checkpoint_path(checkpoint_dir, epoch))
        _save(state, checkpoint_dir / LAST_CHECKPOINT)
        if progress:
            tqdm.write(f"epoch {epoch}/{plan.epochs}: loss {running:.4f}")
    return [checkpoint_path(checkpoint_dir, epoch) for epoch in plan.checkpoints]


def _batches(count: int, batch_size: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    order = rng.permutation(count)
    for start in range(0, count, batch_size):
        yield order[start : start + batch_size]


def _resume(system: System, optimiser: torch.optim.Optimizer, directory: Path, plan: TrainingPlan,
            device: torch.device) -> int:
    last = directory / LAST_CHECKPOINT
    if not last.exists():
        return 0
    state = torch.load(last, map_location=device, weights_only=True)
    system.load_state_dict(state["model"])
    optimiser.load_state_dict(state["optimiser"])
    missing = [e for e in plan.checkpoints if e <= state["epoch"] and not checkpoint_path(directory, e).exists()]
    if missing:
        raise TrainingError(f"{last} is at epoch {state['epoch']} but ensemble checkpoints {missing} are missing; "
                            f"delete {directory} to train again from scratch")
    return int(state["epoch"])


def _save(state: dict[str, Any], path: Path) -> None:
    """Write atomically: a killed process leaves the previous file or the new one, never half of one."""
    with atomic_path(path) as temporary:
        torch.save(state, temporary)
