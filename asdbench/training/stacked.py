"""Several seeds of one system trained in one process, their networks run as one vmapped call.

One small model leaves a GPU mostly idle; the networks of S seeds, stacked with ``torch.func`` and called
once through ``vmap``, fill it with S times the work per kernel launch. Each seed keeps its own modules,
optimiser, data order, crops and random streams, and writes the same checkpoints as a run trained alone:

- the stacked parameters are rebuilt every step with ``torch.stack`` from each seed's own parameters, so the
  gradients land in each seed's leaves and each seed's AdamW steps them as it would alone;
- BatchNorm running statistics are updated in the stacked buffers and copied back to each seed;
- every random draw of augmentations and losses is made per seed, outside ``vmap``, from that seed's own
  generator state, in the same order as in a run trained alone.

A stacked step therefore equals the step alone up to floating-point noise (a vmapped convolution is a grouped
convolution that may sum in another order; in float64 they agree to 1e-9), but training amplifies float32 noise
chaotically, so a stacked training is a run of its own (``"stacked": true`` in its training identity, see
asdbench.spec.identity.training_identity), never passed off as the training alone. Frontends are computed once for all seeds' clips in one batched
pass: the contract makes them parameter-free (asdbench.contract.protocols.Frontend, checked when they are built).
"""

from __future__ import annotations

import copy
import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, vmap
from tqdm.auto import tqdm

from asdbench.data.clips import ClipSource
from asdbench.errors import TrainingError
from asdbench.runtime.epochrecord import EpochRecorder
from asdbench.runtime.heap import freed_memory_kept
from asdbench.training.checkpoints import resume
from asdbench.training.epochloss import EpochLoss
from asdbench.training.loop import (
    EpochDone,
    EpochRunner,
    TrainingPlan,
    autocast,
    end_epoch,
    ensemble_checkpoints,
    epoch_generators,
    make_optimiser,
    one_hot_targets,
    place,
    training_bar,
    training_batches,
)
from asdbench.training.prefetch import DeviceFeed, default_prefetch, prefetched
from asdbench.training.system import System


@dataclass(frozen=True)
class StackedMember:
    """One seed's share of a stacked training: what :func:`asdbench.training.loop.train` takes for one run."""

    system: System
    clips: ClipSource
    targets: np.ndarray
    num_classes: int
    plan: TrainingPlan
    checkpoint_dir: Path
    record_dir: Path | None = None
    """Where its progress goes as it trains (asdbench.runtime.epochrecord)."""


def stacking_problem(members: Sequence[StackedMember]) -> str | None:
    """Why these runs cannot be trained stacked, or None when they can."""
    first = members[0]
    for member in members[1:]:
        if replace(member.plan, seed=first.plan.seed) != first.plan:
            return "their training plans differ in more than the seed"
        if len(member.clips) != len(first.clips):
            return "they train on different numbers of clips"
    if first.plan.compile:
        return "train.compile compiles each run's own modules; stacked runs call them through vmap"
    return None


class _RandomStreams:
    """Each member's torch generator state (CPU, and CUDA when used), swapped in around its random draws."""

    def __init__(self, device: torch.device, count: int) -> None:
        self.cuda = device.type == "cuda"
        self.states: list[tuple[torch.Tensor, torch.Tensor | None]] = [self._capture()] * count

    def _capture(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        return torch.get_rng_state(), torch.cuda.get_rng_state() if self.cuda else None

    def seed_epoch(self, index: int, seed: int, epoch: int) -> np.random.Generator:
        rng = epoch_generators(seed, epoch)
        self.states[index] = self._capture()
        return rng

    def run(self, index: int, function, *args):
        cpu, cuda = self.states[index]
        torch.set_rng_state(cpu)
        if cuda is not None:
            torch.cuda.set_rng_state(cuda)
        result = function(*args)
        self.states[index] = self._capture()
        return result


class _StackedNetwork:
    """One branch's network across members: a stateless template called with the stacked parameters."""

    def __init__(self, networks: Sequence[nn.Module]) -> None:
        self.networks = list(networks)
        self.template = copy.deepcopy(networks[0]).to("meta")
        for layer in self.template.modules():
            if isinstance(layer, nn.modules.batchnorm._BatchNorm):
                layer.forward = functools.partial(_batch_norm_on_the_cpu, type(layer).forward, layer)
        self.call = vmap(self._forward)

    def _forward(self, parameters: dict[str, torch.Tensor], buffers: dict[str, torch.Tensor],
                 features: torch.Tensor) -> torch.Tensor:
        return functional_call(self.template, (parameters, buffers), (features,))

    def __call__(self, features: torch.Tensor) -> torch.Tensor:
        """``features`` (members, batch, ...) -> embeddings (members, batch, D)."""
        parameters = _stacked(network.named_parameters() for network in self.networks)
        buffers = _stacked(network.named_buffers() for network in self.networks)
        self.template.train(self.networks[0].training)
        embeddings = self.call(parameters, buffers, features)
        with torch.no_grad():  # running statistics updated in the stacked copies go back to each member
            for index, network in enumerate(self.networks):
                for name, buffer in network.named_buffers():
                    buffer.copy_(buffers[name][index])
        return embeddings


def _batch_norm_on_the_cpu(forward: Callable, layer: nn.Module, features: torch.Tensor) -> torch.Tensor:
    """A BatchNorm layer's ``forward`` under vmap. In bf16 on the CPU it normalises float32 copies of the features
    and returns bf16: vmap's batch-norm rule calls the CPU kernel without the affine weights, and that kernel then
    refuses bf16 features with float32 running statistics (torch 2.13). It is what the kernel computes for such
    features outside vmap (float32 statistics, bf16 output: equal outputs, float noise in the running variance
    and the weights' gradients). Elsewhere, the layer's own ``forward``."""
    if features.device.type == "cpu" and features.dtype in (torch.bfloat16, torch.float16):
        return forward(layer, features.float()).to(features.dtype)
    return forward(layer, features)


def _stacked(named: Sequence) -> dict[str, torch.Tensor]:
    tables = [dict(items) for items in named]
    return {name: torch.stack([table[name] for table in tables]) for name in tables[0]}


def train_stacked(members: Sequence[StackedMember], *, device: torch.device, progress: bool = True,
                  prefetch: int | None = None, on_epoch: Sequence[EpochDone | None] = ()) -> list[list[Path]]:
    """Train every member as :func:`asdbench.training.loop.train` would train it alone; returns each one's ensemble
    checkpoints. All members must resume from the same epoch. ``prefetch``: as for :func:`asdbench.training.loop.train`;
    ``on_epoch``: each member's, as there (the wall time is the stacked epoch's, shared)."""
    prefetch = default_prefetch(device) if prefetch is None else prefetch
    problem = stacking_problem(members)
    if problem:
        raise TrainingError(f"these runs cannot be trained stacked: {problem}")
    optimisers, starts = [], []
    for member in members:
        member.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        place(member.system, device, member.plan)
        optimisers.append(make_optimiser(member.system, member.plan))
        starts.append(resume(member.system, optimisers[-1], member.checkpoint_dir, device))
    if len(set(starts)) > 1:
        raise TrainingError(f"stacked runs must resume from one epoch; their last epochs are {starts}")
    plan = members[0].plan
    frontends = members[0].system.frontends
    branches = [_StackedNetwork([m.system.networks[i] for m in members]) for i in range(len(frontends))]
    one_hot = [one_hot_targets(m.targets, m.num_classes) for m in members]
    streams = _RandomStreams(device, len(members))
    recorders = [EpochRecorder(m.record_dir, epochs=plan.epochs, steps=plan.steps_per_epoch(len(m.clips)),
                               start_epoch=starts[0]) for m in members]
    with freed_memory_kept(device), training_bar(plan, len(members[0].clips), starts[0], plan.epochs, progress,
                                                 desc=f"training {len(members)} stacked seeds") as bar:
        for epoch in range(starts[0] + 1, plan.epochs + 1):
            started = time.perf_counter()
            running = _stacked_epoch(members, optimisers, frontends, branches, one_hot, streams, epoch, device, bar,
                                     prefetch, recorders)
            for member, optimiser, loss, recorder in zip(members, optimisers, running, recorders):
                end_epoch({"epoch": epoch, "model": member.system.state_dict(),
                           "optimiser": optimiser.state_dict(), "loss": float(loss)},
                          member.plan, member.checkpoint_dir)
                recorder.epoch(epoch, float(loss))
            seconds = time.perf_counter() - started
            for callback, loss in zip(on_epoch, running):
                if callback is not None:
                    callback(epoch, float(loss), seconds)
            if progress:
                tqdm.write(f"epoch {epoch}/{plan.epochs}: losses " + " ".join(f"{value:.4f}" for value in running))
    return [ensemble_checkpoints(m.plan, m.checkpoint_dir) for m in members]


def stacked_epoch_runner(member: StackedMember, device: torch.device) -> EpochRunner:
    """An epoch of ``member`` trained the stacked way, in a stack of one: what :func:`asdbench.training.loop.replay`
    needs to re-create a stacked training's checkpoints as that training computed them."""
    branches = [_StackedNetwork([network]) for network in member.system.networks]
    one_hot = [one_hot_targets(member.targets, member.num_classes)]
    streams = _RandomStreams(device, 1)

    def run_epoch(optimiser: torch.optim.Optimizer, epoch: int, bar: tqdm) -> float:
        (loss,) = _stacked_epoch([member], [optimiser], member.system.frontends, branches, one_hot, streams, epoch,
                                 device, bar, default_prefetch(device))
        return float(loss)

    return run_epoch


def _stacked_epoch(members: Sequence[StackedMember], optimisers: list[torch.optim.Optimizer], frontends: Sequence,
                   branches: list[_StackedNetwork], one_hot: list[torch.Tensor], streams: _RandomStreams, epoch: int,
                   device: torch.device, bar: tqdm, prefetch: int,
                   recorders: Sequence[EpochRecorder] = ()) -> np.ndarray:
    """One epoch of every member, counted on ``bar`` (and each member's recorder); returns each member's mean loss."""
    plan = members[0].plan
    rngs = [streams.seed_epoch(i, m.plan.seed, epoch) for i, m in enumerate(members)]
    for member in members:
        member.system.train()
    feed = DeviceFeed(device)
    losses = EpochLoss(epoch, [member.checkpoint_dir for member in members])

    def show_losses() -> None:
        bar.set_postfix_str(f"epoch {epoch}/{plan.epochs}, losses " + " ".join(f"{v:.4f}" for v in losses.mean),
                            refresh=False)

    # each member's batches from its own generator: its batch order first, then each batch's crops, as alone
    per_member = [training_batches(member.clips, targets, plan, rng, feed)
                  for member, targets, rng in zip(members, one_hot, rngs)]
    steps_per_epoch = plan.steps_per_epoch(len(members[0].clips))
    with prefetched(zip(*per_member), prefetch) as steps:
        for step, sent in enumerate(steps, start=1):
            batch = [feed.receive(item) for item in sent]
            with autocast(device, plan.precision):
                augmented = [streams.run(i, m.system.augment, *batch[i]) for i, m in enumerate(members)]
                waveforms = torch.stack([w for w, _ in augmented])
                embeddings = [branch(frontend(waveforms.flatten(0, 1)).unflatten(0, waveforms.shape[:2]))
                              for frontend, branch in zip(frontends, branches)]
                member_losses = [streams.run(i, m.system.branch_loss, [e[i] for e in embeddings], augmented[i][1])
                                 for i, m in enumerate(members)]
            member_losses = torch.stack(member_losses)
            for optimiser in optimisers:
                optimiser.zero_grad(set_to_none=True)
            member_losses.sum().backward()
            plan.set_learning_rate(optimisers, epoch, step, steps_per_epoch)
            for optimiser in optimisers:
                optimiser.step()
            if losses.add(member_losses):
                show_losses()
            bar.update()
            for recorder in recorders:
                recorder.step(step)
    losses.read()
    show_losses()
    return losses.mean
