"""What the pretrained-transformer networks (``beats``, ``eat``) share: a published backbone frozen, LoRA-adapted or
fully fine-tuned, and run checkpoints that leave the published weights out.

Checkpoints of asdbench runs stay small: the state dict leaves out the frozen published weights (they are read
from the weight file when the network is built) and records the weight file's SHA-256 (buffer ``weights_sha256``),
which loading checks.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from asdbench.api import AsdbenchError
from asdbench_pretrained.fbank import NUM_MEL_BINS
from asdbench_pretrained.lora import add_lora
from asdbench_pretrained.weights import digest


def check_input(network: str, frontend: str, input_shape: Sequence[int]) -> tuple[int, int]:
    """What every pretrained-transformer network checks before reading its weights (its options are checked as
    its factory declares them); returns ``(128, T)``."""
    shape = tuple(input_shape)
    if len(shape) != 2 or shape[0] != NUM_MEL_BINS:
        raise AsdbenchError(f"network {network!r} reads (128, T) log-mel filter banks (the {frontend!r} frontend), "
                            f"but its frontend gives {shape}")
    return shape


class AdaptedBackbone(nn.Module):
    """Base of a network around a published ``backbone`` module: call :meth:`adapt` once it is loaded.

    "lora": adapters on the ``lora_targets`` layers train, the rest of the backbone is frozen (in training mode,
    so its dropout and stochastic depth act); "frozen": nothing of the backbone trains and it stays in inference
    mode; "full": every weight of it trains.
    """

    network_name = ""

    def adapt(self, backbone: nn.Module, weights: Path, *, finetune: str, lora_rank: int, lora_alpha: float,
              lora_dropout: float, lora_targets: Sequence[str]) -> None:
        self.weights = weights
        self.backbone = backbone
        self.finetune = finetune
        self.backbone.requires_grad_(finetune == "full")
        if finetune == "lora":
            add_lora(self.backbone, lora_targets, rank=lora_rank, alpha=lora_alpha, dropout=lora_dropout)
        self._published = {name for name, p in self.backbone.state_dict(keep_vars=True).items()
                           if not p.requires_grad}
        self.register_buffer("weights_sha256", torch.tensor(list(bytes.fromhex(digest(weights, "sha256"))),
                                                            dtype=torch.uint8))
        self.register_state_dict_post_hook(AdaptedBackbone._leave_out_published)
        self.register_load_state_dict_pre_hook(AdaptedBackbone._put_back_published)

    def train(self, mode: bool = True) -> AdaptedBackbone:
        super().train(mode)
        if self.finetune == "frozen":
            self.backbone.eval()
        return self

    @staticmethod
    def _leave_out_published(module: AdaptedBackbone, state: dict[str, Any], prefix: str, _metadata: Any) -> None:
        for name in module._published:
            state.pop(f"{prefix}backbone.{name}", None)

    @staticmethod
    def _put_back_published(module: AdaptedBackbone, state: dict[str, Any], prefix: str, *_: Any) -> None:
        saved = state.get(f"{prefix}weights_sha256")
        if saved is not None and not torch.equal(saved.cpu(), module.weights_sha256.cpu()):
            raise AsdbenchError(f"network {module.network_name!r}: this checkpoint was trained on a weight file with "
                                f"SHA-256 {bytes(saved.tolist()).hex()}, but {module.weights} has SHA-256 "
                                f"{bytes(module.weights_sha256.tolist()).hex()}; give the run the weight file it "
                                "was trained with (the `weights` option)")
        current = module.backbone.state_dict()
        for name in module._published:
            state.setdefault(f"{prefix}backbone.{name}", current[name])
