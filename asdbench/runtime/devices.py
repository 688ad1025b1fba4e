"""Where tensors go: CUDA when present, else the CPU (overridable with ``ASDBENCH_DEVICE``)."""

from __future__ import annotations

import os

import torch

from asdbench.errors import AsdbenchError


def resolve_device(name: str = "auto") -> torch.device:
    """``"auto"``: ``$ASDBENCH_DEVICE`` if set, else CUDA when present, else the CPU; otherwise the named device,
    which must exist here."""
    if name == "auto":
        requested = os.environ.get("ASDBENCH_DEVICE")
        if not requested:
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        name = requested
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise AsdbenchError(f"device {name!r} is not a torch device ({exc})") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise AsdbenchError(f"device {name!r} was asked for, but CUDA is not available on this machine")
    return device


def default_device() -> torch.device:
    return resolve_device("auto")
