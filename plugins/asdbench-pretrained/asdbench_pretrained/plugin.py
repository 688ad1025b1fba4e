"""Registration of the pretrained feature spaces (entry point ``pretrained`` in group ``asdbench``)."""

from __future__ import annotations

from asdbench.hookspecs import Register, hookimpl

from asdbench_pretrained.spaces import OpenL3Space, PannsSpace
from asdbench_pretrained.weights import fetch, models_dir


def _fetcher(name: str):
    """``asdbench models fetch NAME``: download the published weights into a folder (default: the models dir)."""
    return lambda dest_dir=None: fetch(name, dest_dir or models_dir())


@hookimpl
def asdbench_register_feature_spaces(register: Register) -> None:
    register("panns", PannsSpace, fetch_weights=_fetcher("panns"),
             description="PANNs CNN14 2048-d clip embedding at 32 kHz (needs Cnn14_mAP=0.431.pth)")
    register("openl3", OpenL3Space, fetch_weights=_fetcher("openl3"),
             description="OpenL3 env/mel128 512-d embedding at 48 kHz, averaged over 1 s windows "
                         "(needs torchopenl3_mel128_env_512.pth.tar)")
