"""Dtype promotion shared by the frontends and losses."""

from __future__ import annotations

import torch


def at_least_float32(tensor: torch.Tensor) -> torch.Tensor:
    """float32 for half-precision (bf16 autocast) and float32 inputs, float64 kept as it is.

    Spectra and loss logits are computed in at least float32 whatever autocast does; float64 stays float64 so
    that a whole system can run in double precision (the golden tests compare it with the reference that way).
    """
    return tensor.to(torch.promote_types(tensor.dtype, torch.float32))
