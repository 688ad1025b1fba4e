"""The factories that ``plugin.py`` registers: each declares its component's options, once, in its signature.

As in asdbench-methods: ``asdbench spec`` and ``asdbench plugins`` read the options from these signatures
without building anything, so nothing here imports torch. Each factory is a stub made by ``asdbench.api.builds``,
which imports its class when called and builds it with every option; the classes take them without defaults and
check only what depends on the input shape or the weight file.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from asdbench.api import FeatureSpace, FeatureSpaceContext, Frontend, Network, OneOf, Range, Satisfies, builds
from asdbench_pretrained.layers import EAT_LORA_TARGETS, LORA_TARGETS

BatchSize = Annotated[int, Range(ge=1)]
ClipSeconds = Annotated[float, Range(ge=0)]
"""0: whole clips."""


@builds("asdbench_pretrained.spaces:PannsSpace")
def panns(context: FeatureSpaceContext, /, *, weights: str = "", batch_size: BatchSize = 32, device: str = "auto",
          clip_seconds: ClipSeconds = 18.0) -> FeatureSpace:
    """PANNs CNN14 clip embeddings.

    ``weights``: the weight file ("": the models folder's Cnn14_mAP=0.431.pth).
    ``batch_size``: clips per forward pass.
    ``device``: "auto" (CUDA when present), "cpu" or "cuda".
    ``clip_seconds``: every clip tiled or cut to this length first (0: whole clips).
    """


@builds("asdbench_pretrained.spaces:OpenL3Space")
def openl3(context: FeatureSpaceContext, /, *, weights: str = "", batch_size: BatchSize = 32, device: str = "auto",
           clip_seconds: ClipSeconds = 18.0) -> FeatureSpace:
    """OpenL3 env/mel128 embeddings averaged over 1 s windows.

    ``weights``: the weight file ("": the models folder's torchopenl3_mel128_env_512.pth.tar).
    ``batch_size``: clips per forward pass.
    ``device``: "auto" (CUDA when present), "cpu" or "cuda".
    ``clip_seconds``: every clip tiled or cut to this length first (0: whole clips).
    """


@builds("asdbench_pretrained.fbank:BEATsFbank")
def beats_fbank() -> Frontend:
    """Kaldi log-mel filter banks as BEATs reads them."""


@builds("asdbench_pretrained.fbank:EATFbank")
def eat_fbank() -> Frontend:
    """Kaldi log-mel filter banks as EAT reads them."""


def _targets_known(targets: Sequence[str]) -> bool:
    return bool(targets) and all(target in LORA_TARGETS for target in targets)


@builds("asdbench_pretrained.beatsnet:BEATsNetwork")
def beats(input_shape: tuple[int, ...], /, *, weights: str = "",
          finetune: Annotated[str, OneOf("lora", "frozen", "full")] = "lora",
          lora_rank: Annotated[int, Range(ge=1)] = 64, lora_alpha: Annotated[float, Range(gt=0)] = 8.0,
          lora_dropout: Annotated[float, Range(ge=0, lt=1)] = 0.0,
          lora_targets: Annotated[list[str], Satisfies(_targets_known, "a non-empty list of " + ", ".join(
              LORA_TARGETS))] = ["q_proj", "v_proj"],  # noqa: B006 - builds copies it for each call
          pooling: Annotated[str, OneOf("mean", "attentive-stats", "time")] = "mean",
          embedding_dim: Annotated[int, Range(ge=0)] = 128, layer: Annotated[int, Range(ge=0)] = 0,
          release: Annotated[str, OneOf("iter3", "iter3-as2m-cpt1")] = "iter3") -> Network:
    """BEATs on ``beats-fbank``: frozen, LoRA-adapted or fully fine-tuned, pooled and projected.

    ``weights``: the checkpoint file ("": the models folder's file of ``release``).
    ``finetune``: "lora" adapters, "frozen" or "full" fine-tuning of the transformer.
    ``lora_rank``: rank of each LoRA adapter.
    ``lora_alpha``: LoRA's scaling numerator (the update is scaled by alpha / rank).
    ``lora_dropout``: dropout on the LoRA adapters' input.
    ``lora_targets``: the projections that get adapters.
    ``pooling``: "mean" over patches, "attentive-stats", or "time" (GenRep's mean over time per frequency patch).
    ``embedding_dim``: size of the linear projection (0: the pooled feature itself).
    ``layer``: the transformer layer whose output is pooled (0: the last).
    ``release``: which published checkpoint: "iter3" or "iter3-as2m-cpt1" (GenRep's).
    """


def _eat_targets_known(targets: Sequence[str]) -> bool:
    return bool(targets) and all(target in EAT_LORA_TARGETS for target in targets)


@builds("asdbench_pretrained.eatnet:EATNetwork")
def eat(input_shape: tuple[int, ...], /, *, weights: str = "",
        finetune: Annotated[str, OneOf("lora", "frozen", "full")] = "lora",
        lora_rank: Annotated[int, Range(ge=1)] = 64, lora_alpha: Annotated[float, Range(gt=0)] = 8.0,
        lora_dropout: Annotated[float, Range(ge=0, lt=1)] = 0.0,
        lora_targets: Annotated[list[str], Satisfies(_eat_targets_known, "a non-empty list of " + ", ".join(
            EAT_LORA_TARGETS))] = ["qkv"],  # noqa: B006 - builds copies it for each call
        pooling: Annotated[str, OneOf("cls", "mean", "attentive-stats")] = "cls",
        embedding_dim: Annotated[int, Range(ge=0)] = 128) -> Network:
    """EAT on ``eat-fbank``: frozen, LoRA-adapted or fully fine-tuned, its CLS token or patches pooled, projected.

    ``weights``: the checkpoint file ("": the models folder's EAT-base_epoch10_pt.pt).
    ``finetune``: "lora" adapters, "frozen" or "full" fine-tuning of the transformer.
    ``lora_rank``: rank of each LoRA adapter.
    ``lora_alpha``: LoRA's scaling numerator (the update is scaled by alpha / rank).
    ``lora_dropout``: dropout on the LoRA adapters' input.
    ``lora_targets``: the projections that get adapters.
    ``pooling``: "cls" token, "mean" over patches or "attentive-stats".
    ``embedding_dim``: size of the linear projection (0: the 768-d feature itself).
    """
