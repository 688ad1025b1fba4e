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

from asdbench.errors import AsdbenchError
from asdbench_pretrained import checkpoints
from asdbench_pretrained.beats import BEATs, BEATsConfig
from asdbench_pretrained.factories import LORA_TARGETS
from asdbench_pretrained.fbank import NUM_MEL_BINS
from asdbench_pretrained.lora import add_lora
from asdbench_pretrained.pooling import AttentiveStatsPooling
from asdbench_pretrained.weights import digest, resolve

FINETUNE = ("lora", "frozen", "full")
POOLING = ("mean", "attentive-stats")


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


class BEATsNetwork(nn.Module):
    """``(B, 128, T)`` (the ``beats-fbank`` frontend) -> ``(B, embedding_dim)``.

    Options: ``weights`` (the checkpoint; default ``BEATs_iter3.pt`` in the models folder), ``finetune``
    ("lora": adapters only; "frozen": nothing of the backbone trains, and it stays in inference mode, no dropout;
    "full": every weight trains), ``lora_rank``, ``lora_alpha``, ``lora_dropout``, ``lora_targets`` (attribute names
    of the layers to adapt, used with "lora" only), ``pooling`` ("mean" over the patches, or "attentive-stats":
    ASDKit's trainable attentive statistics pooling), ``embedding_dim`` (a trainable linear projection of the
    pooled feature; 0: none, the pooled 768-d feature itself).
    """

    def __init__(self, input_shape: Sequence[int], /, *, weights: str = "", finetune: str = "lora",
                 lora_rank: int = 64, lora_alpha: float = 8.0, lora_dropout: float = 0.0,
                 lora_targets: Sequence[str] = ["q_proj", "v_proj"],  # noqa: B006 - the factory's default, not mutated
                 pooling: str = "mean", embedding_dim: int = 128) -> None:
        super().__init__()
        shape = tuple(input_shape)
        if len(shape) != 2 or shape[0] != NUM_MEL_BINS:
            raise AsdbenchError(f"network 'beats' reads (128, T) log-mel filter banks (the 'beats-fbank' frontend), "
                                f"but its frontend gives {shape}")
        if pooling not in POOLING:
            raise AsdbenchError(f"network 'beats': pooling must be one of {', '.join(POOLING)}, got {pooling!r}")
        if finetune not in FINETUNE:
            raise AsdbenchError(f"network 'beats': finetune must be one of {', '.join(FINETUNE)}, got {finetune!r}")
        unknown = sorted(set(lora_targets) - set(LORA_TARGETS))
        if unknown or not lora_targets:
            raise AsdbenchError(f"network 'beats': lora_targets must name some of {', '.join(LORA_TARGETS)}, "
                                f"got {list(lora_targets)!r}")
        self.weights = resolve("beats", weights)
        self.backbone = load_beats(self.weights)
        if shape[1] < self.backbone.config.input_patch_size:
            raise AsdbenchError(f"network 'beats': clips give {shape[1]} fbank frames, fewer than one "
                                f"{self.backbone.config.input_patch_size}-frame patch; use longer clips")
        self.finetune = finetune
        self.backbone.requires_grad_(finetune == "full")
        if finetune == "lora":
            add_lora(self.backbone, lora_targets, rank=lora_rank, alpha=lora_alpha, dropout=lora_dropout)
        self._published = {name for name, p in self.backbone.state_dict(keep_vars=True).items()
                           if not p.requires_grad}
        dim = self.backbone.feature_dim
        self.pooling = AttentiveStatsPooling(dim) if pooling == "attentive-stats" else None
        self.projection = nn.Linear(dim, embedding_dim) if embedding_dim else None
        self.embedding_dim = embedding_dim or dim
        self.register_buffer("weights_sha256", torch.tensor(list(bytes.fromhex(digest(self.weights, "sha256"))),
                                                            dtype=torch.uint8))
        self.register_state_dict_post_hook(BEATsNetwork._leave_out_published)
        self.register_load_state_dict_pre_hook(BEATsNetwork._put_back_published)

    def train(self, mode: bool = True) -> BEATsNetwork:
        super().train(mode)
        if self.finetune == "frozen":
            self.backbone.eval()
        return self

    def forward(self, fbank: torch.Tensor) -> torch.Tensor:
        features = self.backbone(fbank)
        pooled = self.pooling(features) if self.pooling is not None else features.mean(dim=1)
        return self.projection(pooled) if self.projection is not None else pooled

    # --- checkpoints without the published weights ------------------------------------------------------------

    @staticmethod
    def _leave_out_published(module: BEATsNetwork, state: dict[str, Any], prefix: str, _metadata: Any) -> None:
        for name in module._published:
            state.pop(f"{prefix}backbone.{name}", None)

    @staticmethod
    def _put_back_published(module: BEATsNetwork, state: dict[str, Any], prefix: str, *_: Any) -> None:
        saved = state.get(f"{prefix}weights_sha256")
        if saved is not None and not torch.equal(saved.cpu(), module.weights_sha256.cpu()):
            raise AsdbenchError(f"network 'beats': this checkpoint was trained on a weight file with SHA-256 "
                                f"{bytes(saved.tolist()).hex()}, but {module.weights} has SHA-256 "
                                f"{bytes(module.weights_sha256.tolist()).hex()}; give the run the weight file it "
                                "was trained with (the `weights` option)")
        current = module.backbone.state_dict()
        for name in module._published:
            state.setdefault(f"{prefix}backbone.{name}", current[name])
