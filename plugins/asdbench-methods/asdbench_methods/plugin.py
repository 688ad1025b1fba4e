"""Registration of the built-in methods (entry point ``methods`` in group ``asdbench``)."""

from __future__ import annotations

from asdbench.hookspecs import Register, hookimpl

from asdbench_methods.backends import KNNBackend
from asdbench_methods.frontends import Spectrum


@hookimpl
def asdbench_register_frontends(register: Register) -> None:
    register("spectrum", Spectrum, description="|DFT| of the whole clip (the paper's spectrum branch input)")


@hookimpl
def asdbench_register_backends(register: Register) -> None:
    register("knn", KNNBackend, description="mean cosine distance to the k nearest training embeddings")
