"""The ``beats`` network: a published BEATs checkpoint, frozen, LoRA-adapted or fully fine-tuned, pooled over its
patches (mean, or attentive statistics) and projected to the branch embedding.

Defaults follow ASDKit's BEATs + LoRA system (``TakuyaFujimura/dcase-asd-toolkit``: ``config/train/frontend/
dis_beats.yaml`` and ``asdit/models/pretrained_models/beats/lora.py``): the ``BEATs_iter3.pt`` checkpoint; LoRA of
rank 64 on ``q_proj`` and ``v_proj`` through ``peft.LoraConfig(r=64, target_modules=[...])``, which leaves peft's
defaults ``lora_alpha = 8`` and ``lora_dropout = 0``, and freezes every other backbone weight; the backbone in
training mode with its checkpoint's dropout rates. ASDKit's ``projection_type = "linear"`` projects every patch
feature and averages over patches, which equals averaging then projecting (what is done here); its published
recipe uses ``embed_size = 256`` with an attentive statistics pooling instead (``pooling = "attentive-stats"``,
``embedding_dim = 256``).

Frozen, LoRA or full fine-tuning and run checkpoints without the published weights: :mod:`asdbench_pretrained.adapted`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from asdbench.api import AsdbenchError
from asdbench_pretrained import checkpoints
from asdbench_pretrained.adapted import AdaptedBackbone, check_input
from asdbench_pretrained.beats import PATCH_FREQUENCY_BINS, BEATs, BEATsConfig
from asdbench_pretrained.pooling import AttentiveStatsPooling
from asdbench_pretrained.weights import resolve

RELEASES = {"iter3": "beats", "iter3-as2m-cpt1": "beats-as2m-cpt1"}
"""``release`` option -> the published weight file (asdbench_pretrained.weights) read when ``weights`` is empty."""


def load_beats(path: Path) -> BEATs:
    """The BEATs model of a published checkpoint (``{"cfg": ..., "model": state_dict}``), loaded strictly."""
    state = checkpoints.read(path, "beats")
    if not isinstance(state, dict) or "cfg" not in state or "model" not in state:
        found = ", ".join(map(str, state)) if isinstance(state, dict) else type(state).__name__
        raise AsdbenchError(f"{path}: not a BEATs checkpoint: expected a dict with 'cfg' and 'model' (as "
                            f"microsoft/unilm publishes them), found {found}")
    config = BEATsConfig.from_checkpoint(state["cfg"], path)
    with torch.device("meta"):
        model = BEATs(config)
    checkpoints.load_state(model, state["model"], path)
    return model


class BEATsNetwork(AdaptedBackbone):
    """``(B, 128, T)`` (the ``beats-fbank`` frontend) -> ``(B, embedding_dim)``.

    Options: ``weights`` (the checkpoint; default ``BEATs_iter3.pt`` in the models folder), ``finetune``
    ("lora": adapters only; "frozen": nothing of the backbone trains, and it stays in inference mode, no dropout;
    "full": every weight trains), ``lora_rank``, ``lora_alpha``, ``lora_dropout``, ``lora_targets`` (attribute names
    of the layers to adapt, used with "lora" only), ``pooling`` ("mean" over the patches, or "attentive-stats":
    ASDKit's trainable attentive statistics pooling, or "time": the mean over time of each of the 8 frequency
    patches, concatenated (8 x 768; GenRep's ``--temporal_pooling``), ``embedding_dim`` (a trainable linear
    projection of the pooled feature; 0: none, the pooled feature itself), ``layer`` (0: the last layer's output;
    k: the k-th layer's, as GenRep reads the 4th; the layers after it are not run), ``release`` (the published
    checkpoint read when ``weights`` is empty: "iter3", ASDKit's, or "iter3-as2m-cpt1", GenRep's
    ``BEATs_iter3_plus_AS2M_finetuned_on_AS2M_cpt1.pt``).
    """

    network_name = "beats"

    def __init__(self, input_shape: Sequence[int], /, *, weights: str, finetune: str, lora_rank: int,
                 lora_alpha: float, lora_dropout: float, lora_targets: Sequence[str], pooling: str,
                 embedding_dim: int, layer: int, release: str) -> None:
        super().__init__()
        shape = check_input("beats", "beats-fbank", input_shape)
        path = resolve(RELEASES[release], weights, component=f"network 'beats' (release {release!r})"
                       if release != "iter3" else "")
        backbone = load_beats(path)
        if not 0 <= layer <= backbone.config.encoder_layers:
            raise AsdbenchError(f"network 'beats': layer = {layer}, but {path} has {backbone.config.encoder_layers} "
                                "layers (0: the last)")
        self.layer = layer
        if shape[1] < backbone.config.input_patch_size:
            raise AsdbenchError(f"network 'beats': clips give {shape[1]} fbank frames, fewer than one "
                                f"{backbone.config.input_patch_size}-frame patch; use longer clips")
        self.adapt(backbone, path, finetune=finetune, lora_rank=lora_rank, lora_alpha=lora_alpha,
                   lora_dropout=lora_dropout, lora_targets=lora_targets)
        dim = self.backbone.feature_dim
        self.time_pooling = pooling == "time"
        self.frequency_patches = PATCH_FREQUENCY_BINS // backbone.config.input_patch_size
        pooled_dim = dim * self.frequency_patches if self.time_pooling else dim
        self.pooling = AttentiveStatsPooling(dim) if pooling == "attentive-stats" else None
        self.projection = nn.Linear(pooled_dim, embedding_dim) if embedding_dim else None
        self.embedding_dim = embedding_dim or pooled_dim

    def forward(self, fbank: torch.Tensor) -> torch.Tensor:
        features = self.backbone(fbank, self.layer)
        if self.time_pooling:  # patches are time-major: (B, T/16 * 8, D) -> (B, T/16, 8, D) -> mean over time
            pooled = features.unflatten(1, (-1, self.frequency_patches)).mean(dim=1).flatten(1)
        elif self.pooling is not None:
            pooled = self.pooling(features)
        else:
            pooled = features.mean(dim=1)
        return self.projection(pooled) if self.projection is not None else pooled
