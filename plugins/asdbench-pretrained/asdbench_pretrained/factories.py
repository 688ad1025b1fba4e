"""The factories that ``plugin.py`` registers: light functions whose signatures are the feature spaces' options.

As in asdbench-methods: ``asdbench spec`` and ``asdbench plugins`` read the options from these signatures
without building anything, so nothing here imports torch; each function imports its space when called. The
defaults are the space classes' own (a test holds them equal).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from asdbench.api import FeatureSpace, FeatureSpaceContext, Frontend, Network, OneOf, Range, Satisfies
from asdbench_pretrained.layers import EAT_LORA_TARGETS, LORA_TARGETS

BatchSize = Annotated[int, Range(ge=1)]
ClipSeconds = Annotated[float, Range(ge=0)]
"""0: whole clips."""


def panns(context: FeatureSpaceContext, /, *, weights: str = "", batch_size: BatchSize = 32, device: str = "auto",
          clip_seconds: ClipSeconds = 18.0) -> FeatureSpace:
    from asdbench_pretrained.spaces import PannsSpace

    return PannsSpace(context, weights=weights, batch_size=batch_size, device=device, clip_seconds=clip_seconds)


def openl3(context: FeatureSpaceContext, /, *, weights: str = "", batch_size: BatchSize = 32, device: str = "auto",
           clip_seconds: ClipSeconds = 18.0) -> FeatureSpace:
    from asdbench_pretrained.spaces import OpenL3Space

    return OpenL3Space(context, weights=weights, batch_size=batch_size, device=device, clip_seconds=clip_seconds)


def beats_fbank() -> Frontend:
    from asdbench_pretrained.fbank import BEATsFbank

    return BEATsFbank()


def eat_fbank() -> Frontend:
    from asdbench_pretrained.fbank import EATFbank

    return EATFbank()




def _targets_known(targets: Sequence[str]) -> bool:
    return bool(targets) and all(target in LORA_TARGETS for target in targets)


def beats(input_shape: tuple[int, ...], /, *, weights: str = "",
          finetune: Annotated[str, OneOf("lora", "frozen", "full")] = "lora",
          lora_rank: Annotated[int, Range(ge=1)] = 64, lora_alpha: Annotated[float, Range(gt=0)] = 8.0,
          lora_dropout: Annotated[float, Range(ge=0, lt=1)] = 0.0,
          lora_targets: Annotated[list[str], Satisfies(_targets_known, "a non-empty list of " + ", ".join(
              LORA_TARGETS))] = ["q_proj", "v_proj"],  # noqa: B006 - options are read from the signature
          pooling: Annotated[str, OneOf("mean", "attentive-stats", "time")] = "mean",
          embedding_dim: Annotated[int, Range(ge=0)] = 128, layer: Annotated[int, Range(ge=0)] = 0,
          release: Annotated[str, OneOf("iter3", "iter3-as2m-cpt1")] = "iter3") -> Network:
    from asdbench_pretrained.beatsnet import BEATsNetwork

    return BEATsNetwork(input_shape, weights=weights, finetune=finetune, lora_rank=lora_rank, lora_alpha=lora_alpha,
                        lora_dropout=lora_dropout, lora_targets=lora_targets, pooling=pooling,
                        embedding_dim=embedding_dim, layer=layer, release=release)




def _eat_targets_known(targets: Sequence[str]) -> bool:
    return bool(targets) and all(target in EAT_LORA_TARGETS for target in targets)


def eat(input_shape: tuple[int, ...], /, *, weights: str = "",
        finetune: Annotated[str, OneOf("lora", "frozen", "full")] = "lora",
        lora_rank: Annotated[int, Range(ge=1)] = 64, lora_alpha: Annotated[float, Range(gt=0)] = 8.0,
        lora_dropout: Annotated[float, Range(ge=0, lt=1)] = 0.0,
        lora_targets: Annotated[list[str], Satisfies(_eat_targets_known, "a non-empty list of " + ", ".join(
            EAT_LORA_TARGETS))] = ["qkv"],  # noqa: B006 - options are read from the signature
        pooling: Annotated[str, OneOf("cls", "mean", "attentive-stats")] = "cls",
        embedding_dim: Annotated[int, Range(ge=0)] = 128) -> Network:
    from asdbench_pretrained.eatnet import EATNetwork

    return EATNetwork(input_shape, weights=weights, finetune=finetune, lora_rank=lora_rank, lora_alpha=lora_alpha,
                      lora_dropout=lora_dropout, lora_targets=lora_targets, pooling=pooling,
                      embedding_dim=embedding_dim)
