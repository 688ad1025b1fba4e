"""Registration of the pretrained feature spaces (entry point ``pretrained`` in group ``asdbench``).

Light, like asdbench-methods' plugin: the factories (:mod:`asdbench_pretrained.factories`) and the weight
fetchers import torch, the models and the download code only when called.
"""

from __future__ import annotations

from collections.abc import Callable
from os import PathLike
from pathlib import Path

from asdbench.api import Register, hookimpl
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


@hookimpl
def asdbench_register_frontends(register: Register) -> None:
    register("beats-fbank", factories.beats_fbank,
             description="Kaldi log-mel fbank (128 bins, 25/10 ms) as BEATs reads it: waveform x 2^15, povey "
                         "window, normalised by BEATs' mean 15.41663 / 2 x std 6.55582 (for the 'beats' network)")
    register("eat-fbank", factories.eat_fbank,
             description="Kaldi log-mel fbank (128 bins, 25/10 ms) as EAT reads it: clip mean removed, Hann "
                         "window, normalised by EAT's mean -4.268 / 2 x std 4.569")


@hookimpl
def asdbench_register_networks(register: Register) -> None:
    register("beats", factories.beats, fetch_weights=_fetcher("beats"),
             not_stackable="it holds a 90 M-parameter pretrained transformer (stacking would copy it per seed "
                           "every step) whose dropout draws are not made per seed under vmap",
             description="BEATs transformer (microsoft/unilm, needs BEATs_iter3.pt) on 'beats-fbank', LoRA-adapted "
                         "(rank 64 on q/v, alpha 8: ASDKit's), frozen or fully fine-tuned; any layer's output; patch "
                         "mean, attentive statistics or GenRep's mean over time per frequency patch; linear "
                         "projection (embedding_dim 0: the pooled feature itself)")
    register("eat", factories.eat, fetch_weights=_fetcher("eat"),
             not_stackable="it holds an 85 M-parameter pretrained transformer (stacking would copy it per seed "
                           "every step) whose stochastic depth draws are not made per seed under vmap",
             description="EAT transformer (cwx-worst-one/EAT, needs EAT-base_epoch10_pt.pt) on 'eat-fbank' padded "
                         "to 32-frame multiples, LoRA-adapted (rank 64 on qkv, alpha 8: ASDKit's), frozen or fully "
                         "fine-tuned; CLS token, patch mean or attentive statistics pooling, linear projection "
                         "(embedding_dim 0: the 768-d feature)")
