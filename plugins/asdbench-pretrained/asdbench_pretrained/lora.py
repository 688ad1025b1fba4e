"""Low-rank adapters (LoRA, Hu et al. 2022) on ``nn.Linear`` layers, as ``peft``'s ``LoraConfig`` defines them.

``y = W x + b + (alpha / rank) * B(A(dropout(x)))``, ``A`` ``(rank, in)`` initialised as ``nn.Linear`` initialises
its weight (Kaiming-uniform with ``a = sqrt(5)``, as peft does), ``B`` ``(out, rank)`` zeros, so that an adapted
model starts as the pretrained one. The adapted layer keeps the wrapped layer's parameter names (``weight``,
``bias``) and adds ``lora_A`` and ``lora_B``, so the published checkpoint's keys are unchanged.

Written here rather than taken from ``peft``: peft pulls in ``transformers``, ``accelerate``, ``huggingface_hub``,
``safetensors`` and ``tokenizers`` (see this distribution's README for the measured size) for these few lines.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn


class LoRALinear(nn.Linear):
    """An ``nn.Linear`` with a trainable low-rank update; its own ``weight`` and ``bias`` are the frozen layer's."""

    def __init__(self, base: nn.Linear, rank: int, alpha: float, dropout: float) -> None:
        super().__init__(base.in_features, base.out_features, bias=base.bias is not None,
                         device=base.weight.device, dtype=base.weight.dtype)
        self.weight = base.weight
        self.bias = base.bias
        self.rank, self.scaling = rank, alpha / rank
        self.lora_A = nn.Parameter(torch.empty(rank, base.in_features, device=base.weight.device,
                                               dtype=base.weight.dtype))
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, rank, device=base.weight.device,
                                               dtype=base.weight.dtype))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
        self.lora_dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        update = nn.functional.linear(nn.functional.linear(self.lora_dropout(x), self.lora_A), self.lora_B)
        return super().forward(x) + self.scaling * update


def add_lora(model: nn.Module, targets: Sequence[str], *, rank: int, alpha: float, dropout: float = 0.0) -> int:
    """Replace every ``nn.Linear`` of ``model`` whose attribute name is in ``targets`` (``"q_proj"``, ...) by a
    :class:`LoRALinear`; returns how many were adapted. The caller freezes what should not train."""
    found = [(parent, name, child) for parent in model.modules() for name, child in parent.named_children()
             if name in targets and isinstance(child, nn.Linear) and not isinstance(child, LoRALinear)]
    for parent, name, child in found:
        setattr(parent, name, LoRALinear(child, rank, alpha, dropout))
    return len(found)


def adapter_parameters(model: nn.Module) -> list[nn.Parameter]:
    """The ``lora_A`` and ``lora_B`` of every adapted layer."""
    return [p for module in model.modules() if isinstance(module, LoRALinear) for p in (module.lora_A, module.lora_B)]
