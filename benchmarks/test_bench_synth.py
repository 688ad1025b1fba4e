"""Speed of ``asdbench synth``: whole presets used by tests and CI, and one 10 s clip per sound family.

The demo and DCASE-sized presets take minutes; they are timed by hand (``asdbench synth`` prints its time).
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from asdbench.synth.generate import PRESETS, generate, render
from asdbench.synth.plans import plan_clips
from asdbench.synth.soundmodels import FAMILIES


def _size(root: Path) -> int:
    return sum(path.stat().st_size for path in root.rglob("*") if path.is_file())


@pytest.mark.parametrize(("preset", "rounds"), [("tiny", 5), ("ci", 2)])
def test_generate_preset(benchmark, tmp_path, preset, rounds):
    fresh = (tmp_path / f"run{i}" for i in itertools.count())

    def arguments():
        return (next(fresh), preset), {"progress": False}

    info = benchmark.pedantic(generate, setup=arguments, rounds=rounds, iterations=1)
    benchmark.extra_info.update(clips=info.clips, audio_seconds=info.clips * info.seconds,
                                bytes_on_disk=_size(tmp_path / "run0"))


@pytest.mark.parametrize("family", FAMILIES)
def test_render_a_10_second_clip(benchmark, family):
    plan = next(p for p in plan_clips(PRESETS["ci"], seed=0) if p.family == family)  # ci has every family
    audio = benchmark(render, plan, 10.0)
    assert len(audio) == 160_000
