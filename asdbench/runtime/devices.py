"""Where tensors go: CUDA when present, else the CPU (overridable with ``ASDBENCH_DEVICE``). torch is imported when a
device is resolved, so that checking the variable before any work (asdbench.store.preflight) does not load it."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from asdbench.errors import AsdbenchError, HostError

if TYPE_CHECKING:
    import torch

DEVICE_VARIABLE = "ASDBENCH_DEVICE"


def resolve_device(name: str = "auto") -> torch.device:
    """``"auto"``: ``$ASDBENCH_DEVICE`` if set, else CUDA when present, else the CPU; otherwise the named device,
    which must exist here. A device this machine does not have, or a variable that names no device, is a
    :class:`HostError`: the machine's, not a run's."""
    import torch

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


def check_device_variable() -> None:
    """``ASDBENCH_DEVICE``, if set, names a device this machine has (torch is imported only then)."""
    if os.environ.get(DEVICE_VARIABLE):
        default_device()
