"""Benchmark fixtures: datasets generated once per session into a private cache."""

from __future__ import annotations

import os

import pytest

from asdbench.data.synth import generate


@pytest.fixture(scope="session", autouse=True)
def private_audio_cache(tmp_path_factory):
    os.environ["ASDBENCH_CACHE_DIR"] = str(tmp_path_factory.mktemp("audio-cache"))


@pytest.fixture(scope="session")
def ci_dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("ci") / "data"
    generate(root, "ci", seed=0, progress=False)
    return root
