"""asdbench's way against the reference's way, side by side on the same machine and data (the `ci` preset).

Each job runs both ways; ``make bench`` prints the ratios. asdbench: decoded audio from the cache, clips
tiled to the 4.5 s the spectrum branch needs (the ci clips last 2 s), every frontend of a batch in one pass on
the device, one model load per checkpoint for every machine. Reference: see reference_style.py (decode per
epoch with 6 workers, 18 s tiles, one scoring process per machine and checkpoint).

Part of the training ratio comes from the shorter tiles, which change what is computed; the training jobs
therefore also run asdbench with the reference's 18 s tiles, so that the ratio of the way of working alone
(same tiles, same results) is measured too.

The training step is also timed at 18 s tiles the way before issue 28 (``BEFORE``: contiguous tensors, freed memory
returned to the system), with contiguous tensors and freed memory kept (``CONTIGUOUS``, the CPU's default) and with
channels-last tensors (``CHANNELS_LAST``), and its FLOPs are counted (``torch.utils.flop_counter``), so that the
summary gives each way's speed-up over the way before and the step's GFLOP/s at 18 s against 4.5 s tiles.
"""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing
import time

import numpy as np
import pandas as pd
import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from asdbench.contract.registry import get_registry
from asdbench.data.audio import AudioCache
from asdbench.data.clips import ClipSource
from asdbench.data.labels import build_labels
from asdbench.data.manifest import build_manifest
from asdbench.runtime.devices import default_device
from asdbench.runtime.heap import freed_memory_kept
from asdbench.scoring.ensemble import ensemble_scores
from asdbench.spec.validate import validate_spec
from asdbench.store.stages import unit_clips
from asdbench.training.checkpoints import checkpoint_path
from asdbench.training.embed import embed_checkpoint
from asdbench.training.loop import TrainingPlan, autocast, place, train
from asdbench.training.prefetch import PREFETCH_BATCHES
from asdbench.training.system import build_system

from measure import BEFORE, CHANNELS_LAST, CONTIGUOUS, INTERLEAVED_STEPS, SAME_TILES, measure
from reference_style import REFERENCE_SAMPLES, decoding_loader, score_like_the_reference

OURS_SAMPLES = int(4.5 * 16_000)
NO_PREFETCH = "asdbench, no prefetch"
BATCH = 64
SAMPLES = {"asdbench": OURS_SAMPLES, "asdbench+compile": OURS_SAMPLES, SAME_TILES: REFERENCE_SAMPLES,
           BEFORE: REFERENCE_SAMPLES, CONTIGUOUS: REFERENCE_SAMPLES, CHANNELS_LAST: REFERENCE_SAMPLES,
           "reference": REFERENCE_SAMPLES}
MAIN_SYSTEM = {
    "frontends": [{"name": "spectrum"}, {"name": "stft", "n_fft": 256}, {"name": "stft", "n_fft": 4096}],
    "networks": ["spectrum-cnn", "spectrogram-resnet", "spectrogram-resnet"],
    "loss": "scac", "aux": "subspace", "augmentations": ["mixup"], "backend": "kmeans-target",
}


def spec_of(**train):
    return validate_spec({"dataset": {"name": "synth", "root": "unused"}, "system": MAIN_SYSTEM,
                          "train": {"epochs": 1, "checkpoints": [1], **train}}, get_registry())


@pytest.fixture(scope="module")
def dev(ci_dataset):
    """The ci preset's dev split: manifest, labels, and its clips in the cache (filled before any timing)."""
    machines = unit_clips({"dev": build_manifest(ci_dataset, 2024, "dev")}, AudioCache(), progress=False)
    train_rows = pd.concat([m.train for m in machines], ignore_index=True)
    labels = build_labels(train_rows, "attributes")
    clips = ClipSource([group for m in machines for group in m.train_clips.groups])
    return {"machines": machines, "train_rows": train_rows, "labels": labels, "clips": clips}


def plan_for(way):
    """The reference trains in fp32 with contiguous tensors; asdbench's defaults pick bf16 and channels-last on
    CUDA (the same as fp32/contiguous on the CPU)."""
    if way == "reference":
        return TrainingPlan.from_spec(spec_of(precision="fp32", memory_format="contiguous").train, 1, SAMPLES[way])
    if way in (BEFORE, CONTIGUOUS, CHANNELS_LAST):
        layout = "channels_last" if way == CHANNELS_LAST else "contiguous"
        return TrainingPlan.from_spec(spec_of(memory_format=layout).train, 1, SAMPLES[way])
    return TrainingPlan.from_spec(spec_of(compile=way == "asdbench+compile").train, 1, SAMPLES[way])


def system_for(way, num_classes):
    torch.manual_seed(0)
    return build_system(spec_of().system, get_registry(), num_classes=num_classes, num_samples=SAMPLES[way])


@pytest.mark.parametrize("way", ["asdbench", "reference"])
def test_data_loading_per_epoch(benchmark, dev, way):
    paths = list(dev["train_rows"]["path"])

    def from_cache():
        rng = np.random.default_rng(0)
        for start in range(0, len(paths), BATCH):
            dev["clips"].batch(np.arange(start, min(start + BATCH, len(paths))), OURS_SAMPLES, rng=rng)

    def decoding():
        for _ in decoding_loader(paths):
            pass

    measure(benchmark, from_cache if way == "asdbench" else decoding, clips=len(paths), work="data loading, 1 epoch",
            way=way, rounds=3, warmup_rounds=1)


@pytest.mark.parametrize("way", ["asdbench", "reference"])
def test_frontends_of_a_batch(benchmark, way):
    device = default_device()
    frontends = [f.to(device) for f in system_for(way, 10).frontends]
    waveforms = torch.randn(BATCH, SAMPLES[way], device=device)

    def all_resolutions():
        with torch.inference_mode():
            return [frontend(waveforms) for frontend in frontends]

    measure(benchmark, all_resolutions, clips=BATCH, work="frontends (3 resolutions), 1 batch", way=way, rounds=5,
            warmup_rounds=1)


@pytest.mark.parametrize("way", ["asdbench", "asdbench+compile", SAME_TILES, CONTIGUOUS, CHANNELS_LAST,
                                 "reference"])
def test_training_step(benchmark, way):
    """asdbench's ways keep freed memory for the steps' whole run, as a training does; the reference's way may
    find (unmapped) blocks that they left in this process's heap."""
    step, gflop = training_step(way)
    benchmark.extra_info["gflop_per_step"] = gflop
    with contextlib.nullcontext() if way == "reference" else freed_memory_kept(default_device()):
        measure(benchmark, step, clips=BATCH, work="training step, batch 64", way=way, rounds=3,
                warmup_rounds=2 if "compile" in way else 1)


INTERLEAVED = (BEFORE, CONTIGUOUS, CHANNELS_LAST, "asdbench")


def test_training_step_ways_interleaved(benchmark):
    """The step the way before issue 28, at 18 s tiles contiguous and channels-last, and the default at 4.5 s, one
    step of each in turn for several rounds: on a machine whose load changes (shared CI cores), ratios of the jobs
    above, timed one after the other, move with the load; these, taken round by round at the fastest, do far less.
    The way before runs in a process of its own (:class:`StepsElsewhere`), whose malloc returns freed memory to the
    system as it did; the others share this one, which keeps freed memory throughout, as a training does. Recorded
    as ``min_seconds`` per way; the summary prints the ratios."""
    before = StepsElsewhere(BEFORE)
    steps = {BEFORE: (before.step, before.gflop), **{way: training_step(way) for way in INTERLEAVED[1:]}}
    times: dict[str, list[float]] = {way: [] for way in INTERLEAVED}

    def one_round():
        for way, (step, _) in steps.items():
            started = time.perf_counter()
            seconds = step()
            times[way].append(seconds if way == BEFORE else time.perf_counter() - started)

    benchmark.extra_info["ways"] = {way: {"gflop_per_step": gflop} for way, (_, gflop) in steps.items()}
    with before, freed_memory_kept(default_device(), release=False):
        measure(benchmark, one_round, clips=BATCH * len(INTERLEAVED), work="training step, ways interleaved",
                way="asdbench", rounds=3, warmup_rounds=1)
    for way, seconds in times.items():  # the warm-up round's times are the first
        benchmark.extra_info["ways"][way]["min_seconds"] = min(seconds[1:] or seconds)  # one call: --benchmark-disable
    INTERLEAVED_STEPS.update(benchmark.extra_info["ways"])


class StepsElsewhere:
    """One way's training step in a child process that never keeps freed memory (malloc as configured), stepped on
    request: this process's heap, which keeps it, would otherwise serve the way before's blocks too. ``step()``
    returns the child's own time for one step."""

    def __init__(self, way: str) -> None:
        context = multiprocessing.get_context("spawn")  # not fork: torch's thread pools are already running here
        self._connection, child_end = context.Pipe()
        self._process = context.Process(target=_serve_steps, args=(way, torch.get_num_threads(), child_end),
                                        daemon=True)
        self._process.start()
        self.gflop = self._connection.recv()

    def step(self) -> float:
        self._connection.send("step")
        return self._connection.recv()

    def __enter__(self) -> StepsElsewhere:
        return self

    def __exit__(self, *exc) -> None:
        self._connection.send("stop")
        self._process.join()


def _serve_steps(way: str, threads: int, connection) -> None:
    torch.set_num_threads(threads)
    step, gflop = training_step(way)
    connection.send(gflop)
    while connection.recv() == "step":
        started = time.perf_counter()
        step()
        connection.send(time.perf_counter() - started)


def training_step(way):
    """One training step of batch 64 the given way (the system, batch and optimiser made once), and its GFLOP
    (forward and backward, by ``torch.utils.flop_counter``; the optimiser's few FLOPs a weight aside)."""
    device = default_device()
    plan = plan_for(way)
    system = place(system_for(way, 60), device, plan).train()
    optimiser = torch.optim.AdamW([p for p in system.parameters() if p.requires_grad], lr=1e-3)
    waveforms = torch.randn(BATCH, SAMPLES[way], device=device)
    targets = torch.nn.functional.one_hot(torch.randint(0, 60, (BATCH,)), 60).float().to(device)

    def step():
        with autocast(device, plan.precision):
            loss = system.training_loss(waveforms, targets)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()

    with FlopCounterMode(display=False) as counter:
        with autocast(device, plan.precision):
            system.training_loss(waveforms, targets).backward()
    return step, round(counter.get_total_flops() / 1e9, 3)


@pytest.mark.parametrize("way", ["asdbench", SAME_TILES, "reference"])
def test_training_epoch(benchmark, dev, tmp_path, way):
    """The headline: training clips/s over a whole epoch, data loading included."""
    device = default_device()
    labels = dev["labels"]
    fresh = (tmp_path / f"round{i}" for i in itertools.count())

    def ours():
        system = system_for(way, labels.num_classes)
        train(system, dev["clips"], labels.indices, labels.num_classes, plan_for(way), next(fresh), device=device,
              progress=False)

    def reference():
        plan = plan_for(way)
        system = place(system_for(way, labels.num_classes), device, plan).train()
        optimiser = torch.optim.AdamW([p for p in system.parameters() if p.requires_grad], lr=1e-3)
        one_hot = torch.nn.functional.one_hot(torch.as_tensor(labels.indices), labels.num_classes).float()
        dataset = list(zip(dev["train_rows"]["path"], one_hot))
        loader = decoding_loader([p for p, _ in dataset], shuffle=False)
        for start, waveforms in zip(range(0, len(dataset), BATCH), loader):
            with autocast(device, plan.precision):
                loss = system.training_loss(waveforms.to(device), one_hot[start : start + BATCH].to(device))
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()

    measure(benchmark, reference if way == "reference" else ours, clips=len(dev["train_rows"]),
            work="training, 1 epoch", way=way, rounds=1)


@pytest.mark.parametrize("way", ["asdbench", NO_PREFETCH])
def test_training_loop_prefetch(benchmark, dev, tmp_path, way):
    """Training clips/s over one epoch with batches made ahead in a background thread (asdbench.training.prefetch) and
    without: the thread's gain where assembling a batch from the cache is a large part of a step, or its cost
    where the host has few cores for torch's threads and the producer's. Same checkpoints either way."""
    device = default_device()
    labels = dev["labels"]
    fresh = (tmp_path / f"round{i}" for i in itertools.count())

    def one_epoch():
        train(system_for("asdbench", labels.num_classes), dev["clips"], labels.indices, labels.num_classes,
              plan_for("asdbench"), next(fresh), device=device, progress=False,
              prefetch=0 if way == NO_PREFETCH else PREFETCH_BATCHES)

    measure(benchmark, one_epoch, clips=len(dev["train_rows"]), work="training loop, 1 epoch, prefetch", way=way,
            rounds=2)


@pytest.mark.parametrize("way", ["asdbench", "reference"])
def test_scoring_a_run(benchmark, dev, tmp_path, way):
    """Every machine of the split, 3 checkpoints: embeddings, backend, ensemble."""
    device = default_device()
    labels = dev["labels"]
    system = system_for(way, labels.num_classes)
    checkpoints = [checkpoint_path(tmp_path, epoch) for epoch in (12, 14, 16)]
    for checkpoint in checkpoints:
        torch.save({"model": system.state_dict()}, checkpoint)
    backend = spec_of().system["backend"]
    registry = get_registry()

    def ours():
        embeddings = [embed_checkpoint(system, checkpoint, dev["machines"], num_samples=OURS_SAMPLES, device=device,
                                       precision="auto", progress=False) for checkpoint in checkpoints]
        return ensemble_scores(embeddings, dev["machines"],
                               lambda: registry.create("backends", backend["name"], clusters=backend["clusters"]))

    def reference():
        machines = {m.machine: {"train": list(m.train["path"]), "test": list(m.test["path"]),
                                "train_domains": list(m.train["domain"])} for m in dev["machines"]}
        spec = {"dataset": {"name": "synth", "root": "unused"}, "system": MAIN_SYSTEM}
        return score_like_the_reference(spec, labels.num_classes, checkpoints, machines, tmp_path / "reference")

    clips = 3 * sum(len(m.train) + len(m.test) for m in dev["machines"])
    measure(benchmark, ours if way == "asdbench" else reference, clips=clips, work="scoring a run (3 checkpoints)",
            way=way, rounds=1)
