"""The factories that ``plugin.py`` registers: light functions whose signatures are the feature spaces' options.

As in asdbench-methods: ``asdbench spec`` and ``asdbench plugins`` read the options from these signatures
without building anything, so nothing here imports torch; each function imports its space when called. The
defaults are the space classes' own (a test holds them equal).
"""

from __future__ import annotations

from typing import Annotated

from asdbench.hookspecs import FeatureSpace, FeatureSpaceContext, Range

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
