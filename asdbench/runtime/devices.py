"""Where tensors go: CUDA when present, else the CPU (overridable with ``ASDBENCH_DEVICE``)."""

from __future__ import annotations

import os

import torch

from asdbench.errors import AsdbenchError, HostError

DEVICE_VARIABLE = "ASDBENCH_DEVICE"


def resolve_device(name: str = "auto") -> torch.device:
    """``"auto"``: ``$ASDBENCH_DEVICE`` if set, else CUDA when present, else the CPU; otherwise the named device,
    which must exist here. A device this machine does not have, or a variable that names no device, is a
    :class:`HostError`: the machine's, not a run's."""
    where = f"device {name!r}"
    if name == "auto":
        requested = os.environ.get(DEVICE_VARIABLE)
        if not requested:
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        name, where = requested, f"{DEVICE_VARIABLE}={requested}"
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        error = HostError if where.startswith(DEVICE_VARIABLE) else AsdbenchError
        raise error(f"{where}: not a torch device ({exc}); expected e.g. cpu, cuda or cuda:1") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise HostError(f"{where} was asked for, but CUDA is not available on this machine")
    return device


def default_device() -> torch.device:
    return resolve_device("auto")
