"""A training's checkpoints: ``epoch_XXX.pt`` for each epoch kept and, while the latest epoch is not one of them,
``last.pt`` for resume (never a copy of a kept epoch: asdbench.training.loop.end_epoch), saved atomically and only with
finite weights, read without running code, and the epoch a training resumes from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from asdbench.errors import TrainingError
from asdbench.files.atomic import atomic_path
from asdbench.files.damaged import set_aside
from asdbench.training.system import System

LAST_CHECKPOINT = "last.pt"


def checkpoint_path(directory: Path, epoch: int) -> Path:
    return directory / f"epoch_{epoch:03d}.pt"


def check_finite_weights(state: dict[str, Any], checkpoint_dir: Path) -> None:
    """Raise TrainingError when a weight or buffer of ``state["model"]`` is not finite (one device sync)."""
    floats = {key: value for key, value in state["model"].items() if value.is_floating_point()}
    if bool(torch.stack([torch.isfinite(value).all() for value in floats.values()]).all()):
        return
    name = next(key for key, value in floats.items() if not bool(torch.isfinite(value).all()))
    raise TrainingError(f"weights are not finite after epoch {state['epoch']} (the first: {name}); training stopped "
                        f"before saving them. Checkpoints of finished epochs are kept in {checkpoint_dir}. Try a lower "
                        "train.lr or check the data.")


def load_checkpoint(path: Path, device: torch.device | str = "cpu") -> dict[str, Any] | None:
    """A checkpoint's state; None when it is absent or damaged (truncated, overwritten), and a damaged one is
    set aside under another name, never deleted."""
    if not path.exists():
        return None
    try:
        state = torch.load(path, map_location=device, weights_only=True)
        if not isinstance(state, dict) or not {"epoch", "model"} <= set(state):
            raise ValueError("not an asdbench checkpoint (no epoch and model)")
    except Exception as exc:  # torch raises many kinds for a damaged file: each means it cannot be used
        set_aside(path, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
        return None
    return state


def latest_state(directory: Path, device: torch.device | str = "cpu", *, before: int | None = None
                 ) -> dict[str, Any] | None:
    """The most advanced readable training state in ``directory`` (with its optimiser state): ``last.pt`` or the
    latest kept epoch, whichever is further (a process killed between saving a kept epoch and ``last.pt`` leaves
    ``last.pt`` an epoch behind); with ``before``, the latest kept epoch before that one. None: start afresh."""
    last = load_checkpoint(directory / LAST_CHECKPOINT, device) if before is None else None
    last = last if last is not None and "optimiser" in last else None
    for epoch in reversed(kept_epochs(directory)):
        if before is not None and epoch >= before:
            continue
        if last is not None and last["epoch"] >= epoch:
            return last
        state = load_checkpoint(checkpoint_path(directory, epoch), device)
        if state is not None and "optimiser" in state:
            return state
    return last


def resumable_epoch(directory: Path) -> int:
    """The last finished epoch saved in ``directory`` (0 when there is none)."""
    state = latest_state(directory)
    return int(state["epoch"]) if state else 0


def kept_epochs(directory: Path) -> list[int]:
    """The epochs whose checkpoints ``directory`` holds."""
    return sorted(int(p.stem.removeprefix("epoch_")) for p in directory.glob("epoch_*.pt"))


def resume(system: System, optimiser: torch.optim.Optimizer, directory: Path, device: torch.device) -> int:
    """Load the last finished epoch's model and optimiser state; returns that epoch (0: start afresh).

    A damaged ``last.pt`` is set aside and the training resumes from the latest kept epoch before it (exactly,
    as every epoch is seeded from (seed, epoch)). Checkpoints that the plan keeps but the interrupted training
    did not (another plan started it) are not an error: :func:`replay` re-creates them when they are needed.
    """
    state = latest_state(directory, device)
    if state is None:
        return 0
    system.load_state_dict(state["model"])
    optimiser.load_state_dict(state["optimiser"])
    return int(state["epoch"])


def save_checkpoint(state: dict[str, Any], path: Path) -> None:
    """Write atomically: a killed process leaves the previous file or the new one, never half of one. Weights
    that are not finite are never written: training reads its losses back only now and then (asdbench.training.epochloss),
    and whatever made them so stops it here at the latest."""
    check_finite_weights(state, path.parent)
    with atomic_path(path) as temporary, open(temporary, "wb") as handle:
        torch.save(state, handle)  # to a handle, a full disk is an OSError (to a name, torch's RuntimeError)
