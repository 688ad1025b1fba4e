"""The generic training loop: any system of registered plugins, on CUDA when present, else the CPU.

Reproducibility and resume: every source of randomness in an epoch (batch order, crops, augmentations,
FeatEx permutations) is seeded from (run seed, epoch) at the start of that epoch, and the model and optimiser
state are saved atomically after every epoch. Resuming after a kill therefore continues from the last
finished epoch exactly as the uninterrupted run would have (bit-identical on the CPU).

Speed without another result: batches are made ahead in a background thread that draws from the epoch's numpy
generator in the loop's order (asdbench.training.prefetch), and the losses are read back from the device in batches of steps
(asdbench.training.epochloss), so that the host keeps queuing work while the device runs.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from asdbench.data.clips import ClipSource
from asdbench.runtime.epochrecord import EpochRecorder
from asdbench.runtime.heap import freed_memory_kept
from asdbench.runtime.progress import progress_bar
from asdbench.spec.schema import TRAIN_OPTIONS
from asdbench.training.checkpoints import LAST_CHECKPOINT, checkpoint_path, latest_state, resume, save_checkpoint
from asdbench.training.epochloss import EpochLoss
from asdbench.training.prefetch import DeviceFeed, Sent, default_prefetch, prefetched
from asdbench.training.system import System


@dataclass(frozen=True)
class TrainingPlan:
    epochs: int
    batch_size: int
    lr: float
    weight_decay: float
    checkpoints: list[int]
    seed: int
    precision: str
    num_samples: int
    compile: bool = False
    memory_format: str = "auto"
    warmup_steps: int = 0

    @classmethod
    def from_spec(cls, train: dict[str, Any], seed: int, num_samples: int) -> TrainingPlan:
        keys = ("epochs", "batch_size", "lr", "weight_decay", "checkpoints", "precision", "compile", "memory_format")
        warmup_steps = train.get("warmup_steps", TRAIN_OPTIONS["warmup_steps"])  # left out at its default
        return cls(**{key: train[key] for key in keys}, warmup_steps=warmup_steps, seed=seed,
                   num_samples=num_samples)

    def steps_per_epoch(self, clips: int) -> int:
        return -(-clips // self.batch_size)

    def learning_rate(self, step: int) -> float:
        """The learning rate of the run's optimiser step ``step`` (1: its first): ``lr`` after a linear warm-up of
        ``warmup_steps`` steps from 0. Step k <= warmup_steps uses (k - 1) * (lr / warmup_steps), to the last bit
        what ASDKit's BEATs and EAT recipes compute (timm's CosineLRScheduler with ``warmup_lr_init = 0``,
        ``lr_min = lr``, stepped after every optimiser step, so that its first step runs at 0)."""
        if step > self.warmup_steps:
            return self.lr
        return (step - 1) * (self.lr / self.warmup_steps)

    def set_learning_rate(self, optimisers: Sequence[torch.optim.Optimizer], epoch: int, step: int,
                          steps_per_epoch: int) -> None:
        """Give ``optimisers`` the rate of step ``step`` (1-based) of ``epoch``; nothing to do without a warm-up
        (the optimiser keeps ``lr``: a training without warm-up is plain AdamW, to the bit)."""
        if self.warmup_steps:
            rate = self.learning_rate((epoch - 1) * steps_per_epoch + step)
            for optimiser in optimisers:
                for group in optimiser.param_groups:
                    group["lr"] = rate


def epoch_seed(seed: int, epoch: int) -> int:
    """A 63-bit seed for one epoch of one run, independent of every other (seed, epoch) pair."""
    digest = hashlib.sha256(f"asdbench-train/{seed}/{epoch}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """bf16 autocast on CUDA ("auto" or "bf16"), or on the CPU when asked for explicitly; else nothing."""
    if precision == "bf16" or (precision == "auto" and device.type == "cuda"):
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def place(system: System, device: torch.device, plan: TrainingPlan) -> System:
    """Move ``system`` to ``device`` in the plan's memory format, its networks compiled if the plan says so.

    Channels-last (NHWC) lets cuDNN use its fastest bf16 convolution kernels, so "auto" picks it on CUDA. On the CPU
    it makes the paper's main system's fp32 step at 18 s tiles only 1.1-1.2x as fast (docs/performance.md), and
    torch 2.13's channels-last CPU batch norm gets a large batch's statistics wrong by about 1e-4 of the features'
    scale (the contiguous kernel: 1e-7): the built-in networks' ``asdbench.api.BatchNorm2d`` keeps them accurate,
    but a plugin's ``nn.BatchNorm2d`` or a stacked (vmapped) training would not be, so "auto" keeps the CPU
    contiguous and "channels_last" is the user's choice there (the two agree to float32 rounding for the built-in
    networks, tests/test_cpu_fast_path.py). ``Module.compile`` compiles in place and keeps the state-dict keys, so
    checkpoints of compiled and plain runs are interchangeable. Shapes are static (``dynamic=False``): each
    branch always sees one input shape, but branches of one class share their ``forward`` code, and dynamo's
    automatic dynamic shapes would then recompile the second branch symbolically, which inductor cannot
    lower for these convolutions on the CPU.
    """
    channels_last = plan.memory_format == "channels_last" or (plan.memory_format == "auto" and device.type == "cuda")
    system.to(device, memory_format=torch.channels_last if channels_last else torch.contiguous_format)
    if plan.compile:
        for network in system.networks:
            network.compile(dynamic=False)
    return system


def epoch_generators(seed: int, epoch: int) -> np.random.Generator:
    """Seed torch's generators for ``epoch`` of run ``seed`` and return the epoch's numpy generator."""
    torch.manual_seed(epoch_seed(seed, epoch))
    return np.random.default_rng(epoch_seed(seed, epoch))


def make_optimiser(system: System, plan: TrainingPlan) -> torch.optim.Optimizer:
    return torch.optim.AdamW([p for p in system.parameters() if p.requires_grad], lr=plan.lr,
                             weight_decay=plan.weight_decay)


def one_hot_targets(targets: np.ndarray, num_classes: int) -> torch.Tensor:
    return torch.nn.functional.one_hot(torch.as_tensor(np.array(targets, dtype=np.int64)), num_classes).float()


def end_epoch(state: dict[str, Any], plan: TrainingPlan, checkpoint_dir: Path) -> None:
    """Save the epoch's state once: as its ensemble checkpoint when the plan keeps it (then ``last.pt``, an earlier
    epoch's, goes: the kept file is the resume point), else as ``last.pt``. A kill between saving a kept epoch and
    removing ``last.pt`` leaves both, and :func:`asdbench.training.checkpoints.latest_state` resumes from the
    further one."""
    if state["epoch"] in plan.checkpoints:
        save_checkpoint(state, checkpoint_path(checkpoint_dir, state["epoch"]))
        (checkpoint_dir / LAST_CHECKPOINT).unlink(missing_ok=True)
    else:
        save_checkpoint(state, checkpoint_dir / LAST_CHECKPOINT)


@dataclass(frozen=True)
class RecordSpan:
    """Where a model's epochs lie in its training's progress record, for a training of several models one after the
    other (one per machine type): its epoch e is the record's ``offset + e`` of ``total``."""

    offset: int
    total: int


EpochDone = Callable[[int, float, float], None]
"""Called after each epoch's state is saved, with the epoch, its mean loss and its wall time in seconds (the
store records them and calls the ``asdbench_epoch_finished`` hook)."""


def ensemble_checkpoints(plan: TrainingPlan, checkpoint_dir: Path) -> list[Path]:
    return [checkpoint_path(checkpoint_dir, epoch) for epoch in plan.checkpoints]


def train(
    system: System,
    clips: ClipSource,
    targets: np.ndarray,
    num_classes: int,
    plan: TrainingPlan,
    checkpoint_dir: Path,
    *,
    device: torch.device,
    progress: bool = True,
    prefetch: int | None = None,
    on_epoch: EpochDone | None = None,
    record_dir: Path | None = None,
    record_span: RecordSpan | None = None,
) -> list[Path]:
    """Train ``system`` on ``clips`` (one class index per clip in ``targets``), keeping the checkpoints of
    ``plan.checkpoints``; returns their paths.

    Finished epochs found in ``checkpoint_dir`` are not trained again. ``prefetch`` batches are made ahead in a
    background thread (0: none; None: :func:`asdbench.training.prefetch.default_prefetch`), which changes nothing but speed.
    ``on_epoch`` hears of each epoch trained here (:data:`EpochDone`).
    Where it is goes to ``record_dir`` as it trains (:mod:`asdbench.runtime.epochrecord`), its epochs placed in the
    record by ``record_span`` (default: the record's epochs are this model's).
    """
    prefetch = default_prefetch(device) if prefetch is None else prefetch
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    place(system, device, plan)
    optimiser = make_optimiser(system, plan)
    start_epoch = resume(system, optimiser, checkpoint_dir, device)
    if progress and 0 < start_epoch < plan.epochs:
        tqdm.write(f"resuming from epoch {start_epoch} of {plan.epochs}")
    one_hot = one_hot_targets(targets, num_classes)
    span = record_span or RecordSpan(0, plan.epochs)
    recorder = EpochRecorder(record_dir, epochs=span.total, steps=plan.steps_per_epoch(len(clips)),
                             start_epoch=span.offset + start_epoch)
    with freed_memory_kept(device), training_bar(plan, len(clips), start_epoch, plan.epochs, progress) as bar:
        for epoch in range(start_epoch + 1, plan.epochs + 1):
            started = time.perf_counter()
            loss = _train_epoch(system, optimiser, clips, one_hot, plan, epoch, checkpoint_dir, device, bar,
                                prefetch, recorder)
            end_epoch({"epoch": epoch, "model": system.state_dict(), "optimiser": optimiser.state_dict(),
                       "loss": loss}, plan, checkpoint_dir)
            recorder.epoch(span.offset + epoch, loss)
            if on_epoch is not None:
                on_epoch(epoch, loss, time.perf_counter() - started)
            if progress:
                tqdm.write(f"epoch {epoch}/{plan.epochs}: loss {loss:.4f}")
    return ensemble_checkpoints(plan, checkpoint_dir)


EpochRunner = Callable[[torch.optim.Optimizer, int, tqdm], float]
"""Trains one epoch with the given optimiser, counting its batches on the bar; returns the epoch's mean loss."""


def replay(
    system: System,
    clips: ClipSource,
    targets: np.ndarray,
    num_classes: int,
    plan: TrainingPlan,
    checkpoint_dir: Path,
    epochs: list[int],
    *,
    initial_state: dict[str, torch.Tensor],
    device: torch.device,
    progress: bool = True,
    run_epoch: EpochRunner | None = None,
) -> None:
    """Re-create the checkpoints of ``epochs``, which a finished training did not keep, by training again from
    the last kept epoch before them, or from ``initial_state`` (the weights before the first epoch). Exact,
    like resuming: a kept checkpoint holds the optimiser state and every epoch's randomness is seeded from
    (seed, epoch). ``run_epoch`` trains an epoch the way the training was made (the stacked way for a
    stacked training); by default, as :func:`train` does. ``last.pt``, if any, is left as it is."""
    place(system, device, plan)
    optimiser = make_optimiser(system, plan)
    state = latest_state(checkpoint_dir, device, before=min(epochs))
    start = state["epoch"] if state else 0
    if state:
        system.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimiser"])
    else:
        system.load_state_dict(initial_state)
    if progress:
        tqdm.write(f"re-creating the checkpoints of epochs {epochs}: training epochs {start + 1}-{max(epochs)} again "
                   f"from {'epoch ' + str(start) if start else 'the start'}")
    if run_epoch is None:
        one_hot = one_hot_targets(targets, num_classes)

        def run_epoch(optimiser: torch.optim.Optimizer, epoch: int, bar: tqdm) -> float:
            return _train_epoch(system, optimiser, clips, one_hot, plan, epoch, checkpoint_dir, device, bar,
                                default_prefetch(device))

    with freed_memory_kept(device), training_bar(plan, len(clips), start, max(epochs), progress) as bar:
        for epoch in range(start + 1, max(epochs) + 1):
            loss = run_epoch(optimiser, epoch, bar)
            if epoch in epochs:
                save_checkpoint({"epoch": epoch, "model": system.state_dict(), "optimiser": optimiser.state_dict(),
                       "loss": loss}, checkpoint_path(checkpoint_dir, epoch))


def training_bar(plan: TrainingPlan, clips: int, start_epoch: int, end_epoch: int, progress: bool,
                 desc: str = "training") -> tqdm:
    """One bar for the whole of a training, so that its ETA is the training's, not an epoch's: it counts the
    batches of epochs ``start_epoch + 1`` to ``end_epoch`` and starts at the batches already trained."""
    steps = math.ceil(clips / plan.batch_size)
    return progress_bar(total=end_epoch * steps, initial=start_epoch * steps, desc=desc, unit="batch",
                        disable=not progress, leave=False)


def _train_epoch(system: System, optimiser: torch.optim.Optimizer, clips: ClipSource, one_hot: torch.Tensor,
                 plan: TrainingPlan, epoch: int, checkpoint_dir: Path, device: torch.device, bar: tqdm,
                 prefetch: int, recorder: EpochRecorder | None = None) -> float:
    """One epoch of training, counted on ``bar`` (and ``recorder``); returns its mean loss."""
    rng = epoch_generators(plan.seed, epoch)
    system.train()
    feed = DeviceFeed(device)
    losses = EpochLoss(epoch, [checkpoint_dir])

    def show_loss() -> None:
        bar.set_postfix_str(f"epoch {epoch}/{plan.epochs}, loss {losses.mean[0]:.4f}", refresh=False)

    steps_per_epoch = plan.steps_per_epoch(len(clips))
    with prefetched(training_batches(clips, one_hot, plan, rng, feed), prefetch) as batches:
        for step, sent in enumerate(batches, start=1):
            waveforms, targets = feed.receive(sent)
            with autocast(device, plan.precision):
                loss = system.training_loss(waveforms, targets)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            plan.set_learning_rate([optimiser], epoch, step, steps_per_epoch)
            optimiser.step()
            if losses.add(loss):
                show_loss()
            bar.update()
            if recorder is not None:
                recorder.step(step)
    losses.read()
    show_loss()
    return float(losses.mean[0])


def training_batches(clips: ClipSource, one_hot: torch.Tensor, plan: TrainingPlan, rng: np.random.Generator,
                     feed: DeviceFeed) -> Iterator[Sent]:
    """An epoch's batches (waveforms, one-hot targets), sent to the device by ``feed``. ``rng`` draws the batch
    order first, then each batch's crop starts in turn: the order that makes an epoch reproducible, kept
    whichever thread runs this (asdbench.training.prefetch)."""
    for indices in batch_order(len(clips), plan.batch_size, rng):
        waveforms = feed.empty((len(indices), plan.num_samples))
        clips.batch(indices, plan.num_samples, rng=rng, out=waveforms.numpy())
        yield feed.send(waveforms, one_hot[indices])


def batch_order(count: int, batch_size: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    order = rng.permutation(count)
    for start in range(0, count, batch_size):
        yield order[start : start + batch_size]
