"""The ``eat`` network: a published EAT checkpoint, frozen, LoRA-adapted or fully fine-tuned, its CLS token (or
its patch tokens pooled) projected to the branch embedding.

Defaults follow ASDKit's EAT + LoRA system (``TakuyaFujimura/dcase-asd-toolkit`` at ed27d82:
``config/train/frontend/dis_eat.yaml``, ``asdkit/models/pretrained_models/eat/lora.py`` and ``tools.py``,
``asdkit/models/pretrained_models/wrapper.py``, ``asdkit/models/modules.py``): the ``EAT-base_epoch10_pt.pt``
checkpoint; LoRA of rank 64 on ``qkv`` through ``peft.LoraConfig(r=64, target_modules=["qkv"])``, which leaves
peft's defaults ``lora_alpha = 8`` and ``lora_dropout = 0``, and freezes every other backbone weight; the backbone
in training mode, built as ASDKit's ``construct_data2vec`` builds it (every dropout 0, stochastic depth rising
linearly to 0.1 over the blocks); ``prediction_mode = "cls"``: the CLS token is the clip's feature
(``pooling = "cls"``; ASDKit's "seq" mode averages the patch tokens: ``pooling = "mean"``), then
``projection_type = "linear"``, a linear projection to ``embed_size`` (128 by default, 256 in the published recipe:
``embedding_dim = 256``). Clips are padded to a multiple of 32 fbank frames as ASDKit pads them
(:mod:`asdbench_pretrained.eat`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from asdbench.api import AsdbenchError
from asdbench_pretrained import checkpoints
from asdbench_pretrained.adapted import AdaptedBackbone, check_input
from asdbench_pretrained.eat import EAT, EATConfig, pretraining_only
from asdbench_pretrained.pooling import AttentiveStatsPooling
from asdbench_pretrained.weights import resolve


def encoder_state(state: dict[str, Any]) -> dict[str, Any]:
    """A published state dict less the keys only pre-training used (:data:`asdbench_pretrained.eat.PRETRAINING_ONLY`,
    dropped by name; ASDKit drops the same modules after its strict load)."""
    return {key: value for key, value in state.items() if not pretraining_only(key)}


def load_eat(path: Path) -> EAT:
    """The EAT encoder of a published fairseq checkpoint (``{"cfg": ..., "model": state_dict, ...}``), loaded
    strictly."""
    state = checkpoints.read_fairseq(path, "eat")
    if not isinstance(state, dict) or "cfg" not in state or not isinstance(state.get("model"), dict):
        found = ", ".join(map(str, state)) if isinstance(state, dict) else type(state).__name__
        raise AsdbenchError(f"{path}: not an EAT checkpoint: expected a fairseq checkpoint, a dict with 'cfg' and "
                            f"'model' (as cwx-worst-one/EAT publishes them), found {found}")
    config = EATConfig.from_checkpoint(state["cfg"], path)
    with torch.device("meta"):
        model = EAT(config)
    checkpoints.load_state(model, encoder_state(state["model"]), path)
    return model


class EATNetwork(AdaptedBackbone):
    """``(B, 128, T)`` (the ``eat-fbank`` frontend) -> ``(B, embedding_dim)``.

    Options: ``weights`` (the checkpoint; default ``EAT-base_epoch10_pt.pt`` in the models folder), ``finetune``
    ("lora": adapters only; "frozen": nothing of the backbone trains, and it stays in inference mode; "full": every
    weight trains but the fixed positions), ``lora_rank``, ``lora_alpha``, ``lora_dropout``, ``lora_targets``
    (attribute names of the layers to adapt, with "lora" only), ``pooling`` ("cls": the CLS token; "mean" over the
    patch tokens; "attentive-stats": ASDKit's trainable attentive statistics pooling of the patch tokens),
    ``embedding_dim`` (a trainable linear projection; 0: none, the 768-d feature itself).
    """

    network_name = "eat"

    def __init__(self, input_shape: Sequence[int], /, *, weights: str, finetune: str, lora_rank: int,
                 lora_alpha: float, lora_dropout: float, lora_targets: Sequence[str], pooling: str,
                 embedding_dim: int) -> None:
        super().__init__()
        shape = check_input("eat", "eat-fbank", input_shape)
        if shape[1] < 1:
            raise AsdbenchError("network 'eat': clips give no fbank frame; use clips of at least 25 ms")
        path = resolve("eat", weights)
        backbone = load_eat(path)
        patches = backbone.num_tokens(shape[1]) - backbone.config.num_extra_tokens
        limit = backbone.modality_encoders["IMAGE"].fixed_positional_encoder.positions.shape[1]
        if patches > limit:
            raise AsdbenchError(f"network 'eat': clips give {shape[1]} fbank frames, {patches} patches, more than "
                                f"the {limit} positions of {path}; use shorter clips")
        self.adapt(backbone, path, finetune=finetune, lora_rank=lora_rank, lora_alpha=lora_alpha,
                   lora_dropout=lora_dropout, lora_targets=lora_targets)
        dim = self.backbone.feature_dim
        self.pooling_mode = pooling
        self.pooling = AttentiveStatsPooling(dim) if pooling == "attentive-stats" else None
        self.projection = nn.Linear(dim, embedding_dim) if embedding_dim else None
        self.embedding_dim = embedding_dim or dim

    def forward(self, fbank: torch.Tensor) -> torch.Tensor:
        tokens = self.backbone(fbank)
        extra = self.backbone.config.num_extra_tokens
        if self.pooling_mode == "cls":
            pooled = tokens[:, 0]
        elif self.pooling is not None:
            pooled = self.pooling(tokens[:, extra:])
        else:
            pooled = tokens[:, extra:].mean(dim=1)
        return self.projection(pooled) if self.projection is not None else pooled
