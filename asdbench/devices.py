"""Where tensors go: CUDA when present, else the CPU (overridable with ``ASDBENCH_DEVICE``)."""

from __future__ import annotations

import os

import torch

from asdbench.errors import AsdbenchError


def default_device() -> torch.device:
    requested = os.environ.get("ASDBENCH_DEVICE")
    if requested:
        try:
            device = torch.device(requested)
        except RuntimeError as exc:
            raise AsdbenchError(f"ASDBENCH_DEVICE={requested!r} is not a torch device ({exc})") from None
        if device.type == "cuda" and not torch.cuda.is_available():
            raise AsdbenchError(f"ASDBENCH_DEVICE={requested!r} but CUDA is not available on this machine")
        return device
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
