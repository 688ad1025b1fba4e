"""Benchmark fixtures (datasets generated once per session into a private cache) and the ratio table."""

from __future__ import annotations

import os

import pytest
from tabulate import tabulate

from asdbench.synth.generate import generate

from measure import COMPARISONS, SAME_TILES  # benchmarks/ is on sys.path (rootdir-relative import)


@pytest.fixture(scope="session", autouse=True)
def private_audio_cache(tmp_path_factory):
    os.environ["ASDBENCH_CACHE_DIR"] = str(tmp_path_factory.mktemp("audio-cache"))


@pytest.fixture(scope="session")
def ci_dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("ci") / "data"
    generate(root, "ci", seed=0, progress=False)
    return root


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny") / "data"
    generate(root, "tiny", seed=0, progress=False)
    return root


def pytest_terminal_summary(terminalreporter):
    """Every job measured, with clips/s and peak memory, and the ratio of other ways' times to asdbench's."""
    rows = []
    for comparison in COMPARISONS.values():
        base = comparison.ways.get("asdbench", {}).get("seconds")
        for way, figures in comparison.ways.items():
            ratio = f"{figures['seconds'] / base:.2f}x" if base and way != "asdbench" else ""
            rows.append([comparison.work, way, f"{figures['seconds']:.3f}", figures["clips_per_second"],
                         figures["peak_rss_mib"], figures.get("peak_cuda_mib", ""), ratio])
    if not rows:
        return
    terminalreporter.section("asdbench vs the reference's way (ratio = that way's time / asdbench's)")
    terminalreporter.write_line(tabulate(rows, headers=["job", "way", "mean s", "clips/s", "peak RSS MiB",
                                                        "peak CUDA MiB", "ratio"], tablefmt="github"))
    for comparison in COMPARISONS.values():
        same, reference = (comparison.ways.get(way, {}).get("seconds") for way in (SAME_TILES, "reference"))
        if same and reference:
            terminalreporter.write_line(f"{comparison.work}: the reference's way / asdbench's at the same 18 s tiles "
                                        f"= {reference / same:.2f}x")
    epoch, scoring = (COMPARISONS.get(work) for work in ("training, 1 epoch", "scoring a run (3 checkpoints)"))
    if epoch and scoring and "asdbench" in epoch.ways and "asdbench" in scoring.ways:
        share = scoring.ways["asdbench"]["seconds"] / (PAPER_EPOCHS * epoch.ways["asdbench"]["seconds"])
        terminalreporter.write_line(f"scoring a run takes {100 * share:.1f}% of training it for {PAPER_EPOCHS} epochs")


PAPER_EPOCHS = 16
