"""Registration of the pretrained feature spaces (entry point ``pretrained`` in group ``asdbench``).

Light, like asdbench-methods' plugin: the factories (:mod:`asdbench_pretrained.factories`) and the weight
fetchers import torch, the models and the download code only when called.
"""

from __future__ import annotations

from collections.abc import Callable
from os import PathLike
from pathlib import Path

from asdbench.hookspecs import Register, hookimpl

from asdbench_pretrained import factories


def _fetcher(name: str) -> Callable[[str | PathLike[str] | None], Path]:
    """``asdbench models fetch NAME``: download the published weights into a folder (default: the models dir)."""

    def fetch_weights(dest_dir: str | PathLike[str] | None = None) -> Path:
        from asdbench_pretrained.weights import fetch, models_dir

        return fetch(name, dest_dir or models_dir())

    return fetch_weights


@hookimpl
def asdbench_register_feature_spaces(register: Register) -> None:
    register("panns", factories.panns, fetch_weights=_fetcher("panns"),
             description="PANNs CNN14 2048-d clip embedding at 32 kHz (needs Cnn14_mAP=0.431.pth)")
    register("openl3", factories.openl3, fetch_weights=_fetcher("openl3"),
             description="OpenL3 env/mel128 512-d embedding at 48 kHz, averaged over 1 s windows "
                         "(needs torchopenl3_mel128_env_512.pth.tar)")
