"""The factories that ``plugin.py`` registers: light functions whose signatures are the feature spaces' options.

As in asdbench-methods: ``asdbench spec`` and ``asdbench plugins`` read the options from these signatures
without building anything, so nothing here imports torch; each function imports its space when called. The
defaults are the space classes' own (a test holds them equal).
"""

from __future__ import annotations

from asdbench.hookspecs import FeatureSpace, FeatureSpaceContext


def panns(context: FeatureSpaceContext, /, *, weights: str = "", batch_size: int = 32, device: str = "auto",
          clip_seconds: float = 18.0) -> FeatureSpace:
    from asdbench_pretrained.spaces import PannsSpace

    return PannsSpace(context, weights=weights, batch_size=batch_size, device=device, clip_seconds=clip_seconds)


def openl3(context: FeatureSpaceContext, /, *, weights: str = "", batch_size: int = 32, device: str = "auto",
           clip_seconds: float = 18.0) -> FeatureSpace:
    from asdbench_pretrained.spaces import OpenL3Space

    return OpenL3Space(context, weights=weights, batch_size=batch_size, device=device, clip_seconds=clip_seconds)
